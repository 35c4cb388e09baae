#include "support/brand_receiver_test.h"

#include <nlohmann/json.hpp>

#include "lab_orders/common/encoding.h"
#include "lab_orders/common/ids.h"

namespace lab_orders::testing {

void BrandReceiverTest::StartWithBrandReceiver(const std::string& brand, const std::string& user,
                                               const std::string& scopes,
                                               std::map<std::string, std::string> environment) {
  sim_ = std::make_unique<SimProcess>();
  const std::string secret = "whsec_" + Base64Encode(RandomBytes(32));
  environment["JUNCTION_WEBHOOK_SECRET"] = secret;
  service_ = std::make_unique<ServiceProcess>(sim_->base_url(), FastWorkflow(environment));
  // Junction's webhooks go to the service, as they would in production.
  sim_->Admin(
      "POST", "/_sim/webhooks/config",
      {{"url", "http://127.0.0.1:" + std::to_string(service_->port()) + "/v1/webhooks/junction"},
       {"secret", secret}});
  token_ = service_->Token(brand, user, scopes);
  // The brand's endpoint is the receiver, which learns the secret the service made for it.
  receiver_ = std::make_unique<NodeReceiver>(std::vector<std::string>{});
  HttpReply registered = service_->Post(
      "/v1/webhooks/endpoints", nlohmann::json{{"url", receiver_->Url("/hooks")}}.dump(), Auth());
  ASSERT_EQ(registered.status, 201) << registered.body;
  receiver_->SetSecrets({registered.Json()["secret"].get<std::string>()});
}

std::map<std::string, std::string> BrandReceiverTest::Auth(const std::string& token) const {
  return {{"Authorization", "Bearer " + (token.empty() ? token_ : token)},
          {"Content-Type", "application/json"}};
}

}  // namespace lab_orders::testing
