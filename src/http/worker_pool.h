#pragma once

// The threads that run requests: a fixed number, and a bounded queue in front of them. A task
// that finds the queue full is refused at once (the caller answers 503), never queued without
// bound or dropped unanswered.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lab_orders::http {

class WorkerPool {
 public:
  WorkerPool(int threads, std::size_t queue);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when every thread is busy and the queue is full (or the pool is stopping).
  bool TrySubmit(std::function<void()> task);
  // Runs what is queued and running to the end, then joins the threads.
  void Stop();

 private:
  void Work();

  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::deque<std::function<void()>> queue_;
  int idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lab_orders::http
