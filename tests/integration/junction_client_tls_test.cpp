// The client's TLS: strict verification of the chain and the host name, against junction-sim
// serving HTTPS with certificates made here with openssl.

#include <gtest/gtest.h>

#include "lab_orders/junction/http_client.h"
#include "support/shared_sim_test.h"
#include "support/tls_certificates.h"

namespace lab_orders::testing {
namespace {

using junction::Outcome;

class JunctionClientTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certificates_ = new TlsCertificates(); }
  static void TearDownTestSuite() {
    delete certificates_;
    certificates_ = nullptr;
  }

  std::unique_ptr<SimProcess> SimWith(const std::string& server) {
    return std::make_unique<SimProcess>(
        std::vector<std::string>{"--tls-cert", certificates_->Path(server + ".pem"), "--tls-key",
                                 certificates_->Path(server + ".key")});
  }

  junction::Result<std::vector<junction::LabTest>> CallWith(const SimProcess& sim,
                                                            const std::string& ca) {
    junction::HttpClientOptions options = ClientOptions(
        "https://localhost:" + std::to_string(sim.port()), std::chrono::milliseconds(5000));
    options.ca_file = certificates_->Path(ca + ".pem");
    junction::HttpJunctionClient client(options);
    return client.ListLabTests();
  }

  static TlsCertificates* certificates_;
};

TlsCertificates* JunctionClientTlsTest::certificates_ = nullptr;

TEST_F(JunctionClientTlsTest, AcceptsAServerSignedByTheConfiguredAuthorityWithItsName) {
  auto sim = SimWith("good");
  auto result = CallWith(*sim, "trusted-ca");
  ASSERT_TRUE(result.ok()) << result.error().summary;
  EXPECT_EQ(result->size(), 6u);
}

TEST_F(JunctionClientTlsTest, RefusesAServerSignedBySomeoneElse) {
  auto sim = SimWith("untrusted");
  auto result = CallWith(*sim, "trusted-ca");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().outcome, Outcome::kTlsFailure);
  EXPECT_FALSE(result.error().may_have_reached_junction);
  EXPECT_NE(result.error().summary.find("certificate verify failed"), std::string::npos)
      << result.error().summary;
  EXPECT_TRUE(sim->Calls().empty()) << "nothing may reach the server";
}

TEST_F(JunctionClientTlsTest, RefusesACertificateForAnotherName) {
  auto sim = SimWith("wrong-name");
  auto result = CallWith(*sim, "trusted-ca");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().outcome, Outcome::kTlsFailure);
  EXPECT_NE(result.error().summary.find("localhost"), std::string::npos) << result.error().summary;
  EXPECT_TRUE(sim->Calls().empty()) << "nothing may reach the server";
}

TEST_F(JunctionClientTlsTest, ConnectionDroppedAfterSendingMayHaveReachedJunction) {
  auto sim = SimWith("good");
  sim->LoadScript({{"operations", {{"cancel_order", {{{"fault", "reset"}}}}}}});
  junction::HttpClientOptions options = ClientOptions(
      "https://localhost:" + std::to_string(sim->port()), std::chrono::milliseconds(5000));
  options.ca_file = certificates_->Path("trusted-ca.pem");
  junction::HttpJunctionClient client(options);
  auto cancelled = client.CancelOrder("6c1f0b4e-2a3d-4e5f-8a9b-0c1d2e3f4a5d");
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().outcome, Outcome::kConnectionFailed) << cancelled.error().summary;
  EXPECT_TRUE(cancelled.error().may_have_reached_junction);
}

}  // namespace
}  // namespace lab_orders::testing
