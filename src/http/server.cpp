#include "lab_orders/http/server.h"

#include <Poco/URI.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <string_view>

#include "http/connection_loop.h"
#include "http/worker_pool.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/common/line_writer.h"
#include "lab_orders/common/listen.h"

namespace lab_orders::http {
namespace {

// An incoming X-Request-Id is echoed only when it is a short printable token.
std::string RequestIdFor(const ReadRequest& request) {
  const std::string* given = request.Field("x-request-id");
  const bool usable =
      given != nullptr && !given->empty() && given->size() <= 128 &&
      std::all_of(given->begin(), given->end(), [](char c) { return c > 0x20 && c < 0x7F; });
  return usable ? *given : NewRequestId();
}

// One JSON line per request, ids and the route template only (never the raw path or PHI), written
// straight to the log's writer: building it is most of what /healthz costs otherwise.
void LogAccess(const std::string& method, const ApiResponse& response,
               const std::string& request_id, std::chrono::duration<double, std::milli> latency) {
  char latency_text[32];
  const std::string_view latency_ms(
      latency_text, std::to_chars(latency_text, latency_text + sizeof latency_text, latency.count(),
                                  std::chars_format::fixed, 2)
                            .ptr -
                        latency_text);
  std::string line;
  line.reserve(256);
  line.append(R"({"event":"access","method":)")
      .append(JsonQuoted(method))
      .append(R"(,"route":)")
      .append(JsonQuoted(response.route.empty() ? "unknown" : response.route))
      .append(R"(,"status":)")
      .append(std::to_string(response.status))
      .append(R"(,"latency_ms":)")
      .append(latency_ms)
      .append(R"(,"request_id":)")
      .append(JsonQuoted(request_id))
      .append(R"(,"brand":)")
      .append(JsonQuoted(response.brand_id))
      .append(R"(,"time":)")
      .append(JsonQuoted(FormatRfc3339(std::chrono::system_clock::now())))
      .append(R"(,"level":"info"})");
  LineWriter::Stderr().Write(line);
}

// Each connection is a descriptor: a service holding thousands of idle keep-alive connections
// needs more than the usual soft limit of 1,024.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

struct Server::Impl {
  Api& api;
  ServerSettings settings;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<ConnectionLoop> loop;
  bool stopped = false;

  ApiResponse Serve(const ReadRequest& request) const {
    const auto started = std::chrono::steady_clock::now();
    ApiRequest api_request;
    api_request.request_id = RequestIdFor(request);
    api_request.method = request.method;
    try {
      const Poco::URI uri(request.target);
      api_request.path = uri.getPath();
      api_request.query = uri.getRawQuery();
    } catch (const Poco::Exception&) {
      return Refuse(
          AppError(ErrorCode::kMalformedRequest, "The request target is not a valid URI."),
          request);
    }
    for (const auto& [name, value] : request.fields) api_request.headers[name] = value;
    api_request.body = request.body;
    api_request.client_address = request.peer_address;
    ApiResponse response = api.Handle(api_request);
    Report(api_request.method, response, api_request.request_id, started);
    return response;
  }

  // On the I/O thread: only what may be answered there (Api::HandleAtOnce), read in place.
  std::optional<ApiResponse> ServeAtOnce(const ReadRequest& request) const {
    if (!Api::MayAnswerAtOnce(request)) return std::nullopt;
    const auto started = std::chrono::steady_clock::now();
    const std::string request_id = RequestIdFor(request);
    std::optional<ApiResponse> response = api.HandleAtOnce(request, request_id);
    if (response) Report(request.method, *response, request_id, started);
    return response;
  }

  // An answer's access line and metrics.
  void Report(const std::string& method, const ApiResponse& response, const std::string& request_id,
              std::chrono::steady_clock::time_point started) const {
    const std::chrono::duration<double, std::milli> latency =
        std::chrono::steady_clock::now() - started;
    LogAccess(method, response, request_id, latency);
    api.RecordRequest(method, response, latency);
  }

  // A request refused before it reaches the API: the envelope, its X-Request-Id, an access line.
  ApiResponse Refuse(const AppError& error, const ReadRequest& head) const {
    const std::string request_id = RequestIdFor(head);
    ApiResponse refused = ErrorResponse(error, request_id);
    refused.headers.emplace_back("X-Request-Id", request_id);
    LogAccess(head.method.empty() ? "-" : head.method, refused, request_id, {});
    api.RecordRequest(head.method.empty() ? "-" : head.method, refused, {});
    return refused;
  }
};

Server::Server(Api& api, ServerSettings settings)
    : impl_(std::make_unique<Impl>(Impl{api, std::move(settings), nullptr, nullptr})) {}

Server::~Server() { Stop(); }

void Server::Start() {
  Poco::Net::ServerSocket socket;
  ListenExclusively(socket, impl_->settings.host, impl_->settings.port, kListenBacklog);
  Start(socket);
}

void Server::Start(Poco::Net::ServerSocket listening) {
  RaiseDescriptorLimit();
  const ServerSettings& settings = impl_->settings;
  impl_->pool = std::make_unique<WorkerPool>(settings.threads, std::size_t(settings.queue));
  LoopSettings loop{settings.door, ReaderLimits{}};
  loop.limits.max_body = kMaxRequestBody;
  Impl* impl = impl_.get();
  RequestHandlers handlers{
      [impl](const ReadRequest& request) { return impl->Serve(request); },
      [impl](const AppError& error, const ReadRequest& head) { return impl->Refuse(error, head); },
      [impl](const ReadRequest& request) { return impl->ServeAtOnce(request); }};
  impl_->loop = std::make_unique<ConnectionLoop>(loop, std::move(handlers), *impl_->pool);
  impl_->loop->Start(std::move(listening));
}

unsigned short Server::port() const { return impl_->loop->port(); }

void Server::Stop() {
  if (impl_->stopped || !impl_->loop) return;
  impl_->stopped = true;
  impl_->loop->StopAccepting();  // idle connections close; busy ones close once answered
  impl_->pool->Stop();           // in-flight requests finish
  impl_->loop->Stop();
}

}  // namespace lab_orders::http
