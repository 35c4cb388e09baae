// The simulator's server: starting and stopping it, its threads (the HTTP server's, the ticker
// that applies the world's timed transitions), and routing each request to Junction's surface
// (server_junction.cpp) or to the /_sim/ admin surface (server_admin.cpp).

#include "lab_orders/sim/server.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "lab_orders/common/listen.h"
#include "lab_orders/sim/recorder.h"
#include "lab_orders/sim/upstream.h"
#include "lab_orders/sim/webhook_sender.h"
#include "lab_orders/sim/world.h"
#include "sim/server_impl.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr std::size_t kMaxBodyBytes = 1 << 20;

// Literal paths before templated ones that could also match them.
const Route kRoutes[] = {
    {"create_user", "POST", "/v2/user"},
    {"resolve_user", "GET", "/v2/user/resolve/{client_user_id}"},
    {"get_user", "GET", "/v2/user/{user_id}"},
    {"list_lab_tests", "GET", "/v3/lab_tests"},
    {"create_order", "POST", "/v3/order"},
    {"area_info", "GET", "/v3/order/area/info"},
    {"psc_info", "GET", "/v3/order/psc/info"},
    {"psc_availability", "POST", "/v3/order/psc/appointment/availability"},
    {"psc_cancellation_reasons", "GET", "/v3/order/psc/appointment/cancellation-reasons"},
    {"availability", "POST", "/v3/order/phlebotomy/appointment/availability"},
    {"cancellation_reasons", "GET", "/v3/order/phlebotomy/appointment/cancellation-reasons"},
    {"get_order", "GET", "/v3/order/{order_id}"},
    {"cancel_order", "POST", "/v3/order/{order_id}/cancel"},
    {"get_result", "GET", "/v3/order/{order_id}/result"},
    {"get_result_metadata", "GET", "/v3/order/{order_id}/result/metadata"},
    {"get_result_pdf", "GET", "/v3/order/{order_id}/result/pdf"},
    {"book_appointment", "POST", "/v3/order/{order_id}/phlebotomy/appointment/book"},
    {"get_appointment", "GET", "/v3/order/{order_id}/phlebotomy/appointment"},
    {"reschedule_appointment", "PATCH", "/v3/order/{order_id}/phlebotomy/appointment/reschedule"},
    {"cancel_appointment", "PATCH", "/v3/order/{order_id}/phlebotomy/appointment/cancel"},
    {"psc_book_appointment", "POST", "/v3/order/{order_id}/psc/appointment/book"},
    {"psc_get_appointment", "GET", "/v3/order/{order_id}/psc/appointment"},
    {"psc_reschedule_appointment", "PATCH", "/v3/order/{order_id}/psc/appointment/reschedule"},
    {"psc_cancel_appointment", "PATCH", "/v3/order/{order_id}/psc/appointment/cancel"},
};

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> segments;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    segments.push_back(path.substr(pos, end - pos));
    pos = end;
  }
  return segments;
}

// Matches a concrete path against a template; fills the {name} parameters (URL-decoded).
bool MatchPath(const std::string& path_template, const std::vector<std::string>& segments,
               std::map<std::string, std::string>* params) {
  std::vector<std::string> parts = SplitPath(path_template);
  if (parts.size() != segments.size()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].front() == '{') {
      std::string decoded;
      Poco::URI::decode(segments[i], decoded);
      found[parts[i].substr(1, parts[i].size() - 2)] = decoded;
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  *params = std::move(found);
  return true;
}

}  // namespace

// The bytes of an answer's JSON body.
std::string BodyText(const json& body) {
  // Bodies may echo bytes a client sent; invalid UTF-8 must not make the answer fail.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void SendJson(HTTPServerResponse& response, const SimResponse& answer) {
  auto status = Poco::Net::HTTPResponse::HTTPStatus(answer.status);
  response.setStatusAndReason(status, Poco::Net::HTTPResponse::getReasonForStatus(status));
  for (const auto& [name, value] : answer.headers) response.set(name, value);
  if (answer.raw_body) {
    if (!answer.headers.count("Content-Type")) response.setContentType("application/octet-stream");
    response.setContentLength(std::streamsize(answer.raw_body->size()));
    response.send() << *answer.raw_body;
    return;
  }
  std::string body = BodyText(answer.body);
  response.setContentType("application/json");
  response.setContentLength(std::streamsize(body.size()));
  response.send() << body;
}

namespace {

// The request body, up to kMaxBodyBytes (false beyond). A request with neither Content-Length
// nor chunked encoding has no body (RFC 9112), though POCO would read to the end of the stream.
bool ReadBody(HTTPServerRequest& request, std::string* body) {
  if (!request.hasContentLength() && !request.getChunkedTransferEncoding()) return true;
  if (request.hasContentLength() && request.getContentLength() > std::streamsize(kMaxBodyBytes)) {
    return false;
  }
  char buffer[8192];
  std::istream& in = request.stream();
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    body->append(buffer, std::size_t(in.gcount()));
    if (body->size() > kMaxBodyBytes) return false;
  }
  return true;
}

}  // namespace

bool ReadBodyOrRefuse(HTTPServerRequest& request, HTTPServerResponse& response, std::string* body) {
  if (ReadBody(request, body)) return true;
  response.setKeepAlive(false);  // the rest of the body is still on the wire
  SendJson(response, DetailResponse(413, "Request Entity Too Large"));
  return false;
}

namespace {

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(SimServer::Impl& impl) : impl_(impl) {}
  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    impl_.Handle(request, response);
  }

 private:
  SimServer::Impl& impl_;
};

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(SimServer::Impl& impl) : impl_(impl) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(impl_);
  }

 private:
  SimServer::Impl& impl_;
};

}  // namespace

bool SimServer::Impl::Wait(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex);
  std::uint64_t generation = reset_generation;
  return !interrupted.wait_for(lock, delay,
                               [&] { return stopping || reset_generation != generation; });
}

void SimServer::Impl::Tick() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    lock.unlock();
    std::optional<World::TimePoint> next = world.Tick();
    lock.lock();
    // The world's time runs ahead of the system clock by the clock's offset.
    auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(1);
    if (next) deadline = std::min(deadline, *next - clock.Offset());
    wake.wait_until(lock, deadline);
  }
}

void SimServer::Impl::Handle(HTTPServerRequest& request, HTTPServerResponse& response) {
  try {
    Poco::URI uri(request.getURI());
    std::vector<std::string> segments = SplitPath(uri.getPath());
    if (!segments.empty() && segments[0] == "_sim") {
      HandleAdmin(segments, request, response);
      return;
    }
    std::string allowed;
    for (const Route& route : kRoutes) {
      std::map<std::string, std::string> params;
      if (!MatchPath(route.path, segments, &params)) continue;
      if (request.getMethod() != route.method) {
        allowed += std::string(allowed.empty() ? "" : ", ") + route.method;
        continue;
      }
      HandleJunction(route, params, request, response);
      return;
    }
    if (allowed.empty()) {
      SendJson(response, DetailResponse(404, "Not Found"));
    } else {
      SimResponse refused = DetailResponse(405, "Method Not Allowed");
      refused.headers["Allow"] = allowed;
      SendJson(response, refused);
    }
  } catch (const std::exception& e) {
    // The path only: a query may hold a patient's ZIP code.
    spdlog::error("junction-sim: unhandled error on {} {}: {}", request.getMethod(),
                  Poco::URI(request.getURI()).getPath(), e.what());
    if (!response.sent()) SendJson(response, DetailResponse(500, "Internal Server Error"));
  }
}

SimServer::SimServer(SimOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

SimServer::~SimServer() { Stop(); }

void SimServer::Start() {
  Impl& impl = *impl_;
  if (impl.options.record_file && !impl.options.upstream_url) {
    throw std::invalid_argument("--record needs --upstream: it records what the upstream answers");
  }
  if (impl.options.upstream_url) {
    if (impl.options.script) {
      throw std::invalid_argument("--script does not apply with --upstream");
    }
    impl.upstream =
        std::make_unique<Upstream>(*impl.options.upstream_url, impl.options.upstream_ca_file);
    if (impl.options.record_file) {
      impl.recorder = std::make_unique<Recorder>(
          RecordingName(impl.upstream->display_url(), std::chrono::system_clock::now()),
          *impl.options.record_file);
      impl.recorder->Flush();  // an empty recording at once: a path that cannot be written fails
    }
  }
  if (impl.options.script) impl.world.LoadScript(*impl.options.script);
  // The sender always exists, idle until it has a target: from the flags, or later from
  // POST /_sim/webhooks/config (tests start the simulator before the service it calls back).
  impl.webhooks = std::make_unique<WebhookSender>(impl.real_clock);
  if (impl.options.webhook_url || impl.options.webhook_secret) {
    if (!impl.options.webhook_url || !impl.options.webhook_secret) {
      throw std::invalid_argument("--webhook-url and --webhook-secret go together");
    }
    impl.webhooks->SetTarget(*impl.options.webhook_url, *impl.options.webhook_secret);
  }
  impl.world.SetEventSink(
      [&impl](const json& event, int deliveries) { impl.webhooks->Enqueue(event, deliveries); },
      [&impl] { return impl.webhooks->HasTarget(); });
  Poco::Net::ServerSocket socket;
  if (impl.options.tls_cert_file || impl.options.tls_key_file) {
    if (!impl.options.tls_cert_file || !impl.options.tls_key_file) {
      throw std::invalid_argument("--tls-cert and --tls-key go together");
    }
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, *impl.options.tls_key_file,
                               *impl.options.tls_cert_file, "", Poco::Net::Context::VERIFY_NONE);
    socket = Poco::Net::SecureServerSocket(context);
  }
  ListenExclusively(socket, impl.options.listen_host, impl.options.listen_port, 1024);
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(impl.options.max_threads);
  params->setMaxQueued(impl.options.max_threads);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(30, 0));
  params->setMaxKeepAliveRequests(0);
  params->setTimeout(Poco::Timespan(120, 0));
  impl.pool = std::make_unique<Poco::ThreadPool>(4, impl.options.max_threads, 60, 1024 * 1024);
  impl.server =
      std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(impl), *impl.pool, socket, params);
  impl.server->start();
  impl.ticker = std::thread([&impl] { impl.Tick(); });
}

void SimServer::Stop() {
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.mutex);
    if (impl.stopping) return;
    impl.stopping = true;
  }
  impl.wake.notify_all();
  impl.interrupted.notify_all();
  if (impl.server) impl.server->stopAll(true);
  if (impl.ticker.joinable()) impl.ticker.join();
  if (impl.pool) impl.pool->joinAll();
  impl.webhooks.reset();
  if (impl.recorder) impl.FlushRecording();  // every answer was written already; once more
}

unsigned short SimServer::port() const { return impl_->server->port(); }

}  // namespace lab_orders::sim
