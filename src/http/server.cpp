#include "lab_orders/http/server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "lab_orders/common/ids.h"
#include "lab_orders/common/listen.h"
#include "lab_orders/http/framing.h"

namespace lab_orders::http {
namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// An incoming X-Request-Id is echoed only when it is a short printable token.
std::string RequestIdFor(const HTTPServerRequest& request) {
  std::string id = request.get("X-Request-Id", "");
  bool usable = !id.empty() && id.size() <= 128 &&
                std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7F; });
  return usable ? id : NewRandomUuid();
}

enum class BodyRead { kComplete, kTooLarge, kCutShort };

// A client still sending a body it was refused for gets a reset instead of the 413 if the
// connection closes under it; up to this much is read and dropped first.
constexpr std::size_t kMaxDrainedBody = 1 << 20;

// Drops what is left of a refused body, up to kMaxDrainedBody in all.
void Drain(std::istream& in, std::size_t already_read) {
  char buffer[8192];
  std::size_t drained = already_read;
  try {
    while (drained < kMaxDrainedBody && (in.read(buffer, sizeof buffer) || in.gcount() > 0)) {
      drained += std::size_t(in.gcount());
    }
  } catch (const Poco::Exception&) {
    // The client gave up: the 413 goes out (or not) all the same.
  }
}

// Reads at most kMaxRequestBody bytes, whatever Content-Length claims and with chunked bodies.
BodyRead ReadBody(HTTPServerRequest& request, std::string* body) {
  if (!request.hasContentLength() && !request.getChunkedTransferEncoding()) {
    return BodyRead::kComplete;
  }
  std::istream& in = request.stream();
  if (request.hasContentLength() && request.getContentLength64() > Poco::Int64(kMaxRequestBody)) {
    if (request.getContentLength64() <= Poco::Int64(kMaxDrainedBody)) Drain(in, 0);
    return BodyRead::kTooLarge;
  }
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    body->append(buffer, std::size_t(in.gcount()));
    if (body->size() > kMaxRequestBody) {
      Drain(in, body->size());
      return BodyRead::kTooLarge;
    }
  }
  // The client closed the connection before sending all it announced: what arrived is not the
  // request it meant, and is never processed.
  if (request.hasContentLength() && Poco::Int64(body->size()) < request.getContentLength64()) {
    return BodyRead::kCutShort;
  }
  return BodyRead::kComplete;
}

// An error answered before the request reaches the API; the connection closes after it, since
// where the request ends on the wire is not known.
ApiResponse RefusedAtTheDoor(const AppError& error, const std::string& request_id,
                             HTTPServerResponse& response) {
  ApiResponse refused = ErrorResponse(error, request_id);
  refused.headers.emplace_back("X-Request-Id", request_id);
  response.setKeepAlive(false);
  return refused;
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Api& api) : api_(api) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    auto started = std::chrono::steady_clock::now();
    ApiRequest api_request;
    api_request.request_id = RequestIdFor(request);
    api_request.method = request.getMethod();
    Poco::URI uri;
    try {
      uri = Poco::URI(request.getURI());
    } catch (const Poco::Exception&) {
      uri = Poco::URI("/");
    }
    api_request.path = uri.getPath();
    api_request.query = uri.getRawQuery();
    for (const auto& [name, value] : request) api_request.headers[Poco::toLower(name)] = value;

    ApiResponse api_response;
    if (std::optional<AppError> framing = FramingProblem(request)) {
      // A body of a known, sound length is read and dropped first, so that the client reads the
      // answer rather than a reset; any other is of unknown length.
      if (framing->code() == ErrorCode::kUnsupportedMediaType && request.hasContentLength() &&
          request.getContentLength64() <= Poco::Int64(kMaxDrainedBody)) {
        Drain(request.stream(), 0);
      }
      api_response = RefusedAtTheDoor(*framing, api_request.request_id, response);
    } else {
      switch (ReadBody(request, &api_request.body)) {
        case BodyRead::kTooLarge:  // what is left of the body is still on the wire
          api_response = RefusedAtTheDoor(
              AppError(ErrorCode::kPayloadTooLarge, "The request body is larger than 64 KiB."),
              api_request.request_id, response);
          break;
        case BodyRead::kCutShort:
          api_response =
              RefusedAtTheDoor(AppError(ErrorCode::kMalformedRequest,
                                        "The request body ended before its Content-Length."),
                               api_request.request_id, response);
          break;
        case BodyRead::kComplete:
          api_response = api_.Handle(api_request);
          break;
      }
    }

    auto status = Poco::Net::HTTPResponse::HTTPStatus(api_response.status);
    response.setStatusAndReason(status, Poco::Net::HTTPResponse::getReasonForStatus(status));
    const bool no_content = api_response.status == Poco::Net::HTTPResponse::HTTP_NO_CONTENT;
    // A 204 has no body, and so neither its type nor its length (RFC 9110 §8.6).
    if (!no_content) response.setContentType("application/json; charset=utf-8");
    for (const auto& [name, value] : api_response.headers) response.set(name, value);
    if (no_content) {
      response.send();
    } else {
      response.setContentLength(std::streamsize(api_response.body.size()));
      response.send() << api_response.body;
    }

    auto latency =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    nlohmann::json line = {{"event", "access"},
                           {"method", api_request.method},
                           {"route", api_response.route.empty() ? "unknown" : api_response.route},
                           {"status", api_response.status},
                           {"latency_ms", std::round(latency.count() * 100) / 100},
                           {"request_id", api_request.request_id},
                           {"brand", api_response.brand_id}};
    spdlog::info("{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    api_.RecordRequest(api_request.method, api_response, latency);
  }

 private:
  Api& api_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Api& api) : api_(api) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(api_);
  }

 private:
  Api& api_;
};

}  // namespace

struct Server::Impl {
  Api& api;
  ServerSettings settings;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  bool stopped = false;
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
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(impl_->settings.threads);
  params->setMaxQueued(impl_->settings.queue);
  params->setKeepAlive(true);
  // Each idle keep-alive connection holds a thread: keep them short.
  params->setKeepAliveTimeout(Poco::Timespan(5, 0));
  params->setTimeout(Poco::Timespan(30, 0));
  impl_->pool = std::make_unique<Poco::ThreadPool>(2, impl_->settings.threads, 60, 1024 * 1024);
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(impl_->api), *impl_->pool,
                                                          listening, params);
  impl_->server->start();
}

unsigned short Server::port() const { return impl_->server->port(); }

void Server::Stop() {
  if (impl_->stopped || !impl_->server) return;
  impl_->stopped = true;
  impl_->server->stopAll(false);
  impl_->pool->joinAll();
}

}  // namespace lab_orders::http
