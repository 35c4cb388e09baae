#include "lab_orders/common/periodic_task.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace lab_orders {
namespace {

using namespace std::chrono_literals;

// Counts passes and lets the test wait for the nth one (a deadline, never a sleep).
class PassCounter {
 public:
  void Pass() {
    {
      std::lock_guard lock(mutex_);
      ++passes_;
    }
    changed_.notify_all();
  }
  bool WaitFor(int passes, std::chrono::milliseconds deadline = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] { return passes_ >= passes; });
  }
  int passes() {
    std::lock_guard lock(mutex_);
    return passes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int passes_ = 0;
};

TEST(PeriodicTaskTest, AWakeRunsTheNextPassAtOnceRatherThanAtTheInterval) {
  PassCounter counter;
  PeriodicTask task("test", 1h, [&] { counter.Pass(); });
  ASSERT_TRUE(counter.WaitFor(1)) << "a pass at start";
  task.Wake();
  ASSERT_TRUE(counter.WaitFor(2)) << "woken: the next pass runs now, not in an hour";
  task.Wake();
  EXPECT_TRUE(counter.WaitFor(3));
}

TEST(PeriodicTaskTest, WithoutAWakeTheTaskWaitsForItsInterval) {
  PassCounter counter;
  {
    PeriodicTask task("test", 1h, [&] { counter.Pass(); });
    ASSERT_TRUE(counter.WaitFor(1));
    EXPECT_FALSE(counter.WaitFor(2, 200ms));
  }  // stops without waiting for the hour
  EXPECT_EQ(counter.passes(), 1);
}

}  // namespace
}  // namespace lab_orders
