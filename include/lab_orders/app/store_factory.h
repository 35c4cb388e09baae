#pragma once

#include <memory>

#include "lab_orders/app/config.h"
#include "lab_orders/store/store.h"

namespace lab_orders {

// Opens LAB_ORDERS_DATABASE (SQLite or PostgreSQL) and applies pending migrations. For the
// embedded SQLite store, which one process owns, a starting service also frees leases a killed
// predecessor left on its keys, so their retries resume at once instead of waiting out the lease.
std::unique_ptr<store::Store> OpenStore(const Config& config, bool starting_service);

}  // namespace lab_orders
