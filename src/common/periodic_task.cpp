#include "lab_orders/common/periodic_task.h"

#include <spdlog/spdlog.h>

namespace lab_orders {

PeriodicTask::PeriodicTask(std::string name, std::chrono::milliseconds interval,
                           std::function<void()> pass)
    : name_(std::move(name)), interval_(interval), pass_(std::move(pass)) {
  thread_ = std::thread([this] { Run(); });
}

PeriodicTask::~PeriodicTask() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void PeriodicTask::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void PeriodicTask::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    try {
      pass_();
    } catch (const std::exception& e) {
      spdlog::warn("{}: {}", name_, e.what());
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_ || woken_; });
  }
}

}  // namespace lab_orders
