#include "lab_orders/orders/key_completer.h"

#include <spdlog/spdlog.h>

namespace lab_orders::orders {

KeyCompleter::KeyCompleter(store::KeyMaintenance& store, orders::OrderService& orders,
                           const Clock& clock, std::chrono::seconds after,
                           std::chrono::seconds interval, std::chrono::seconds lease)
    : store_(store), orders_(orders), clock_(clock), after_(after), lease_(lease) {
  task_ = std::make_unique<PeriodicTask>("idempotency key completer", interval,
                                         [this] { CompleteOnce(); });
}

int KeyCompleter::CompleteOnce() {
  auto now = clock_.Now();
  std::vector<store::IdempotencyRecord> stale =
      store_.ClaimStaleKeys(now - after_, now, now + lease_, 100);
  int finished = 0;
  for (const store::IdempotencyRecord& record : stale) {
    if (orders_.CompleteStaleKey(record)) ++finished;
  }
  if (!stale.empty()) {
    spdlog::info("completer: {} of {} unfinished keys finished", finished, stale.size());
  }
  return finished;
}

}  // namespace lab_orders::orders
