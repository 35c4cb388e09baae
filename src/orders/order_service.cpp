#include "lab_orders/orders/order_service.h"

#include <spdlog/spdlog.h>

#include "lab_orders/common/encoding.h"
#include "lab_orders/common/error.h"
#include "lab_orders/junction/junction_failure.h"
#include "lab_orders/junction/order_request_for.h"
#include "lab_orders/model/order_json.h"

namespace lab_orders::orders {
namespace {

using nlohmann::json;

constexpr const char* kCreatePath = "/v1/labs/orders";

// Every 502 from order creation tells the client how to retry safely.
AppError JunctionFailure(const junction::CallError& error) {
  return junction::JunctionFailure(error, "retry with the same Idempotency-Key.");
}

model::LabOrder NewOrder(std::string id, const auth::Principal& principal,
                         const model::OrderRequest& request, const std::string& now) {
  model::LabOrder order;
  order.id = std::move(id);
  order.brand_id = principal.brand_id;
  order.user_id = principal.user_id;
  order.patient_id = request.patient_id;
  order.panel_slug = request.panel_slug;
  order.status = "received";
  order.total_cents = request.total_cents;
  order.currency = request.currency;
  order.external_order_id = request.external_order_id;
  order.metadata = request.metadata;
  order.created_at = order.updated_at = now;
  order.patient = request.patient;
  order.address = request.address;
  return order;
}

}  // namespace

metrics::CounterFamily& IdempotencyOutcomes(metrics::Registry& registry) {
  return registry.Counter(
      "lab_orders_idempotency_total",
      "Idempotency-Key outcomes other than a new request: replayed answers and conflicts.",
      {{"result", {"replayed", "conflict_in_progress", "key_reused"}}});
}

std::string RequestBodyDigest(const std::string& method, const std::string& path,
                              std::string_view body) {
  std::string message;
  message.reserve(method.size() + path.size() + body.size() + 2);
  message.append(method).append("\n").append(path).append("\n").append(body);
  return HexEncode(Sha256(message));
}

std::string RequestFingerprint(const std::string& method, const std::string& path,
                               const json& body) {
  // The digest of the canonical body: nlohmann::json keeps object keys sorted, and dump()
  // without indent writes no whitespace.
  return RequestBodyDigest(method, path, body.dump());
}

OrderService::OrderService(store::OrderStore& store, junction::JunctionClient& junction,
                           const RequestValidator& validator, PanelCatalog panels,
                           const Clock& clock, IdGenerator& ids, OrderServiceSettings settings)
    : store_(store),
      junction_(junction),
      validator_(validator),
      panels_(std::move(panels)),
      clock_(clock),
      coverage_(junction, clock, settings.coverage_ttl),
      ids_(ids),
      settings_(settings) {}

void OrderService::UseMetrics(metrics::Registry& registry) {
  idempotency_results_ = &IdempotencyOutcomes(registry);
}

StoredAnswer OrderService::CreateOrder(const auth::Principal& principal,
                                       const std::optional<std::string>& raw_key,
                                       const RequestBody& body) {
  if (!raw_key) {
    throw AppError(ErrorCode::kIdempotencyKeyMissing, "The Idempotency-Key header is required.");
  }
  std::optional<std::string> key = ParseIdempotencyKey(*raw_key);
  if (!key) {
    throw IdempotencyKeyInvalid();
  }
  auto count = [&](const char* result) {
    if (idempotency_results_) idempotency_results_->Inc({result});
  };
  store::RequestIdentity identity;
  identity.body_digest = RequestBodyDigest("POST", kCreatePath, body.bytes);
  // Parsed once, and only when the bytes alone do not settle the answer.
  std::optional<json> parsed;
  auto parse = [&]() -> const json& {
    if (!parsed) {
      parsed = body.parse();
      identity.fingerprint = RequestFingerprint("POST", kCreatePath, *parsed);
    }
    return *parsed;
  };
  auto refuse_reused_key = [&]() {
    count("key_reused");
    return IdempotencyKeyReused();
  };
  // A finished key answers from its own row before anything else is done: the same bytes as the
  // request that claimed it, or the same canonical body (the same fingerprint), is the same
  // request, which was valid the first time.
  if (std::optional<store::IdempotencyRecord> finished =
          store_.FindFinishedKey(principal.brand_id, *key)) {
    const bool same_bytes =
        !finished->body_digest.empty() && finished->body_digest == identity.body_digest;
    if (!same_bytes) {
      parse();
      if (finished->fingerprint != identity.fingerprint) throw refuse_reused_key();
    }
    count("replayed");
    return {*finished->response_status, *finished->response_body, true};
  }
  // Invalid requests are answered before the key is claimed: it stays free for a corrected one.
  auto validated = validator_.Validate(parse());
  if (auto* violations = std::get_if<std::vector<FieldViolation>>(&validated)) {
    throw AppError(ErrorCode::kValidationError, "The request body is not valid.",
                   std::to_string(violations->size()) + " violations", *violations);
  }
  const model::OrderRequest& request = std::get<model::OrderRequest>(validated);

  // The order this request would make, recorded with the key when the key is new.
  auto now = clock_.Now();
  model::LabOrder order = NewOrder(ids_.NewUuid(), principal, request, FormatRfc3339(now));
  // Drawn fasting: booked into morning slots only (the workflow, and the slots the API lists).
  order.workflow.fasting = panels_.at(request.panel_slug).fasting;
  std::optional<AppError> channel_refused;
  try {
    ChooseChannel(request, order);
  } catch (const AppError& refused) {
    // A retry of a request that recorded its order resumes that order, on the channel it was
    // given then: what the area info or the catalog say now does not undo it (and a refusal
    // saying the key is free would invite a second order under a new key).
    if (!store_.KeyUnfinished(principal.brand_id, *key)) throw;
    channel_refused = refused;
  }
  store::Claim claim =
      store_.ClaimKey(principal.brand_id, *key, identity, now, now + settings_.key_lease, order);
  switch (claim.result) {
    case store::ClaimResult::kFingerprintMismatch:
      throw refuse_reused_key();
    case store::ClaimResult::kFinished:  // finished between the two reads
      count("replayed");
      return {*claim.record.response_status, *claim.record.response_body, true};
    case store::ClaimResult::kInProgress: {
      count("conflict_in_progress");
      throw IdempotencyKeyInProgress();
    }
    case store::ClaimResult::kNew:
      if (channel_refused) {
        // The unfinished key was reaped between the two reads (it had outlived the retention):
        // the order is recorded now, and a refusal would leave it for the completer to place
        // behind the brand's back. It is placed, and the brand told so with its 201.
        spdlog::warn("order {}: recorded for a key reaped meanwhile, on a channel refused ({})",
                     order.id, channel_refused->log_detail());
      }
      return {201, DriveToFinish(claim.record, std::move(order)), false};
    case store::ClaimResult::kResumed:
      break;
  }
  // An earlier request with the key recorded its own order (or this one, for a key claimed
  // before its order was recorded with it).
  if (claim.record.order_id == order.id) {
    return {201, DriveToFinish(claim.record, std::move(order)), false};
  }
  return {201, DriveToFinish(claim.record, std::nullopt), false};
}

std::optional<StoredAnswer> OrderService::ReplayFromMemory(const auth::Principal& principal,
                                                           const std::string& raw_key,
                                                           std::string_view body) {
  std::optional<std::string> key = ParseIdempotencyKey(raw_key);
  if (!key) return std::nullopt;
  std::optional<store::IdempotencyRecord> finished =
      store_.FindFinishedKeyInMemory(principal.brand_id, *key);
  if (!finished || finished->body_digest.empty() ||
      finished->body_digest != RequestBodyDigest("POST", kCreatePath, body)) {
    return std::nullopt;
  }
  if (idempotency_results_) idempotency_results_->Inc({"replayed"});
  return StoredAnswer{*finished->response_status, *finished->response_body, true};
}

std::optional<std::string> OrderService::CompleteStaleKey(const store::IdempotencyRecord& record) {
  try {
    std::string answer = DriveToFinish(record, std::nullopt);
    spdlog::info("completer finished idempotency key of brand {} (order {})", record.brand_id,
                 record.order_id.value_or("?"));
    return answer;
  } catch (const std::exception& e) {
    const auto* app_error = dynamic_cast<const AppError*>(&e);
    spdlog::warn("completer could not finish a key of brand {} (order {}): {}", record.brand_id,
                 record.order_id.value_or("?"), app_error ? app_error->log_detail() : e.what());
    return std::nullopt;
  }
}

std::string OrderService::DriveToFinish(const store::IdempotencyRecord& record,
                                        std::optional<model::LabOrder> new_order) {
  const std::string& brand_id = record.brand_id;
  const std::string& key = record.key;
  try {
    // Read once (unless this request just recorded it), then kept in step with each commit.
    model::LabOrder order;
    if (new_order) {
      order = std::move(*new_order);
    } else {
      std::optional<model::LabOrder> stored =
          record.order_id ? store_.GetOrder(brand_id, *record.order_id) : std::nullopt;
      if (!stored) throw AppError(ErrorCode::kInternalError, "The order could not be read back.");
      order = std::move(*stored);
    }
    store::RecoveryPoint point = record.recovery_point;
    std::string answer;
    if (point <= store::RecoveryPoint::kUserEnsured) {
      // Past user_ensured the user is in the mapping (an older version also put it on the order).
      if (!order.junction_user_id) EnsureJunctionUser(key, order);
      answer = CreateJunctionOrder(key, order);
    } else {
      // Saved by an older version without its answer: only the answer is left to store.
      answer = model::OrderJson(order).dump();
      store_.FinishKey(brand_id, key, 201, answer);
    }
    if (new_order) {
      spdlog::info("order {} created for brand {}", order.id, brand_id);
    } else {
      spdlog::info("order {} created for brand {} (resumed from {})", order.id, brand_id,
                   store::RecoveryPointName(point));
    }
    return answer;
  } catch (...) {
    // Not final: the key keeps its recovery point, and the next try with it resumes there.
    try {
      store_.ReleaseKey(brand_id, key);
    } catch (const std::exception& e) {
      spdlog::error("could not release idempotency key for brand {}: {}", brand_id, e.what());
    }
    throw;
  }
}

void OrderService::EnsureJunctionUser(const std::string& key, model::LabOrder& order) {
  // Ids only: Junction's client_user_id must never carry patient data.
  std::string client_user_id = order.brand_id + ":" + order.patient_id.value_or(order.user_id);
  if (std::optional<std::string> known = store_.FindJunctionUser(client_user_id)) {
    // Known already: the last phase stores it on the order, with no commit of its own.
    order.junction_user_id = std::move(known);
    return;
  }
  std::string junction_user_id;
  auto created = junction_.CreateUser({client_user_id});
  if (created.ok()) {
    junction_user_id = created->user_id;
  } else if (created.error().outcome == junction::Outcome::kUserConflict) {
    junction_user_id = created.error().existing_user_id;
  } else {
    throw JunctionFailure(created.error());
  }
  store_.SaveJunctionUser(order.brand_id, key, order.id, client_user_id, junction_user_id,
                          clock_.Now());
  order.junction_user_id = junction_user_id;
}

std::string OrderService::CreateJunctionOrder(const std::string& key, model::LabOrder& order) {
  // Derived from our order id: a resend after a timeout is the same order at Junction.
  auto created = junction_.CreateOrder(junction::CreateOrderRequestFor(
      order, order.workflow.collection_method, panels_.at(order.panel_slug).lab_test_ids,
      "lab-orders:" + order.id));
  if (!created.ok()) throw JunctionFailure(created.error());
  auto now = clock_.Now();
  order.junction_order_id = created->order.id;
  order.status = "ordered";
  order.updated_at = FormatRfc3339(now);
  ++order.version;
  std::string answer = model::OrderJson(order).dump();
  // The appointment workflow starts in the same commit as the answer: no order is left without
  // one, and no answer stands for an order without one.
  store::NewJob first_step{ids_.NewUuid(), store::kJobAwaitRequisition, order.id, "", now};
  store_.SaveJunctionOrder(key, order, first_step, 201, answer);
  if (on_workflow_queued_) on_workflow_queued_();
  return answer;
}

void OrderService::ChooseChannel(const model::OrderRequest& request, model::LabOrder& order) {
  const Panel& panel = panels_.at(request.panel_slug);
  const std::string& asked = request.collection_method;
  // The panel's channels that keep(method) says yes to, as a list a brand reads.
  auto channels = [&](auto&& keep) {
    std::string list;
    for (const std::string& method : panel.collection_methods) {
      if (keep(method)) list += (list.empty() ? "" : ", ") + method;
    }
    return list;
  };
  auto offered = [&] { return channels([](const std::string&) { return true; }); };
  std::vector<FieldViolation> refused;
  if (!panel.Offers(asked)) {
    refused.push_back({"/collection_method", "the " + request.panel_slug + " panel is offered as " +
                                                 offered() + " only"});
  }
  if (request.fallback) {
    if (asked != model::kAtHome) {
      refused.push_back({"/fallback", "only an at_home_phlebotomy order can fall back"});
    } else if (!panel.Offers(*request.fallback)) {
      refused.push_back({"/fallback", "the " + request.panel_slug + " panel is offered as " +
                                          offered() + " only"});
    }
  }
  if (!refused.empty()) {
    throw AppError(ErrorCode::kValidationError, "The request body is not valid.",
                   std::to_string(refused.size()) + " violations", refused);
  }
  order.workflow.collection_method = asked;
  // Kept for later too: the provider's last allowed cancellation of a home visit moves the order
  // there instead of failing it (the workflow's switch_channel step).
  order.workflow.fallback = request.fallback;
  order.workflow.auto_book = request.auto_book;
  // A kit goes by mail: Junction's area info says nothing of it (docs/junction.md: Test kits).
  if (asked == model::kTestkit) return;
  // Before anything is recorded: an unserved area is answered with the key left free.
  const Coverage coverage = coverage_.For(request.address.zip);
  auto serves = [&](const std::string& method) {
    if (method == model::kTestkit) return true;
    return method == model::kAtHome ? coverage.at_home : coverage.walk_in;
  };
  if (serves(asked)) return;
  if (request.fallback && serves(*request.fallback)) {
    order.workflow.collection_method = *request.fallback;
    order.workflow.channel_changed_from = asked;
    order.workflow.channel_change_reason = "area_not_served";
    return;
  }
  const std::string serving = channels(serves);
  const bool walk_in_serves = panel.Offers(model::kWalkIn) && serves(model::kWalkIn);
  const std::string message =
      "No " + asked + " draw serves the patient's ZIP code; " +
      (serving.empty() ? "no channel the " + request.panel_slug + " panel is offered on does."
                       : "it is served by " + serving + " (send one as collection_method" +
                             (walk_in_serves ? ", or walk_in as fallback)." : ")."));
  throw AppError(ErrorCode::kCollectionMethodUnavailable, message,
                 "collection method " + asked +
                     " unavailable; serving: " + (serving.empty() ? "none" : serving),
                 {{"/collection_method", serving.empty() ? "no channel serves the patient's ZIP"
                                                         : "serving: " + serving}});
}

json OrderService::GetOrder(const auth::Principal& principal, const std::string& order_id) {
  std::optional<model::LabOrder> order = store_.GetOrder(principal.brand_id, order_id);
  if (!order) throw AppError(ErrorCode::kNotFound, "No such order.");
  return model::OrderJson(*order);
}

json OrderService::ListOrders(const auth::Principal& principal,
                              const std::optional<std::string>& status, int limit,
                              const std::optional<std::string>& cursor) {
  std::vector<model::LabOrder> page =
      store_.ListOrders(principal.brand_id, status, limit + 1, cursor);
  json data = json::array();
  for (size_t i = 0; i < page.size() && int(i) < limit; ++i)
    data.push_back(model::OrderJson(page[i]));
  json next = nullptr;
  if (int(page.size()) > limit) next = page[size_t(limit) - 1].id;
  return {{"data", data}, {"has_more", !next.is_null()}, {"next_cursor", next}};
}

}  // namespace lab_orders::orders
