#include "lab_orders/sim/upstream.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <stdexcept>

#include "lab_orders/junction/transport.h"

namespace lab_orders::sim {
namespace {

// A connection idle longer than this is not reused: the upstream may be about to close it, and a
// request sent on a connection the server is closing fails without an answer.
constexpr std::chrono::seconds kMaxIdle(5);
constexpr int kMaxIdleConnections = 32;

// The answer headers handed back to the caller (a Junction client acts on these only), by the
// lower-case name the transport keeps them under.
const std::pair<const char*, const char*> kAnswerHeaders[] = {{"content-type", "Content-Type"},
                                                              {"retry-after", "Retry-After"}};

}  // namespace

Upstream::Upstream(const std::string& url, const std::string& ca_file,
                   std::chrono::milliseconds timeout) {
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
  if (uri.getScheme() != "https" && !ca_file.empty()) {
    throw std::invalid_argument("--upstream-ca-file needs an https:// upstream");
  }
  Poco::URI shown(uri);
  shown.setUserInfo("");
  display_url_ = shown.toString();
  while (!display_url_.empty() && display_url_.back() == '/') display_url_.pop_back();

  junction::HttpClientOptions options;
  options.base_url = url;
  options.api_key = "";  // none added: the caller's x-vital-api-key goes on as it came
  options.ca_file = ca_file;
  options.timeout = timeout;
  options.max_idle = kMaxIdle;
  options.max_idle_connections = kMaxIdleConnections;
  transport_ = std::make_unique<junction::Transport>(options);
}

Upstream::~Upstream() = default;

std::variant<UpstreamAnswer, UpstreamFailure> Upstream::Forward(const UpstreamRequest& request) {
  junction::RawRequest raw;
  raw.method = request.method;
  raw.path_and_query = request.path_and_query;
  raw.body = request.body;
  raw.headers = request.headers;
  // Sent once more on a new connection when a reused one turns out closed: a GET only, as
  // anything else may have been acted on.
  raw.safe_to_repeat = request.method == "GET";

  auto sent = transport_->Send(raw);
  if (auto* failure = std::get_if<junction::TransportFailure>(&sent)) {
    return UpstreamFailure{failure->may_have_reached_junction, failure->summary};
  }
  auto& response = std::get<junction::RawResponse>(sent);
  UpstreamAnswer answer;
  answer.status = response.status;
  answer.body = std::move(response.body);
  for (const auto& [lower, name] : kAnswerHeaders) {
    auto it = response.headers.find(lower);
    if (it != response.headers.end()) answer.headers[name] = it->second;
  }
  return answer;
}

}  // namespace lab_orders::sim
