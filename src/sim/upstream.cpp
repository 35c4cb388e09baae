#include "lab_orders/sim/upstream.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <mutex>
#include <stdexcept>

namespace lab_orders::sim {
namespace {

constexpr std::size_t kMaxAnswerBytes = 8 << 20;
constexpr std::size_t kMaxIdleConnections = 32;
// A connection idle longer than this is not reused: the upstream may be about to close it, and a
// request sent on a connection the server is closing fails without an answer.
constexpr std::chrono::seconds kMaxIdle(5);

// The answer headers handed back to the caller (a Junction client acts on these only).
const char* const kAnswerHeaders[] = {"Content-Type", "Retry-After"};

struct BrokenAnswer : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Poco::Timespan ToTimespan(std::chrono::milliseconds ms) {
  return Poco::Timespan(Poco::Timespan::TimeDiff(ms.count()) * 1000);
}

void InitializeSslOnce() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

}  // namespace

Upstream::Upstream(const std::string& url, const std::string& ca_file,
                   std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception&) {
    throw std::invalid_argument("--upstream is not a valid http:// or https:// URL");
  }
  if (uri.getScheme() != "http" && uri.getScheme() != "https") {
    throw std::invalid_argument("--upstream must be an http:// or https:// URL");
  }
  if (uri.getHost().empty()) throw std::invalid_argument("--upstream has no host");
  if (!uri.getRawQuery().empty() || !uri.getFragment().empty()) {
    throw std::invalid_argument("--upstream takes no query or fragment");
  }
  secure_ = uri.getScheme() == "https";
  host_ = uri.getHost();
  port_ = uri.getPort();
  base_path_ = uri.getPath();
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  Poco::URI shown(uri);
  shown.setUserInfo("");
  display_url_ = shown.toString();
  while (!display_url_.empty() && display_url_.back() == '/') display_url_.pop_back();
  if (secure_) {
    InitializeSslOnce();
    // As the service's Junction client: the chain (ca_file, or the system's authorities) and,
    // with extended verification, the host name; TLS 1.2 or newer.
    tls_context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", ca_file,
                                          Poco::Net::Context::VERIFY_STRICT, 9, ca_file.empty(),
                                          "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:@STRENGTH");
    tls_context_->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    tls_context_->enableExtendedCertificateVerification(true);
  } else if (!ca_file.empty()) {
    throw std::invalid_argument("--upstream-ca-file needs an https:// upstream");
  }
}

Upstream::~Upstream() = default;

std::unique_ptr<Poco::Net::HTTPClientSession> Upstream::Acquire(bool* reused) {
  {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      Pooled pooled = std::move(idle_.back());
      idle_.pop_back();
      if (now - pooled.idle_since < kMaxIdle) {
        *reused = true;
        return std::move(pooled.session);
      }
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
  session->setKeepAliveTimeout(Poco::Timespan(kMaxIdle.count(), 0));
  return session;
}

void Upstream::Release(std::unique_ptr<Poco::Net::HTTPClientSession> session) {
  std::lock_guard lock(mutex_);
  if (idle_.size() >= kMaxIdleConnections) return;
  idle_.push_back(Pooled{std::move(session), std::chrono::steady_clock::now()});
}

UpstreamAnswer Upstream::SendOnce(Poco::Net::HTTPClientSession& session,
                                  const UpstreamRequest& request, bool* sent, bool* keep_alive) {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  session.setTimeout(ToTimespan(timeout_), ToTimespan(timeout_), ToTimespan(timeout_));
  Poco::Net::HTTPRequest http_request(request.method, base_path_ + request.path_and_query,
                                      Poco::Net::HTTPMessage::HTTP_1_1);
  http_request.setKeepAlive(true);
  http_request.set("Accept", "application/json");
  for (const auto& [name, value] : request.headers) http_request.set(name, value);
  if (request.has_body || !request.body.empty()) {
    http_request.setContentLength(std::streamsize(request.body.size()));
  }
  std::ostream& out = session.sendRequest(http_request);
  out << request.body;
  out.flush();
  *sent = true;

  // Socket timeouts apply to each read: before every read the timeout becomes what is left of
  // the call's deadline, so an upstream that trickles bytes cannot stretch the call.
  auto arm_deadline = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw Poco::TimeoutException("deadline");
    session.socket().setReceiveTimeout(ToTimespan(left));
  };
  arm_deadline();
  Poco::Net::HTTPResponse http_response;
  std::istream& in = session.receiveResponse(http_response);
  UpstreamAnswer answer;
  answer.status = http_response.getStatus();
  answer.reason = http_response.getReason();
  for (const char* name : kAnswerHeaders) {
    if (http_response.has(name)) answer.headers[name] = http_response.get(name);
  }
  // Without this, std::istream would take a read's timeout or reset for a quiet end of stream.
  in.exceptions(std::ios::badbit);
  char buffer[16384];
  while (true) {
    arm_deadline();
    if (in.peek() == std::char_traits<char>::eof()) break;
    std::streamsize got = in.readsome(buffer, sizeof buffer);
    answer.body.append(buffer, std::size_t(got));
    if (answer.body.size() > kMaxAnswerBytes) throw BrokenAnswer("answer body too large");
  }
  if (http_response.hasContentLength() &&
      std::streamsize(answer.body.size()) != http_response.getContentLength()) {
    throw BrokenAnswer("answer body shorter than its Content-Length");
  }
  *keep_alive = http_response.getKeepAlive();
  return answer;
}

std::variant<UpstreamAnswer, UpstreamFailure> Upstream::Forward(const UpstreamRequest& request) {
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    std::unique_ptr<Poco::Net::HTTPClientSession> session = Acquire(&reused);
    bool sent = false;
    bool keep_alive = false;
    // A kept-alive connection the upstream had closed fails before any answer: a GET (safe to
    // repeat) is sent once more on a new connection. Anything else may have been acted on.
    bool may_retry = reused && attempt == 0 && request.method == "GET";
    try {
      UpstreamAnswer answer = SendOnce(*session, request, &sent, &keep_alive);
      if (keep_alive) Release(std::move(session));
      return answer;
    } catch (const Poco::TimeoutException&) {
      return UpstreamFailure{
          sent, sent ? "no answer within the timeout" : "could not connect within the timeout"};
    } catch (const Poco::Net::SSLException& e) {
      if (sent && may_retry) continue;
      return UpstreamFailure{sent, "TLS: " + e.displayText()};
    } catch (const Poco::Net::NoMessageException&) {
      if (may_retry) continue;
      return UpstreamFailure{sent, "connection closed without an answer"};
    } catch (const Poco::Net::ConnectionResetException&) {
      if (may_retry) continue;
      return UpstreamFailure{sent, "connection reset"};
    } catch (const Poco::Net::MessageException&) {
      return UpstreamFailure{true, "malformed HTTP answer"};
    } catch (const BrokenAnswer& e) {
      return UpstreamFailure{true, e.what()};
    } catch (const Poco::IOException& e) {
      if (sent && may_retry) continue;
      return UpstreamFailure{sent, e.displayText()};
    } catch (const Poco::Exception& e) {
      return UpstreamFailure{sent, e.displayText()};
    }
  }
}

}  // namespace lab_orders::sim
