#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/store.h"

namespace lab_orders {

// Deletes idempotency keys older than the retention (LAB_ORDERS_IDEMPOTENCY_TTL) at start and
// then every interval, on a thread of its own.
class KeyReaper {
 public:
  KeyReaper(store::Store& store, const Clock& clock, std::chrono::seconds retention,
            std::chrono::seconds interval = std::chrono::minutes(10));
  ~KeyReaper();  // stops the thread

  // One pass; returns how many keys went. Public so tests need not wait for the thread.
  int ReapOnce();

 private:
  void Run();

  store::Store& store_;
  const Clock& clock_;
  std::chrono::seconds retention_;
  std::chrono::seconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace lab_orders
