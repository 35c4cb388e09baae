// The POCO webhook transport against a real local POCO HTTP server (port 0): what it sends, and
// how it reports each kind of answer or failure. Redirects must come back as answers, never be
// followed; a hang and a dropped connection must come back as failures within the timeout.

#include <Poco/Event.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lab_orders/webhooks/poco_transport.h"
#include "support/tls_certificates.h"

namespace lab_orders::webhooks {
namespace {

using namespace std::chrono_literals;

constexpr const char* kResponseBody = "response body that must never be kept";

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;
  std::string body;
};

// What the endpoint does, by path: /ok 200, /fail 503 with Retry-After, /gone 410, /redirect
// 302 to /redirected, /hang waits until the test ends, /drop closes without an answer.
class ScriptedEndpoint {
 public:
  // Plain HTTP at http://127.0.0.1:port; with tls, HTTPS at https://localhost:port.
  explicit ScriptedEndpoint(Poco::Net::Context::Ptr tls = nullptr) : secure_(!tls.isNull()) {
    auto params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(8);
    params->setKeepAlive(false);
    const Poco::Net::SocketAddress address("127.0.0.1", 0);
    server_ = std::make_unique<Poco::Net::HTTPServer>(
        new Factory(*this),
        secure_ ? Poco::Net::SecureServerSocket(address, 64, tls)
                : Poco::Net::ServerSocket(address),
        params);
    server_->start();
  }
  ~ScriptedEndpoint() {
    release_hang_.set();
    server_->stopAll(true);
  }

  std::string Url(const std::string& path) const {
    return (secure_ ? "https://localhost:" : "http://127.0.0.1:") +
           std::to_string(server_->port()) + path;
  }
  unsigned short port() const { return server_->port(); }

  std::vector<ReceivedRequest> Received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  class Handler final : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(ScriptedEndpoint& endpoint) : endpoint_(endpoint) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      endpoint_.Record(request);
      const std::string path = request.getURI();
      if (path == "/hang") {
        endpoint_.release_hang_.wait();
        return;
      }
      if (path == "/drop") {
        auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(request);
        Poco::Net::StreamSocket socket = impl.detachSocket();
        socket.shutdown();
        socket.close();
        return;
      }
      if (path == "/redirect") {
        response.redirect(endpoint_.Url("/redirected"), Poco::Net::HTTPResponse::HTTP_FOUND);
        return;
      }
      if (path == "/fail") {
        response.set("Retry-After", "120");
        response.setStatus(Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
      } else if (path == "/gone") {
        response.setStatus(Poco::Net::HTTPResponse::HTTP_GONE);
      } else {
        response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
      }
      response.send() << kResponseBody;
    }

   private:
    ScriptedEndpoint& endpoint_;
  };

  class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(ScriptedEndpoint& endpoint) : endpoint_(endpoint) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(endpoint_);
    }

   private:
    ScriptedEndpoint& endpoint_;
  };

  void Record(Poco::Net::HTTPServerRequest& request) {
    ReceivedRequest received{request.getMethod(), request.getURI(), {}, {}};
    for (const auto& [name, value] : request) received.headers[name] = value;
    Poco::StreamCopier::copyToString(request.stream(), received.body);
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(received));
  }

  const bool secure_;
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> received_;
  Poco::Event release_hang_{Poco::Event::EVENT_MANUALRESET};
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kBody =
    R"({"type": "order.created", "data": {"external_order_id": "ext-1"}})";

WebhookRequest SignedRequest(const std::string& url) {
  return SignedWebhookRequest(
      url, kBody,
      DeliverySigner({CurrentSecret(kSecret)})
          .Sign("msg_transport_test", std::chrono::system_clock::now(), kBody));
}

class WebhookTransportTest : public ::testing::Test {
 protected:
  WebhookRequest Request(const std::string& path) { return SignedRequest(endpoint_.Url(path)); }

  const std::string body_ = kBody;
  SystemHostResolver resolver_;
  DestinationPolicy development_{DestinationMode::kDevelopment, resolver_};
  ScriptedEndpoint endpoint_;
  PocoWebhookTransport transport_{development_, PocoWebhookTransportOptions{300ms, ""}};
};

TEST_F(WebhookTransportTest, PostsTheExactBytesWithTheSignatureHeaders) {
  const WebhookRequest request = Request("/ok");
  DeliveryResult result = transport_.Post(request);
  EXPECT_EQ(result.status, 200);
  EXPECT_FALSE(result.error.has_value());
  EXPECT_EQ(result.retry_after, std::nullopt);

  std::vector<ReceivedRequest> received = endpoint_.Received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].body, body_);
  EXPECT_EQ(received[0].headers["Content-Type"], "application/json");
  EXPECT_EQ(received[0].headers["Content-Length"], std::to_string(body_.size()));
  EXPECT_EQ(received[0].headers["Host"], "127.0.0.1:" + std::to_string(endpoint_.port()));
  for (const auto& [name, value] : request.headers) {
    EXPECT_EQ(received[0].headers[name], value) << name;
  }
  const SignatureHeaders as_received{received[0].headers["webhook-id"],
                                     received[0].headers["webhook-timestamp"],
                                     received[0].headers["webhook-signature"]};
  EXPECT_EQ(VerifySignatureHeaders(kSecret, as_received, received[0].body,
                                   std::chrono::system_clock::now()),
            WebhookSigner::Verdict::kValid);
}

TEST_F(WebhookTransportTest, ServerErrorComesBackWithItsRetryAfter) {
  DeliveryResult result = transport_.Post(Request("/fail"));
  EXPECT_EQ(result.status, 503);
  EXPECT_FALSE(result.error.has_value());
  EXPECT_EQ(result.retry_after, "120");
}

TEST_F(WebhookTransportTest, GoneComesBackAsGone) {
  EXPECT_EQ(transport_.Post(Request("/gone")).status, 410);
}

TEST_F(WebhookTransportTest, RedirectIsAnAnswerNotFollowed) {
  DeliveryResult result = transport_.Post(Request("/redirect"));
  EXPECT_EQ(result.status, 302);
  std::vector<ReceivedRequest> received = endpoint_.Received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].path, "/redirect");
}

TEST_F(WebhookTransportTest, AHangIsATimeoutWithinTheConfiguredTime) {
  DeliveryResult result = transport_.Post(Request("/hang"));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, TransportError::kTimeout);
  EXPECT_EQ(result.status, 0);
  EXPECT_GE(result.latency, 300ms);
  EXPECT_LT(result.latency, 10s);
  EXPECT_EQ(result.error_summary, "no answer within the timeout");
}

TEST_F(WebhookTransportTest, ADroppedConnectionIsAConnectionFailure) {
  DeliveryResult result = transport_.Post(Request("/drop"));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, TransportError::kConnectionFailed);
  EXPECT_EQ(result.status, 0);
}

TEST_F(WebhookTransportTest, ARefusedConnectionIsAConnectionFailure) {
  unsigned short closed_port = 0;
  {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    closed_port = socket.address().port();
  }
  WebhookRequest request = Request("/ok");
  request.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/ok";
  DeliveryResult result = transport_.Post(request);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, TransportError::kConnectionFailed);
}

TEST_F(WebhookTransportTest, NoResultCarriesTheResponseBody) {
  for (const char* path : {"/ok", "/fail", "/gone", "/redirect", "/drop"}) {
    DeliveryResult result = transport_.Post(Request(path));
    EXPECT_EQ(result.error_summary.find("never be kept"), std::string::npos) << path;
    EXPECT_EQ(result.retry_after.value_or("").find("never be kept"), std::string::npos) << path;
  }
}

TEST_F(WebhookTransportTest, ProductionRefusesTheUrlBeforeConnecting) {
  DestinationPolicy production(DestinationMode::kProduction, resolver_);
  PocoWebhookTransport transport(production, PocoWebhookTransportOptions{300ms, ""});
  DeliveryResult result = transport.Post(Request("/ok"));  // http://127.0.0.1
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, TransportError::kDestinationRefused);
  EXPECT_TRUE(endpoint_.Received().empty());
}

TEST_F(WebhookTransportTest, ProductionRefusesANameThatResolvesToLoopbackAtConnectTime) {
  // https://localhost passes the URL rules (a name, https); the address POCO resolves it to is
  // loopback, so the connection is never made: what stops DNS rebinding.
  DestinationPolicy production(DestinationMode::kProduction, resolver_);
  PocoWebhookTransport transport(production, PocoWebhookTransportOptions{300ms, ""});
  WebhookRequest request = Request("/ok");
  request.url = "https://localhost:" + std::to_string(endpoint_.port()) + "/ok";
  DeliveryResult result = transport.Post(request);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, TransportError::kDestinationRefused);
  EXPECT_EQ(result.error_summary, "webhooks may not be sent to this address range: loopback");
  EXPECT_TRUE(endpoint_.Received().empty());
}

TEST_F(WebhookTransportTest, DevelopmentLocalhostReachesLoopback) {
  WebhookRequest request = Request("/ok");
  request.url = "http://localhost:" + std::to_string(endpoint_.port()) + "/ok";
  EXPECT_EQ(transport_.Post(request).status, 200);
}

// HTTPS with the shared strict TLS settings, against certificates made for the test.
class WebhookTransportTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Poco::Net::initializeSSL();
    certificates_ = new testing::TlsCertificates();
  }
  static void TearDownTestSuite() {
    delete certificates_;
    certificates_ = nullptr;
  }

  static Poco::Net::Context::Ptr ServerContext(const std::string& certificate) {
    return new Poco::Net::Context(
        Poco::Net::Context::TLS_SERVER_USE, certificates_->Path(certificate + ".key"),
        certificates_->Path(certificate + ".pem"), "", Poco::Net::Context::VERIFY_NONE);
  }

  DeliveryResult PostTrustingTestAuthority(const ScriptedEndpoint& endpoint) {
    PocoWebhookTransport transport(
        development_, PocoWebhookTransportOptions{5s, certificates_->Path("trusted-ca.pem")});
    return transport.Post(SignedRequest(endpoint.Url("/ok")));
  }

  static testing::TlsCertificates* certificates_;
  SystemHostResolver resolver_;
  DestinationPolicy development_{DestinationMode::kDevelopment, resolver_};
};

testing::TlsCertificates* WebhookTransportTlsTest::certificates_ = nullptr;

TEST_F(WebhookTransportTlsTest, DeliversToAServerWithATrustedCertificateForItsName) {
  ScriptedEndpoint endpoint(ServerContext("good"));
  DeliveryResult result = PostTrustingTestAuthority(endpoint);
  EXPECT_EQ(result.status, 200) << result.error_summary;
  ASSERT_EQ(endpoint.Received().size(), 1u);
  EXPECT_EQ(endpoint.Received()[0].body, kBody);
}

TEST_F(WebhookTransportTlsTest, RefusesAnUntrustedCertificateOrOneForAnotherName) {
  for (const char* certificate : {"untrusted", "wrong-name"}) {
    ScriptedEndpoint endpoint(ServerContext(certificate));
    DeliveryResult result = PostTrustingTestAuthority(endpoint);
    ASSERT_TRUE(result.error.has_value()) << certificate;
    EXPECT_EQ(*result.error, TransportError::kTlsFailure) << certificate << result.error_summary;
    EXPECT_TRUE(endpoint.Received().empty()) << certificate;
  }
}

}  // namespace
}  // namespace lab_orders::webhooks
