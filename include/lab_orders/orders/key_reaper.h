#pragma once

#include <chrono>
#include <memory>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/periodic_task.h"
#include "lab_orders/store/order_store.h"

namespace lab_orders::orders {

// Deletes idempotency keys older than the retention (LAB_ORDERS_IDEMPOTENCY_TTL) at start and
// then every interval, on a thread of its own. Safe on every replica at once: a delete is a
// delete.
class KeyReaper {
 public:
  KeyReaper(store::KeyMaintenance& store, const Clock& clock, std::chrono::seconds retention,
            std::chrono::seconds interval = std::chrono::minutes(10));

  // One pass; returns how many keys went. Public so tests need not wait for the thread.
  int ReapOnce();

 private:
  store::KeyMaintenance& store_;
  const Clock& clock_;
  std::chrono::seconds retention_;
  std::unique_ptr<PeriodicTask> task_;  // last: stops before the members it uses go
};

}  // namespace lab_orders::orders
