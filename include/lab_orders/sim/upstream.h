#pragma once

// junction-sim --upstream: forwards Junction calls to a real Junction (a sandbox, or another
// junction-sim) and hands back what it answered. See "Recording" in docs/junction-sim.md.
// A thin adapter over the service's own Junction transport (lab_orders/junction/transport.h): its
// keep-alive pool, per-call deadline and strict TLS.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <variant>

namespace lab_orders::junction {
class Transport;
}

namespace lab_orders::sim {

// One forwarded call.
struct UpstreamRequest {
  std::string method;
  std::string path_and_query;  // as the simulator received it: "/v3/order/abc?x=1"
  // Sent as they are: x-vital-api-key, Content-Type, X-Idempotency-Key, X-Idempotency-Error.
  std::map<std::string, std::string> headers;
  std::string body;
};

// The upstream's answer: its status, the body's bytes, and the answer headers a caller of
// Junction acts on (Content-Type, Retry-After) under those names.
struct UpstreamAnswer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

// Why no answer came: the upstream could not be reached (nothing was sent), or it was reached
// and the answer never came whole (timeout, closed, reset, malformed, too large).
struct UpstreamFailure {
  bool reached = false;
  std::string what;  // for the log
};

class Upstream {
 public:
  // url: http:// or https:// with a host, and optionally a path prefix ("https://h/base").
  // https is verified strictly, as the service's Junction client does: the chain against
  // ca_file (PEM) or, when empty, the system's certificate authorities, and the host name.
  // Throws std::invalid_argument naming what is wrong with the URL.
  explicit Upstream(const std::string& url, const std::string& ca_file = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  // The URL without any user:password part (for logs and the recording's name).
  const std::string& display_url() const { return display_url_; }

  // Sends one request on a kept-alive connection (or a new one). Thread-safe.
  std::variant<UpstreamAnswer, UpstreamFailure> Forward(const UpstreamRequest& request);

 private:
  std::string display_url_;
  std::unique_ptr<junction::Transport> transport_;
};

}  // namespace lab_orders::sim
