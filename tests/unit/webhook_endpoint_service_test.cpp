#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lab_orders/app/error.h"
#include "lab_orders/common/encoding.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/webhooks/endpoint_service.h"
#include "mocks/mock_host_resolver.h"
#include "support/fakes.h"

namespace lab_orders::webhooks {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::NiceMock;
using ::testing::Return;

const auto kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;

class EndpointServiceTest : public ::testing::Test {
 protected:
  EndpointServiceTest()
      : store_(":memory:", store::PhiCipher(RandomBytes(32))),
        clock_(kT0),
        policy_(DestinationMode::kProduction, resolver_),
        service_(store_, policy_, clock_, ids_) {
    store_.Migrate();
    ON_CALL(resolver_, Resolve("hooks.example.com"))
        .WillByDefault(Return(std::vector<IpAddress>{*IpAddress::Parse("93.184.216.34")}));
    ON_CALL(resolver_, Resolve("internal.example.com"))
        .WillByDefault(Return(std::vector<IpAddress>{*IpAddress::Parse("10.0.0.8")}));
  }

  std::vector<FieldViolation> Refusal(const json& body) {
    try {
      service_.Create("brand-1", body);
    } catch (const AppError& error) {
      EXPECT_EQ(error.code(), ErrorCode::kValidationError);
      return error.details();
    }
    ADD_FAILURE() << "accepted " << body;
    return {};
  }

  store::SqliteStore store_;
  testing::FakeClock clock_;
  testing::CountingIdGenerator ids_;
  NiceMock<testing::MockHostResolver> resolver_;
  DestinationPolicy policy_;
  EndpointService service_;
};

TEST_F(EndpointServiceTest, CreateShowsTheSecretOnceAndListNever) {
  json created = service_.Create(
      "brand-1", {{"url", "https://hooks.example.com/in"}, {"event_types", {"lab_order.created"}}});
  EXPECT_EQ(created["url"], "https://hooks.example.com/in");
  EXPECT_EQ(created["event_types"], json({"lab_order.created"}));
  EXPECT_EQ(created["disabled"], false);
  const std::string secret = created["secret"];
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(Base64Decode(secret.substr(6)).value_or("").size(), 32u);

  json listed = service_.List("brand-1");
  ASSERT_EQ(listed["data"].size(), 1u);
  EXPECT_EQ(listed["data"][0]["id"], created["id"]);
  EXPECT_FALSE(listed["data"][0].contains("secret"));
  EXPECT_TRUE(service_.List("brand-2")["data"].empty());

  json every = service_.Create("brand-1", {{"url", "https://hooks.example.com/all"}});
  EXPECT_EQ(every["event_types"].size(), 8u);
  EXPECT_NE(every["secret"], created["secret"]);
}

TEST_F(EndpointServiceTest, RefusesBadUrlsAndEventTypesNamingTheField) {
  for (const json& body :
       {json({{"url", "http://hooks.example.com/in"}}), json({{"url", "https://10.0.0.1/"}}),
        json({{"url", "https://internal.example.com/"}}), json({{"url", 5}}), json::object()}) {
    std::vector<FieldViolation> details = Refusal(body);
    ASSERT_EQ(details.size(), 1u) << body;
    EXPECT_EQ(details[0].path, "/url") << body;
  }
  for (const json& types : {json::array(), json({"job.created"}), json("lab_order.created")}) {
    std::vector<FieldViolation> details =
        Refusal({{"url", "https://hooks.example.com/in"}, {"event_types", types}});
    ASSERT_EQ(details.size(), 1u) << types;
    EXPECT_EQ(details[0].path, "/event_types");
  }
  EXPECT_TRUE(service_.List("brand-1")["data"].empty());
}

TEST_F(EndpointServiceTest, DeleteIsScopedToTheBrand) {
  json created = service_.Create("brand-1", {{"url", "https://hooks.example.com/in"}});
  EXPECT_THROW(service_.Delete("brand-2", created["id"]), AppError);
  service_.Delete("brand-1", created["id"]);
  EXPECT_TRUE(service_.List("brand-1")["data"].empty());
  EXPECT_THROW(service_.Delete("brand-1", created["id"]), AppError);
}

}  // namespace
}  // namespace lab_orders::webhooks
