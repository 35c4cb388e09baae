#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lab_orders {

// Runs pass at start and then every interval on a thread of its own, until destroyed. A pass
// that throws is logged and the next one runs on time.
class PeriodicTask {
 public:
  PeriodicTask(std::string name, std::chrono::milliseconds interval, std::function<void()> pass);
  ~PeriodicTask();  // stops the thread, waiting for a pass in progress

  // Runs the next pass now instead of at the end of the interval (once, however many wakes came
  // meanwhile; during a pass, right after it). Safe from any thread.
  void Wake();

  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  void Run();

  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<void()> pass_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace lab_orders
