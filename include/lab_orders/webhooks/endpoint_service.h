#pragma once

// A brand's webhook endpoints (scope labs:webhooks:manage): register one (its URL checked by the
// destination policy, its secret made here and shown once), list them (never their secrets),
// delete one. Plain logic: the HTTP surface maps its JSON and AppErrors.

#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/store/store.h"
#include "lab_orders/webhooks/destination_policy.h"

namespace lab_orders::webhooks {

class EndpointService {
 public:
  EndpointService(store::Store& store, const DestinationPolicy& policy, const Clock& clock,
                  IdGenerator& ids);

  // {"url", "event_types"?} (event_types: a non-empty list of known types; absent: all of them).
  // The endpoint as Endpoint() shows it, plus "secret" ("whsec_" + 32 random bytes), this once.
  // AppError kValidationError naming the field otherwise.
  nlohmann::json Create(const std::string& brand_id, const nlohmann::json& body);
  // {"data": [endpoint, ...]}, oldest first.
  nlohmann::json List(const std::string& brand_id);
  // AppError kNotFound for another brand's or an unknown id.
  void Delete(const std::string& brand_id, const std::string& id);

  // {"id", "url", "event_types", "disabled", "created_at"}: never a secret.
  static nlohmann::json Endpoint(const store::WebhookEndpoint& endpoint);

 private:
  store::Store& store_;
  const DestinationPolicy& policy_;
  const Clock& clock_;
  IdGenerator& ids_;
};

}  // namespace lab_orders::webhooks
