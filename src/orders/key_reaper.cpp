#include "lab_orders/orders/key_reaper.h"

#include <spdlog/spdlog.h>

namespace lab_orders::orders {

KeyReaper::KeyReaper(store::KeyMaintenance& store, const Clock& clock,
                     std::chrono::seconds retention, std::chrono::seconds interval)
    : store_(store), clock_(clock), retention_(retention) {
  task_ =
      std::make_unique<PeriodicTask>("idempotency key reaper", interval, [this] { ReapOnce(); });
}

int KeyReaper::ReapOnce() {
  int reaped = store_.ReapKeys(clock_.Now() - retention_);
  if (reaped > 0) spdlog::info("reaped {} idempotency keys past their retention", reaped);
  return reaped;
}

}  // namespace lab_orders::orders
