#pragma once

#include <chrono>
#include <memory>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/periodic_task.h"
#include "lab_orders/orders/order_service.h"
#include "lab_orders/store/order_store.h"

namespace lab_orders::orders {

// The completer: idempotent requests left unfinished (the client gave up after a 502, or the
// process died) are pushed on by the service itself once they are `after` old, so every
// recorded order gets its Junction order and workflow without waiting for a retry. Keys are
// leased while being completed, so every replica can run one.
class KeyCompleter {
 public:
  KeyCompleter(store::KeyMaintenance& store, orders::OrderService& orders, const Clock& clock,
               std::chrono::seconds after, std::chrono::seconds interval = std::chrono::seconds(30),
               std::chrono::seconds lease = std::chrono::seconds(60));

  // One pass over up to 100 stale keys; returns how many it finished.
  int CompleteOnce();

 private:
  store::KeyMaintenance& store_;
  orders::OrderService& orders_;
  const Clock& clock_;
  std::chrono::seconds after_;
  std::chrono::seconds lease_;
  std::unique_ptr<PeriodicTask> task_;
};

}  // namespace lab_orders::orders
