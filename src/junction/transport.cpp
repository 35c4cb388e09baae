#include "lab_orders/junction/transport.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <stdexcept>

#include "lab_orders/common/client_tls.h"

namespace lab_orders::junction {
namespace {

constexpr std::size_t kMaxResponseBytes = 8 << 20;

Poco::Timespan ToTimespan(std::chrono::milliseconds ms) {
  return Poco::Timespan(Poco::Timespan::TimeDiff(ms.count()) * 1000);
}

// Thrown when a response breaks HTTP framing (a body shorter than its Content-Length, say).
struct BrokenResponse : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

Transport::Transport(const HttpClientOptions& options) : options_(options) {
  Poco::URI uri(options.base_url);
  if (uri.getScheme() != "http" && uri.getScheme() != "https") {
    throw std::invalid_argument("JUNCTION_BASE_URL must be an http:// or https:// URL");
  }
  secure_ = uri.getScheme() == "https";
  host_ = uri.getHost();
  port_ = uri.getPort();
  base_path_ = uri.getPath();
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  if (secure_) tls_context_ = MakeClientTlsContext(options.ca_file);
}

Transport::~Transport() = default;

std::unique_ptr<Poco::Net::HTTPClientSession> Transport::Acquire(bool* reused) {
  {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      Pooled pooled = std::move(idle_.back());
      idle_.pop_back();
      if (now - pooled.idle_since > options_.max_idle) continue;
      // An idle connection has nothing to read unless the server closed it (EOF) or broke it.
      try {
        if (pooled.session->socket().poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ)) {
          continue;
        }
      } catch (const Poco::Exception&) {
        continue;
      }
      *reused = true;
      return std::move(pooled.session);
    }
  }
  *reused = false;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (secure_) {
    session = std::make_unique<Poco::Net::HTTPSClientSession>(host_, port_, tls_context_);
  } else {
    session = std::make_unique<Poco::Net::HTTPClientSession>(host_, port_);
  }
  session->setKeepAlive(true);
  session->setKeepAliveTimeout(ToTimespan(options_.max_idle));
  return session;
}

void Transport::Release(std::unique_ptr<Poco::Net::HTTPClientSession> session) {
  std::lock_guard lock(mutex_);
  if (int(idle_.size()) >= options_.max_idle_connections) return;
  idle_.push_back(Pooled{std::move(session), std::chrono::steady_clock::now()});
}

std::variant<RawResponse, TransportFailure> Transport::SendOnce(
    Poco::Net::HTTPClientSession& session, const RawRequest& request, bool* sent,
    bool* keep_alive) {
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  session.setTimeout(ToTimespan(options_.timeout), ToTimespan(options_.timeout),
                     ToTimespan(options_.timeout));
  Poco::Net::HTTPRequest http_request(request.method, base_path_ + request.path_and_query,
                                      Poco::Net::HTTPMessage::HTTP_1_1);
  http_request.setKeepAlive(true);
  http_request.set("Accept", "application/json");
  if (!options_.api_key.empty()) http_request.set("x-vital-api-key", options_.api_key);
  for (const auto& [name, value] : request.headers) http_request.set(name, value);
  if (!request.body.empty() || request.method == "POST" || request.method == "PATCH") {
    http_request.setContentType("application/json");
    http_request.setContentLength(std::streamsize(request.body.size()));
  }
  std::ostream& out = session.sendRequest(http_request);
  out << request.body;
  out.flush();
  *sent = true;

  // Socket timeouts apply to each read, so a server that trickles bytes could stretch a call
  // without end: before every read the timeout becomes what is left of the call's deadline.
  auto arm_deadline = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw Poco::TimeoutException("deadline");
    session.socket().setReceiveTimeout(ToTimespan(left));
  };
  arm_deadline();
  Poco::Net::HTTPResponse http_response;
  std::istream& in = session.receiveResponse(http_response);
  RawResponse response;
  response.status = http_response.getStatus();
  for (const auto& [name, value] : http_response) response.headers[Poco::toLower(name)] = value;
  // Without this, std::istream would swallow a read's timeout or reset as a quiet end of stream.
  in.exceptions(std::ios::badbit);
  char buffer[16384];
  while (true) {
    arm_deadline();
    // peek() makes at most one read from the socket; readsome() then takes what it brought.
    if (in.peek() == std::char_traits<char>::eof()) break;
    std::streamsize got = in.readsome(buffer, sizeof buffer);
    response.body.append(buffer, std::size_t(got));
    if (response.body.size() > kMaxResponseBytes) throw BrokenResponse("response body too large");
  }
  if (http_response.hasContentLength() &&
      std::streamsize(response.body.size()) != http_response.getContentLength()) {
    throw BrokenResponse("response body shorter than its Content-Length");
  }
  *keep_alive = http_response.getKeepAlive();
  return response;
}

std::variant<RawResponse, TransportFailure> Transport::Send(const RawRequest& request) {
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    std::unique_ptr<Poco::Net::HTTPClientSession> session = Acquire(&reused);
    bool sent = false;
    bool keep_alive = false;
    auto failure = [&](Outcome outcome, bool reached, const std::string& what) {
      return TransportFailure{outcome, reached, what};
    };
    // A reused connection the server had already closed fails before any answer; a new
    // connection is tried once, and only for requests that are safe to repeat.
    bool may_retry = reused && attempt == 0 && request.safe_to_repeat;
    try {
      auto result = SendOnce(*session, request, &sent, &keep_alive);
      if (keep_alive) Release(std::move(session));
      return result;
    } catch (const Poco::TimeoutException&) {
      return failure(
          Outcome::kTimeout, sent,
          sent ? "no answer within the timeout" : "could not connect within the timeout");
    } catch (const Poco::Net::SSLException& e) {
      // After the request went out, a TLS error is a dropped connection (OpenSSL 3 reports a
      // close without close_notify this way), and the request may have been processed.
      if (sent) {
        if (may_retry) continue;
        return failure(Outcome::kConnectionFailed, true, "connection closed: " + e.displayText());
      }
      return failure(Outcome::kTlsFailure, false, "TLS failure: " + e.displayText());
    } catch (const Poco::Net::ConnectionRefusedException&) {
      return failure(Outcome::kConnectionFailed, false, "connection refused");
    } catch (const Poco::Net::NoMessageException&) {
      if (may_retry) continue;
      return failure(Outcome::kConnectionFailed, sent, "connection closed without an answer");
    } catch (const Poco::Net::MessageException&) {
      return failure(Outcome::kMalformedResponse, true, "malformed HTTP answer");
    } catch (const BrokenResponse& e) {
      return failure(Outcome::kMalformedResponse, true, e.what());
    } catch (const Poco::Net::ConnectionResetException&) {
      if (may_retry) continue;
      return failure(Outcome::kConnectionFailed, sent, "connection reset");
    } catch (const Poco::IOException& e) {
      if (may_retry) continue;
      return failure(Outcome::kConnectionFailed, sent,
                     std::string("connection failed: ") + e.className());
    } catch (const Poco::Exception& e) {
      return failure(Outcome::kConnectionFailed, sent,
                     std::string("connection failed: ") + e.className());
    }
  }
}

}  // namespace lab_orders::junction
