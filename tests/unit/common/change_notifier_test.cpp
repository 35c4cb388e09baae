#include "lab_orders/common/change_notifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace lab_orders {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST(ChangeNotifierTest, WaiterRechecksWhenNotifiedAndReturnsOnceDone) {
  ChangeNotifier changes;
  std::atomic<bool> written{false};
  std::atomic<int> checks{0};
  // The recheck interval is far beyond the test: only the notification can wake the waiter.
  std::thread writer([&] {
    // Wait until the waiter has looked once and found nothing, then change and notify.
    while (checks.load() == 0) std::this_thread::yield();
    written = true;
    changes.Notify();
  });
  bool done = changes.WaitUntil(
      [&] {
        ++checks;
        return written.load();
      },
      steady_clock::now() + std::chrono::minutes(1), std::chrono::minutes(1));
  writer.join();
  EXPECT_TRUE(done);
  EXPECT_GE(checks.load(), 2);
}

TEST(ChangeNotifierTest, GivesUpAtTheDeadline) {
  ChangeNotifier changes;
  auto started = steady_clock::now();
  EXPECT_FALSE(changes.WaitUntil([] { return false; }, started + milliseconds(50)));
  EXPECT_GE(steady_clock::now() - started, milliseconds(50));
}

TEST(ChangeNotifierTest, DoneAtOnceDoesNotWait) {
  ChangeNotifier changes;
  EXPECT_TRUE(changes.WaitUntil([] { return true; }, steady_clock::now()));
}

}  // namespace
}  // namespace lab_orders
