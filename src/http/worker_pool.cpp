#include "http/worker_pool.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace lab_orders::http {

WorkerPool::WorkerPool(int threads, std::size_t queue) : capacity_(queue) {
  threads_.reserve(std::size_t(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    // An idle thread takes the task at once; otherwise it waits, if there is room.
    if (stopping_ || queue_.size() >= capacity_ + std::size_t(idle_)) return false;
    queue_.push_back(std::move(task));
  }
  available_.notify_one();
  return true;
}

void WorkerPool::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  available_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

void WorkerPool::Work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    available_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      task();
    } catch (const std::exception& error) {
      // A task answers its own failures; one escaping here is a bug, and must not end the thread.
      spdlog::error(R"({{"event":"http_worker_failure","error":"{}"}})", error.what());
    }
    lock.lock();
  }
}

}  // namespace lab_orders::http
