#pragma once

// POST /v1/labs/orders and the order reads, as plain logic over interfaces (no HTTP types).
// Creating an order runs as atomic phases with recovery points kept on the idempotency key, so
// a retry or a restart resumes where the work stopped and never makes a second Junction order.

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/junction/client.h"
#include "lab_orders/orders/area_coverage.h"
#include "lab_orders/orders/idempotency_key.h"
#include "lab_orders/orders/panels.h"
#include "lab_orders/orders/request_validator.h"
#include "lab_orders/store/order_store.h"

namespace lab_orders::orders {

struct OrderServiceSettings {
  // How long one request may hold its key; longer than the Junction calls it makes.
  std::chrono::seconds key_lease{60};
  // How long Junction's word on which channels serve a ZIP is kept (0: asked for every order).
  std::chrono::seconds coverage_ttl{600};
};

// A request's body as it came: its bytes, and how they parse (throwing the AppError a malformed
// body gets: media types and JSON limits belong to the HTTP edge). The bytes alone answer a retry
// that repeats the request which finished its key; only other requests are parsed.
struct RequestBody {
  std::string_view bytes;
  std::function<nlohmann::json()> parse;
};

struct StoredAnswer {
  int status;
  std::string body;
  bool replayed;
};

class OrderService {
 public:
  OrderService(store::OrderStore& store, junction::JunctionClient& junction,
               const RequestValidator& validator, PanelCatalog panels, const Clock& clock,
               IdGenerator& ids, OrderServiceSettings settings = {});

  // raw_key is the Idempotency-Key header as sent (bare or an RFC 8941 quoted string).
  // Throws AppError for every answer that is not stored on the key.
  StoredAnswer CreateOrder(const auth::Principal& principal,
                           const std::optional<std::string>& raw_key, const RequestBody& body);

  // A retry that repeats, byte for byte, the request that finished its key, answered when the
  // key's answer is in memory: nothing is parsed, nothing waits. nullopt for every other request
  // (an unknown key, other bytes, an answer not in memory, a bad key): CreateOrder answers those.
  std::optional<StoredAnswer> ReplayFromMemory(const auth::Principal& principal,
                                               const std::string& raw_key, std::string_view body);

  // The completer: pushes a key left unfinished (and leased to the caller by
  // Store::ClaimStaleKeys) on to its answer. nullopt when it failed again (the key is released).
  std::optional<std::string> CompleteStaleKey(const store::IdempotencyRecord& record);

  // Called after a new order's workflow was queued (to wake the job runner).
  void OnWorkflowQueued(std::function<void()> callback) {
    on_workflow_queued_ = std::move(callback);
  }

  // Counts replays and key conflicts in lab_orders_idempotency_total{result} (replayed,
  // conflict_in_progress, key_reused). Call before serving.
  void UseMetrics(metrics::Registry& registry);

  nlohmann::json GetOrder(const auth::Principal& principal, const std::string& order_id);
  nlohmann::json ListOrders(const auth::Principal& principal,
                            const std::optional<std::string>& status, int limit,
                            const std::optional<std::string>& cursor);

 private:
  // Runs the phases left after the key's recovery point and stores the answer. new_order: the
  // order this request recorded with the key, when it did.
  std::string DriveToFinish(const store::IdempotencyRecord& record,
                            std::optional<model::LabOrder> new_order);
  // Each phase commits, then brings the in-memory order in step with what it committed.
  void EnsureJunctionUser(const std::string& key, model::LabOrder& order);
  // Commits the Junction order with the answer, and returns the answer.
  std::string CreateJunctionOrder(const std::string& key, model::LabOrder& order);
  // Puts the new order on its channel: the one asked for when the panel offers it and it serves
  // the patient's ZIP, the brand's fallback when only that does. Throws the 400 or 422 otherwise.
  void ChooseChannel(const model::OrderRequest& request, model::LabOrder& order);

  store::OrderStore& store_;
  junction::JunctionClient& junction_;
  const RequestValidator& validator_;
  PanelCatalog panels_;
  const Clock& clock_;
  AreaCoverage coverage_;
  IdGenerator& ids_;
  OrderServiceSettings settings_;
  std::function<void()> on_workflow_queued_;
  metrics::CounterFamily* idempotency_results_ = nullptr;
};

// lab_orders_idempotency_total{result}: replays and conflicts of every route that takes a key.
metrics::CounterFamily& IdempotencyOutcomes(metrics::Registry& registry);
// SHA-256 (hex) of method, path and the canonical body (keys sorted, no whitespace).
std::string RequestFingerprint(const std::string& method, const std::string& path,
                               const nlohmann::json& body);
// SHA-256 (hex) of method, path and the body's bytes as sent.
std::string RequestBodyDigest(const std::string& method, const std::string& path,
                              std::string_view body);

}  // namespace lab_orders::orders
