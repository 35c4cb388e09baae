#pragma once

// The Idempotency-Key of the actions (every POST but order creation), with order creation's
// guarantees: the same key and request replay the first 2xx answer (Idempotent-Replayed: true);
// another request under a used key, an order's included, is 422; a key still at work is 409. An
// error is never stored: a 4xx from an action that did nothing frees the key for a corrected
// request, and anything else leaves it to resume, with what the action recorded before a call it
// cannot repeat (store::ActionCheckpoint). Without a key an action runs as it is.

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/http/api.h"
#include "lab_orders/store/action_key_store.h"

namespace lab_orders::http {

class ActionKeys {
 public:
  ActionKeys(store::ActionKeyStore& store, const Clock& clock, std::chrono::seconds lease);

  // Counts replays and conflicts in lab_orders_idempotency_total, beside order creation's.
  void UseMetrics(metrics::Registry& registry);

  // Runs act for brand_id's request to route (its template), under the request's key when it has
  // one. body: the request's parsed JSON for a route that reads one (its canonical form is the
  // request's identity), nullopt for a route that reads none (the body is ignored). act gets the
  // key's checkpoint, or nullptr without a key. Throws AppError (400, 409, 422, or act's own).
  ApiResponse Run(const ApiRequest& request, const std::string& brand_id, std::string_view route,
                  const std::optional<nlohmann::json>& body,
                  const std::function<ApiResponse(store::ActionCheckpoint*)>& act) const;

 private:
  void Count(const char* result) const;

  store::ActionKeyStore& store_;
  const Clock& clock_;
  std::chrono::seconds lease_;
  metrics::CounterFamily* results_ = nullptr;
};

}  // namespace lab_orders::http
