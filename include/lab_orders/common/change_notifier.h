#pragma once

// Tells whoever waits in this process that stored state may have changed (a job committed, an
// order was written), so waiters re-check the store at once instead of polling on a timer.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace lab_orders {

class ChangeNotifier {
 public:
  void Notify() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    changed_.notify_all();
  }

  // Re-checks done() after every change until it holds or the deadline passes; returns its last
  // answer. recheck bounds each wait, for changes made by other processes (replicas) that this
  // notifier never hears of.
  template <typename Done>
  bool WaitUntil(Done&& done, std::chrono::steady_clock::time_point deadline,
                 std::chrono::milliseconds recheck = std::chrono::milliseconds(1000)) {
    std::unique_lock lock(mutex_);
    while (true) {
      std::uint64_t seen = generation_;
      lock.unlock();
      if (done()) return true;
      lock.lock();
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      changed_.wait_until(lock, std::min(deadline, now + recheck),
                          [&] { return generation_ != seen; });
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t generation_ = 0;
};

}  // namespace lab_orders
