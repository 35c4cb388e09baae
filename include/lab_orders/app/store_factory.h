#pragma once

#include <memory>

#include "lab_orders/app/config.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/store/store.h"

namespace lab_orders {

// Opens LAB_ORDERS_DATABASE (SQLite or PostgreSQL) and applies pending migrations. For the
// embedded SQLite store, which one process owns, a starting service also frees leases a killed
// predecessor left on its keys, so their retries resume at once instead of waiting out the lease.
// A serving process passes its clock: finished keys are then kept in memory for their replays
// (LAB_ORDERS_REPLAY_CACHE_KEYS of them).
std::unique_ptr<store::Store> OpenStore(const Config& config, bool starting_service,
                                        const Clock* serving_clock = nullptr);

}  // namespace lab_orders
