#include "lab_orders/webhooks/poco_transport.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SocketAddress.h>

#include <stdexcept>

#include "lab_orders/common/client_tls.h"

namespace lab_orders::webhooks {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr std::size_t kMaxRetryAfterLength = 64;

Poco::Timespan ToTimespan(milliseconds ms) {
  return Poco::Timespan(Poco::Timespan::TimeDiff(ms.count()) * 1000);
}

// Thrown from inside POCO's connect when the policy refuses the address.
struct ConnectionRefusedByPolicy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A POCO client session that asks the policy about each address it is about to connect to:
// the address POCO itself resolved, so nothing can change between the check and the connect.
template <typename Session>
class GuardedSession final : public Session {
 public:
  template <typename... SessionArgs>
  GuardedSession(const DestinationPolicy& policy, const DestinationUrl& url,
                 SessionArgs&&... session_args)
      : Session(std::forward<SessionArgs>(session_args)...), policy_(policy), url_(url) {
    // A configured proxy would make the checked address the proxy's, not the endpoint's.
    this->setProxyConfig(Poco::Net::HTTPClientSession::ProxyConfig());
  }

 protected:
  void connect(const Poco::Net::SocketAddress& address) override {
    std::optional<IpAddress> ip = IpAddress::Parse(address.host().toString());
    if (!ip) throw ConnectionRefusedByPolicy("the host resolved to an unreadable address");
    if (auto refusal = policy_.CheckConnection(url_, *ip)) {
      throw ConnectionRefusedByPolicy(refusal->message);
    }
    Session::connect(address);
  }

 private:
  const DestinationPolicy& policy_;
  const DestinationUrl& url_;
};

DeliveryResult Failure(TransportError error, std::string summary) {
  DeliveryResult result;
  result.error = error;
  result.error_summary = std::move(summary);
  return result;
}

}  // namespace

struct PocoWebhookTransport::Tls {
  Poco::Net::Context::Ptr context;
};

PocoWebhookTransport::PocoWebhookTransport(const DestinationPolicy& policy,
                                           PocoWebhookTransportOptions options)
    : policy_(policy),
      options_(std::move(options)),
      tls_(std::make_unique<Tls>(Tls{MakeClientTlsContext(options_.ca_file)})) {}

PocoWebhookTransport::~PocoWebhookTransport() = default;

DeliveryResult PocoWebhookTransport::Post(const WebhookRequest& request) {
  const steady_clock::time_point start = steady_clock::now();
  const steady_clock::time_point deadline = start + options_.timeout;
  auto timed = [&](DeliveryResult result) {
    result.latency = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
    return result;
  };

  const DestinationCheck checked = policy_.CheckUrl(request.url);
  if (!checked.ok()) {
    return timed(Failure(TransportError::kDestinationRefused, checked.refusal().message));
  }
  const DestinationUrl& url = checked.url();

  bool sent = false;
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (url.secure()) {
      session = std::make_unique<GuardedSession<Poco::Net::HTTPSClientSession>>(
          policy_, url, url.host, url.port, tls_->context);
    } else {
      session = std::make_unique<GuardedSession<Poco::Net::HTTPClientSession>>(policy_, url,
                                                                               url.host, url.port);
    }
    session->setTimeout(ToTimespan(options_.timeout));

    Poco::Net::HTTPRequest http_request(Poco::Net::HTTPRequest::HTTP_POST, url.target,
                                        Poco::Net::HTTPMessage::HTTP_1_1);
    http_request.setHost(url.HostHeader());
    http_request.setKeepAlive(false);
    http_request.setContentType("application/json");
    http_request.setContentLength(std::streamsize(request.body.size()));
    for (const auto& [name, value] : request.headers) http_request.set(name, value);
    std::ostream& out = session->sendRequest(http_request);
    // Without this the stream would swallow a write's failure as a quiet bad state.
    out.exceptions(std::ios::badbit);
    out.write(request.body.data(), std::streamsize(request.body.size()));
    out.flush();
    sent = true;

    // Whatever connecting and sending took comes off the time left for the answer.
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) throw Poco::TimeoutException("deadline");
    session->socket().setReceiveTimeout(ToTimespan(left));
    Poco::Net::HTTPResponse http_response;
    session->receiveResponse(http_response);

    DeliveryResult result;
    result.status = int(http_response.getStatus());
    // Longer than any delay-seconds or HTTP date: not kept, so a brand cannot fill our records.
    if (const std::string retry_after = http_response.get("Retry-After", "");
        !retry_after.empty() && retry_after.size() <= kMaxRetryAfterLength) {
      result.retry_after = retry_after;
    }
    return timed(result);
  } catch (const ConnectionRefusedByPolicy& e) {
    return timed(Failure(TransportError::kDestinationRefused, e.what()));
  } catch (const Poco::TimeoutException&) {
    return timed(Failure(TransportError::kTimeout, sent ? "no answer within the timeout"
                                                        : "could not connect within the timeout"));
  } catch (const Poco::Net::SSLException& e) {
    // After the request went out, OpenSSL 3 reports a peer's close without close_notify as an
    // SSL error: that is a dropped connection, not a failed handshake.
    if (sent) return timed(Failure(TransportError::kConnectionFailed, "connection closed"));
    return timed(Failure(TransportError::kTlsFailure, "TLS failure: " + e.displayText()));
  } catch (const Poco::Net::DNSException&) {
    return timed(Failure(TransportError::kConnectionFailed, "the host name does not resolve"));
  } catch (const Poco::Net::ConnectionRefusedException&) {
    return timed(Failure(TransportError::kConnectionFailed, "connection refused"));
  } catch (const Poco::Net::ConnectionResetException&) {
    return timed(Failure(TransportError::kConnectionFailed, "connection reset"));
  } catch (const Poco::Net::NoMessageException&) {
    return timed(Failure(TransportError::kConnectionFailed, "connection closed without an answer"));
  } catch (const Poco::Net::MessageException&) {
    return timed(Failure(TransportError::kMalformedResponse, "malformed HTTP answer"));
  } catch (const Poco::Exception& e) {
    return timed(Failure(TransportError::kConnectionFailed,
                         std::string("connection failed: ") + e.className()));
  } catch (const std::exception&) {
    return timed(Failure(TransportError::kConnectionFailed, "connection failed"));
  }
}

}  // namespace lab_orders::webhooks
