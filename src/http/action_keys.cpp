#include "http/action_keys.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "lab_orders/common/error.h"
#include "lab_orders/http/error_status.h"
#include "lab_orders/orders/idempotency_key.h"
#include "lab_orders/orders/order_service.h"

namespace lab_orders::http {
namespace {

bool Succeeded(int status) { return status >= 200 && status < 300; }

}  // namespace

ActionKeys::ActionKeys(store::ActionKeyStore& store, const Clock& clock, std::chrono::seconds lease)
    : store_(store), clock_(clock), lease_(lease) {}

void ActionKeys::UseMetrics(metrics::Registry& registry) {
  results_ = &orders::IdempotencyOutcomes(registry);  // the family order creation counts in
}

void ActionKeys::Count(const char* result) const {
  if (results_) results_->Inc({result});
}

ApiResponse ActionKeys::Run(const ApiRequest& request, const std::string& brand_id,
                            std::string_view route, const std::optional<nlohmann::json>& body,
                            const std::function<ApiResponse(store::ActionCheckpoint*)>& act) const {
  auto header = request.headers.find("idempotency-key");
  if (header == request.headers.end()) return act(nullptr);
  const std::optional<std::string> key = orders::ParseIdempotencyKey(header->second);
  if (!key) throw orders::IdempotencyKeyInvalid();

  // The route's path names what is acted on (the order, the endpoint): it is in the identity.
  store::RequestIdentity identity;
  if (body) {
    identity.fingerprint = orders::RequestFingerprint("POST", request.path, *body);
    identity.body_digest = orders::RequestBodyDigest("POST", request.path, request.body);
  } else {
    identity.fingerprint = orders::RequestBodyDigest("POST", request.path, "");
    identity.body_digest = identity.fingerprint;
  }
  const store::TimePoint now = clock_.Now();
  const store::TimePoint held_until = now + lease_;  // names this attempt's hold on the key
  store::ActionClaim claim =
      store_.ClaimActionKey(brand_id, *key, route, identity, now, held_until);
  switch (claim.result) {
    case store::ClaimResult::kFingerprintMismatch:
      Count("key_reused");
      throw orders::IdempotencyKeyReused();
    case store::ClaimResult::kFinished: {
      Count("replayed");
      ApiResponse replay;
      replay.status = *claim.record.response_status;
      replay.body = *claim.record.response_body;
      replay.headers.emplace_back("Idempotent-Replayed", "true");
      return replay;
    }
    case store::ClaimResult::kInProgress:
      Count("conflict_in_progress");
      throw orders::IdempotencyKeyInProgress();
    case store::ClaimResult::kNew:
    case store::ClaimResult::kResumed:
      break;
  }

  bool recorded = claim.checkpoint.has_value();
  store::ActionCheckpoint checkpoint{claim.checkpoint, [&](const std::string& text) {
                                       store_.CheckpointActionKey(brand_id, *key, held_until, text);
                                       recorded = true;
                                     }};
  // After a failure the key is freed (the action did nothing a later request must know of) or
  // released to resume. Never thrown from: the failure being reported matters more.
  auto settle = [&](bool refused) {
    try {
      if (refused && !recorded) {
        store_.ForgetActionKey(brand_id, *key, held_until);
      } else {
        store_.ReleaseActionKey(brand_id, *key, held_until);
      }
    } catch (const std::exception& e) {
      spdlog::warn("could not settle an idempotency key of brand {} on {}: {}", brand_id, route,
                   e.what());
    }
  };
  ApiResponse response;
  try {
    response = act(&checkpoint);
  } catch (const AppError& error) {
    const int status = HttpStatusFor(error.code());
    settle(status >= 400 && status < 500);
    throw;
  } catch (const store::LeaseLost&) {
    // This attempt outlived its lease and another has resumed the key: it stops before its
    // call, and the client's retry meets the attempt at work.
    Count("conflict_in_progress");
    throw orders::IdempotencyKeyInProgress();
  } catch (...) {
    settle(false);
    throw;
  }
  if (!Succeeded(response.status)) {
    settle(response.status >= 400 && response.status < 500);
    return response;
  }
  try {
    store_.FinishActionKey(brand_id, *key, held_until, response.status,
                           std::string(response.Body()));
  } catch (const std::exception& e) {
    // The action is done and its answer is true: it is given. A retry resumes the key, and the
    // action, told what it recorded, does not act twice.
    spdlog::warn("could not store the answer of an idempotency key of brand {} on {}: {}", brand_id,
                 route, e.what());
    settle(false);
  }
  return response;
}

}  // namespace lab_orders::http
