#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lab_orders/webhooks/destination_policy.h"
#include "mocks/mock_host_resolver.h"

namespace lab_orders::webhooks {
namespace {

using ::testing::_;
using ::testing::Return;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

class DestinationPolicyTest : public ::testing::Test {
 protected:
  void Resolves(const std::string& host, std::vector<IpAddress> addresses) {
    ON_CALL(resolver_, Resolve(host)).WillByDefault(Return(std::move(addresses)));
  }
  // The error an endpoint registration gets, or nullopt when allowed.
  std::optional<DestinationError> EndpointRefusal(const DestinationPolicy& policy,
                                                  const std::string& url) {
    DestinationCheck check = policy.CheckEndpoint(url);
    if (check.ok()) return std::nullopt;
    EXPECT_EQ(check.refusal().message.find(url), std::string::npos) << "the message quotes " << url;
    return check.refusal().error;
  }

  ::testing::NiceMock<testing::MockHostResolver> resolver_;
  DestinationPolicy production_{DestinationMode::kProduction, resolver_};
  DestinationPolicy development_{DestinationMode::kDevelopment, resolver_};
};

TEST_F(DestinationPolicyTest, ProductionAllowsHttpsToAHostWithOnlyPublicAddresses) {
  Resolves("hooks.example.com", {Ip("93.184.216.34"), Ip("2606:2800:220:1::1")});
  EXPECT_EQ(EndpointRefusal(production_, "https://hooks.example.com/in"), std::nullopt);
  EXPECT_EQ(EndpointRefusal(production_, "https://93.184.216.34:8443/in"), std::nullopt);
}

TEST_F(DestinationPolicyTest, ProductionRefusesPlainHttp) {
  Resolves("hooks.example.com", {Ip("93.184.216.34")});
  EXPECT_EQ(EndpointRefusal(production_, "http://hooks.example.com/in"),
            DestinationError::kInsecureScheme);
  EXPECT_EQ(EndpointRefusal(production_, "http://127.0.0.1:8080/"),
            DestinationError::kInsecureScheme);
  EXPECT_EQ(EndpointRefusal(production_, "http://localhost/"), DestinationError::kInsecureScheme);
}

TEST_F(DestinationPolicyTest, ProductionRefusesLiteralAddressesOutsidePublicRanges) {
  for (const char* url :
       {"https://127.0.0.1/", "https://10.1.2.3/", "https://172.16.0.1/", "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data/", "https://100.64.0.1/", "https://0.0.0.0/",
        "https://224.0.0.1/", "https://[::1]/", "https://[::]/", "https://[fe80::1]/",
        "https://[fd00::1]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:169.254.169.254]/", "https://[ff02::1]/"}) {
    EXPECT_EQ(EndpointRefusal(production_, url), DestinationError::kForbiddenAddress) << url;
  }
}

TEST_F(DestinationPolicyTest, ProductionRefusesHostsResolvingToAnyForbiddenAddress) {
  Resolves("localhost", {Ip("127.0.0.1"), Ip("::1")});
  Resolves("internal.example.com", {Ip("10.0.0.7")});
  Resolves("metadata.example.com", {Ip("169.254.169.254")});
  Resolves("mixed.example.com", {Ip("93.184.216.34"), Ip("192.168.0.10")});
  Resolves("mapped.example.com", {Ip("::ffff:127.0.0.1")});
  for (const char* url :
       {"https://localhost/", "https://internal.example.com/", "https://metadata.example.com/",
        "https://mixed.example.com/", "https://mapped.example.com/"}) {
    EXPECT_EQ(EndpointRefusal(production_, url), DestinationError::kForbiddenAddress) << url;
  }
}

TEST_F(DestinationPolicyTest, AHostThatDoesNotResolveIsRefused) {
  Resolves("nowhere.example.com", {});
  EXPECT_EQ(EndpointRefusal(production_, "https://nowhere.example.com/"),
            DestinationError::kUnresolvable);
}

TEST_F(DestinationPolicyTest, RefusalsNameTheRangeButNotTheAddress) {
  Resolves("internal.example.com", {Ip("10.0.0.7")});
  DestinationCheck check = production_.CheckEndpoint("https://internal.example.com/?token=s3cret");
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.refusal().message,
            "webhooks may not be sent to this address range: private network");
}

TEST_F(DestinationPolicyTest, CheckUrlDoesNoDnsLookup) {
  EXPECT_CALL(resolver_, Resolve(_)).Times(0);
  EXPECT_TRUE(production_.CheckUrl("https://hooks.example.com/in").ok());
  EXPECT_FALSE(production_.CheckUrl("https://10.0.0.1/in").ok());
}

TEST_F(DestinationPolicyTest, DevelopmentAlsoAllowsLoopbackByNameOrAddress) {
  EXPECT_CALL(resolver_, Resolve(_)).Times(0);
  for (const char* url : {"http://127.0.0.1/", "http://127.0.0.1:49152/hook", "http://localhost/",
                          "http://localhost:3000/x?y=1", "https://127.0.0.1:8443/"}) {
    EXPECT_EQ(EndpointRefusal(development_, url), std::nullopt) << url;
  }
}

TEST_F(DestinationPolicyTest, DevelopmentStillRefusesOtherPrivateOrPlainHttpDestinations) {
  Resolves("hooks.example.com", {Ip("93.184.216.34")});
  EXPECT_EQ(EndpointRefusal(development_, "http://hooks.example.com/"),
            DestinationError::kInsecureScheme);
  EXPECT_EQ(EndpointRefusal(development_, "http://10.0.0.1/"), DestinationError::kInsecureScheme);
  EXPECT_EQ(EndpointRefusal(development_, "https://10.0.0.1/"),
            DestinationError::kForbiddenAddress);
  EXPECT_EQ(EndpointRefusal(development_, "http://127.0.0.2/"), DestinationError::kInsecureScheme);
  EXPECT_EQ(EndpointRefusal(development_, "http://user:pw@localhost/"),
            DestinationError::kUserinfo);
  EXPECT_EQ(EndpointRefusal(development_, "https://hooks.example.com/"), std::nullopt);
}

TEST_F(DestinationPolicyTest, ConnectionCheckStopsDnsRebinding) {
  // Public when registered; private when the deliverer looks it up again.
  const DestinationUrl url = production_.CheckUrl("https://rebind.example.com/").url();
  EXPECT_EQ(production_.CheckConnection(url, Ip("93.184.216.34")), std::nullopt);
  for (const char* address : {"127.0.0.1", "10.0.0.1", "169.254.169.254", "::1",
                              "::ffff:192.168.0.1", "fe80::1", "0.0.0.0"}) {
    std::optional<DestinationRefusal> refusal = production_.CheckConnection(url, Ip(address));
    ASSERT_TRUE(refusal.has_value()) << address;
    EXPECT_EQ(refusal->error, DestinationError::kForbiddenAddress);
  }
}

TEST_F(DestinationPolicyTest, DevelopmentLoopbackUrlsMayConnectOnlyToLoopback) {
  const DestinationUrl localhost = development_.CheckUrl("http://localhost:8080/").url();
  EXPECT_EQ(development_.CheckConnection(localhost, Ip("127.0.0.1")), std::nullopt);
  EXPECT_EQ(development_.CheckConnection(localhost, Ip("::1")), std::nullopt);
  EXPECT_TRUE(development_.CheckConnection(localhost, Ip("93.184.216.34")).has_value());
  EXPECT_TRUE(development_.CheckConnection(localhost, Ip("10.0.0.1")).has_value());
  // A public name in development is held to production's rule.
  const DestinationUrl hooks = development_.CheckUrl("https://hooks.example.com/").url();
  EXPECT_TRUE(development_.CheckConnection(hooks, Ip("127.0.0.1")).has_value());
}

}  // namespace
}  // namespace lab_orders::webhooks
