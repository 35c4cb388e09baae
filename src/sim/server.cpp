#include "lab_orders/sim/server.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "lab_orders/common/ids.h"
#include "lab_orders/common/json_depth.h"
#include "lab_orders/common/listen.h"
#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/recorder.h"
#include "lab_orders/sim/sim_clock.h"
#include "lab_orders/sim/upstream.h"
#include "lab_orders/sim/webhook_sender.h"
#include "lab_orders/sim/world.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr std::size_t kMaxBodyBytes = 1 << 20;
// The call log keeps the most recent calls only, so a long benchmark run cannot exhaust memory.
constexpr std::size_t kMaxLoggedCalls = 20000;
constexpr int kMaxLoggedDepth = 32;

struct Route {
  const char* operation;
  const char* method;
  const char* path;  // the spec's path template
};

// Literal paths before templated ones that could also match them.
const Route kRoutes[] = {
    {"create_user", "POST", "/v2/user"},
    {"resolve_user", "GET", "/v2/user/resolve/{client_user_id}"},
    {"get_user", "GET", "/v2/user/{user_id}"},
    {"list_lab_tests", "GET", "/v3/lab_tests"},
    {"create_order", "POST", "/v3/order"},
    {"area_info", "GET", "/v3/order/area/info"},
    {"availability", "POST", "/v3/order/phlebotomy/appointment/availability"},
    {"cancellation_reasons", "GET", "/v3/order/phlebotomy/appointment/cancellation-reasons"},
    {"get_order", "GET", "/v3/order/{order_id}"},
    {"cancel_order", "POST", "/v3/order/{order_id}/cancel"},
    {"book_appointment", "POST", "/v3/order/{order_id}/phlebotomy/appointment/book"},
    {"get_appointment", "GET", "/v3/order/{order_id}/phlebotomy/appointment"},
    {"reschedule_appointment", "PATCH", "/v3/order/{order_id}/phlebotomy/appointment/reschedule"},
    {"cancel_appointment", "PATCH", "/v3/order/{order_id}/phlebotomy/appointment/cancel"},
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

// The subschema to check a parameter value against, when it is a plain string.
const json* StringSchemaOf(const json& schema) {
  if (schema.value("type", "") == "string") return &schema;
  if (schema.contains("anyOf")) {
    for (const json& branch : schema["anyOf"]) {
      if (branch.value("type", "") == "string") return &branch;
    }
  }
  return nullptr;
}

struct CallRecord {
  int sequence;
  std::string operation;
  std::string method;
  std::string path;
  std::string query;
  json body;
  std::optional<std::string> idempotency_key;
  int connection_id;
  json outcome;          // the status sent, or the fault's name
  bool handled = false;  // the simulated team acted on it (whatever was answered)
};

}  // namespace

struct SimServer::Impl {
  explicit Impl(SimOptions options)
      : options(std::move(options)),
        world(clock, ids, this->options.served_zips),
        validator(json::parse(JunctionSpecText())) {}

  SimOptions options;
  SimClock clock;
  SystemClock real_clock;  // webhook timestamps: receivers check them against their own time
  RandomIdGenerator ids;
  World world;
  OpenApiValidator validator;
  std::unique_ptr<WebhookSender> webhooks;
  std::unique_ptr<Upstream> upstream;  // --upstream: Junction calls are forwarded there
  std::unique_ptr<Recorder> recorder;  // --record: the answers, kept as a script
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::thread ticker;

  // Guards everything below.
  std::mutex mutex;
  std::condition_variable wake;  // the ticker and /_sim/calls?wait: told of every call handled
  // Wait(): told only of a reset or a stop. On `wake` every call handled woke every call sleeping
  // out its latency, a thousand at a time under load.
  std::condition_variable interrupted;
  bool stopping = false;
  std::uint64_t reset_generation = 0;
  std::deque<CallRecord> calls;
  int calls_logged = 0;
  std::map<std::string, int> script_calls;  // per operation, since the script was loaded
  std::map<std::string, int> stats_calls;   // per operation, since the last reset
  int connections_seen = 0;
  int connections_at_reset = 0;

  void Tick();
  bool Wait(std::chrono::milliseconds delay);
  void Handle(HTTPServerRequest& request, HTTPServerResponse& response);
  void HandleJunction(const Route& route, const std::map<std::string, std::string>& params,
                      HTTPServerRequest& request, HTTPServerResponse& response);
  void HandleAdmin(const std::vector<std::string>& segments, HTTPServerRequest& request,
                   HTTPServerResponse& response);
  SimResponse Dispatch(const Route& route, const std::map<std::string, std::string>& params,
                       const Poco::Net::HTMLForm& query, const json& body,
                       HTTPServerRequest& request, int call_number);
  std::optional<SimResponse> ValidateRequest(const Route& route,
                                             const std::map<std::string, std::string>& params,
                                             const Poco::Net::HTMLForm& query,
                                             const std::string& raw_body, json* body);
  int ConnectionId(HTTPServerRequest& request);
  void SendTrickle(HTTPServerRequest& request, int interval_ms);
  CallRecord* FindCallLocked(int sequence);  // null once dropped or cleared
  void Record(int sequence, const json& outcome);
  void MarkHandled(int sequence);
  // --upstream: sends the call on and answers what the upstream answered (502 without one).
  void Forward(const Route& route, HTTPServerRequest& request, HTTPServerResponse& response,
               const std::string& raw_body, int sequence);
  // --record: keeps an answer and rewrites the recording.
  void KeepAnswer(const std::string& operation, int status, const std::string& body,
                  const std::map<std::string, std::string>& headers);
  void FlushRecording();
  SimResponse RecordingAnswer(bool flush);
  json CallsJson(const std::string& operation_filter);
  // POST /_sim/webhooks/config: {"url": "http...", "secret": "whsec_..."}, or {"url": null}.
  SimResponse ConfigureWebhooks(const json& body);
  SimResponse WebhookConfigAnswer() const;
  void Reset();
};

namespace {

// The bytes of an answer's JSON body.
std::string BodyText(const json& body) {
  // Bodies may echo bytes a client sent; invalid UTF-8 must not make the answer fail.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void SendJson(HTTPServerResponse& response, const SimResponse& answer) {
  auto status = Poco::Net::HTTPResponse::HTTPStatus(answer.status);
  response.setStatusAndReason(status, Poco::Net::HTTPResponse::getReasonForStatus(status));
  for (const auto& [name, value] : answer.headers) response.set(name, value);
  std::string body = BodyText(answer.body);
  response.setContentType("application/json");
  response.setContentLength(std::streamsize(body.size()));
  response.send() << body;
}

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

// Closes the connection under the HTTP server: with RST when abort, else with FIN.
void DropConnection(HTTPServerRequest& request, bool abort) {
  auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(request);
  Poco::Net::StreamSocket socket = impl.detachSocket();
  try {
    if (abort) {
      socket.setLinger(true, 0);
    } else {
      socket.shutdown();
    }
    socket.close();
  } catch (const Poco::Exception&) {
    // The peer may already be gone; the connection is closed either way.
  }
}

void SendTruncated(HTTPServerRequest& request) {
  auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(request);
  Poco::Net::StreamSocket socket = impl.detachSocket();
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n"
      "{\"id\": \"3f1c0a52-";
  try {
    socket.sendBytes(head.data(), int(head.size()));
    socket.shutdown();
    socket.close();
  } catch (const Poco::Exception&) {
  }
}

}  // namespace

// A well-formed 200 whose body arrives one byte at a time: a Junction that stalls mid-answer.
void SimServer::Impl::SendTrickle(HTTPServerRequest& request, int interval_ms) {
  auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(request);
  Poco::Net::StreamSocket socket = impl.detachSocket();
  const std::string body = "{\"detail\": \"trickled\"}";
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n";
  try {
    socket.sendBytes(head.data(), int(head.size()));
    for (char byte : body) {
      if (!Wait(std::chrono::milliseconds(interval_ms))) break;
      socket.sendBytes(&byte, 1);
    }
    socket.shutdown();
    socket.close();
  } catch (const Poco::Exception&) {
    // The client gave up and closed first.
  }
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

int SimServer::Impl::ConnectionId(HTTPServerRequest& request) {
  // POCO serves a connection on one thread from start to end, through one session object: the
  // thread remembers which connection it serves, so nothing grows with the connection count.
  struct Serving {
    const void* server = nullptr;
    const void* session = nullptr;
    std::string peer;
    int id = 0;
  };
  thread_local Serving serving;
  auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(request);
  std::string peer = request.clientAddress().toString();
  if (serving.server != this || serving.session != &impl.session() || serving.peer != peer) {
    std::lock_guard lock(mutex);
    serving = Serving{this, &impl.session(), peer, ++connections_seen};
  }
  return serving.id;
}

CallRecord* SimServer::Impl::FindCallLocked(int sequence) {
  // Sequences are consecutive in `calls` (appended in order, dropped from the front, cleared
  // whole): a call's place is its distance from the first.
  if (calls.empty() || sequence < calls.front().sequence) return nullptr;
  auto at = std::size_t(sequence - calls.front().sequence);
  return at < calls.size() && calls[at].sequence == sequence ? &calls[at] : nullptr;
}

void SimServer::Impl::Record(int sequence, const json& outcome) {
  std::lock_guard lock(mutex);
  if (CallRecord* call = FindCallLocked(sequence)) call->outcome = outcome;
}

void SimServer::Impl::MarkHandled(int sequence) {
  std::lock_guard lock(mutex);
  if (CallRecord* call = FindCallLocked(sequence)) call->handled = true;
  wake.notify_all();  // the ticker may have a new due transition; waiters on handled calls
}

void SimServer::Impl::Forward(const Route& route, HTTPServerRequest& request,
                              HTTPServerResponse& response, const std::string& raw_body,
                              int sequence) {
  UpstreamRequest forwarded;
  forwarded.method = request.getMethod();
  // The path and query as the caller sent them, not re-encoded (an absolute-form request
  // target is cut to its path and query).
  forwarded.path_and_query = request.getURI();
  if (forwarded.path_and_query.empty() || forwarded.path_and_query.front() != '/') {
    forwarded.path_and_query = Poco::URI(request.getURI()).getPathAndQuery();
  }
  for (const char* name :
       {"x-vital-api-key", "Content-Type", "X-Idempotency-Key", "X-Idempotency-Error"}) {
    if (request.has(name)) forwarded.headers[name] = request.get(name);
  }
  forwarded.body = raw_body;

  auto result = upstream->Forward(forwarded);
  if (auto* failure = std::get_if<UpstreamFailure>(&result)) {
    // The path only: a query may hold a patient's ZIP code. Nothing is recorded.
    spdlog::warn("junction-sim: {} {} not answered by the upstream: {}", forwarded.method,
                 Poco::URI(request.getURI()).getPath(), failure->what);
    SendJson(response, DetailResponse(502, failure->reached ? "upstream gave no answer"
                                                            : "upstream unreachable"));
    Record(sequence, 502);
    return;
  }
  const UpstreamAnswer& reply = std::get<UpstreamAnswer>(result);
  MarkHandled(sequence);
  if (recorder) KeepAnswer(route.operation, reply.status, reply.body, reply.headers);
  auto status = Poco::Net::HTTPResponse::HTTPStatus(reply.status);
  response.setStatusAndReason(status, Poco::Net::HTTPResponse::getReasonForStatus(status));
  for (const auto& [name, value] : reply.headers) response.set(name, value);
  response.setContentLength(std::streamsize(reply.body.size()));
  response.send() << reply.body;
  Record(sequence, reply.status);
}

void SimServer::Impl::KeepAnswer(const std::string& operation, int status, const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
  recorder->Add(operation, status, body, headers);
  FlushRecording();  // before the caller has the answer: an answer seen is an answer kept
}

void SimServer::Impl::FlushRecording() {
  try {
    recorder->Flush();
  } catch (const std::exception& e) {
    spdlog::error("junction-sim: the recording was not written: {}", e.what());
  }
}

SimResponse SimServer::Impl::RecordingAnswer(bool flush) {
  if (!recorder) {
    return DetailResponse(409,
                          "Not recording: start junction-sim with --upstream URL --record "
                          "FILE.");
  }
  if (flush) {
    try {
      recorder->Flush();
    } catch (const std::exception& e) {
      return DetailResponse(500, e.what());
    }
  }
  json answer = {{"file", recorder->path()}, {"calls", recorder->calls()}};
  if (!flush) answer["script"] = recorder->ToScript();
  return {200, std::move(answer), {}};
}

void SimServer::Impl::Reset() {
  world.Reset();
  if (options.script) world.LoadScript(*options.script);
  clock.ResetOffset();
  if (webhooks) webhooks->Clear();
  std::lock_guard lock(mutex);
  ++reset_generation;
  calls.clear();
  script_calls.clear();
  stats_calls.clear();
  connections_at_reset = server ? server->totalConnections() : 0;
  wake.notify_all();
  interrupted.notify_all();
}

json SimServer::Impl::CallsJson(const std::string& operation_filter) {
  std::lock_guard lock(mutex);
  json out = json::array();
  for (const CallRecord& call : calls) {
    if (!operation_filter.empty() && call.operation != operation_filter) continue;
    out.push_back(
        {{"sequence", call.sequence},
         {"operation", call.operation},
         {"method", call.method},
         {"path", call.path},
         {"query", call.query},
         {"body", call.body},
         {"idempotency_key", call.idempotency_key ? json(*call.idempotency_key) : json(nullptr)},
         {"connection_id", call.connection_id},
         {"handled", call.handled},
         {"outcome", call.outcome}});
  }
  return out;
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

std::optional<SimResponse> SimServer::Impl::ValidateRequest(
    const Route& route, const std::map<std::string, std::string>& params,
    const Poco::Net::HTMLForm& query, const std::string& raw_body, json* body) {
  std::vector<SchemaViolation> violations;
  const json& operation =
      validator.spec()["paths"][route.path][Poco::toLower(std::string(route.method))];
  // Read in place: the operation's parameters are walked on every call.
  static const json kNoParameters = json::array();
  auto listed = operation.find("parameters");
  const json& parameters =
      listed != operation.end() && listed->is_array() ? *listed : kNoParameters;
  for (const json& parameter : parameters) {
    std::string in = parameter.value("in", "");
    std::string name = parameter.value("name", "");
    std::optional<std::string> value;
    if (in == "path" && params.count(name)) value = params.at(name);
    if (in == "query" && query.has(name)) value = query.get(name);
    if (in != "path" && in != "query") continue;
    if (!value) {
      if (parameter.value("required", false)) {
        violations.push_back({json::array({in, name}), "Field required", "missing"});
      }
      continue;
    }
    if (!parameter.contains("schema")) continue;
    if (const json* schema = StringSchemaOf(parameter["schema"])) {
      auto found = validator.Validate(*schema, *value, json::array({in, name}));
      violations.insert(violations.end(), found.begin(), found.end());
    }
  }
  if (const json* schema = validator.RequestBodySchema(route.method, route.path)) {
    if (raw_body.empty()) {
      violations.push_back({json::array({"body"}), "Field required", "missing"});
    } else {
      try {
        *body = json::parse(raw_body);
        auto found = validator.Validate(*schema, *body, json::array({"body"}));
        violations.insert(violations.end(), found.begin(), found.end());
      } catch (const json::parse_error& e) {
        violations.push_back(
            {json::array({"body", int(e.byte)}), "JSON decode error", "json_invalid"});
      }
    }
  }
  if (violations.empty()) return std::nullopt;
  json detail = json::array();
  for (const SchemaViolation& violation : violations) detail.push_back(violation.ToJson());
  return SimResponse{422, json{{"detail", detail}}, {}};
}

void SimServer::Impl::HandleJunction(const Route& route,
                                     const std::map<std::string, std::string>& params,
                                     HTTPServerRequest& request, HTTPServerResponse& response) {
  std::string raw_body;
  if (!ReadBody(request, &raw_body)) {
    response.setKeepAlive(false);  // the rest of the body is still on the wire
    SendJson(response, DetailResponse(413, "Request Entity Too Large"));
    return;
  }
  Poco::URI uri(request.getURI());
  Poco::Net::HTMLForm query;
  query.read(uri.getRawQuery());
  std::optional<std::string> idempotency_key;
  if (request.has("X-Idempotency-Key")) idempotency_key = request.get("X-Idempotency-Key");

  int sequence = 0;
  int call_number = 0;
  int connection_id = ConnectionId(request);
  {
    json logged_body = nullptr;
    if (!raw_body.empty()) {
      // Copying and printing JSON recurses: a deeply nested body is kept as text.
      if (JsonNestingDepth(raw_body) <= kMaxLoggedDepth) {
        logged_body = json::parse(raw_body, nullptr, false);
      }
      if (logged_body.is_null() || logged_body.is_discarded()) logged_body = raw_body;
    }
    std::lock_guard lock(mutex);
    sequence = ++calls_logged;
    call_number = ++script_calls[route.operation];
    ++stats_calls[route.operation];
    calls.push_back(CallRecord{sequence, route.operation, route.method, uri.getPath(),
                               uri.getRawQuery(), std::move(logged_body), idempotency_key,
                               connection_id, nullptr});
    if (calls.size() > kMaxLoggedCalls) calls.pop_front();
  }
  auto answer = [&](const SimResponse& reply) {
    // While recording, the simulator's own answers (401, 422) are kept too: a replay numbers
    // every call, so each needs its answer.
    if (recorder) KeepAnswer(route.operation, reply.status, BodyText(reply.body), reply.headers);
    SendJson(response, reply);
    Record(sequence, reply.status);
  };

  std::string api_key = request.get("x-vital-api-key", "");
  if (api_key.empty() || (options.api_key && api_key != *options.api_key)) {
    answer(DetailResponse(
        401, api_key.empty() ? "Missing x-vital-api-key header." : "Invalid API key."));
    return;
  }
  // A wait cut short by a reset or a stop ends the call: the connection is closed unanswered.
  auto interrupted = [&] {
    DropConnection(request, false);
    Record(sequence, "interrupted");
  };
  if (options.latency_ms > 0 && !Wait(std::chrono::milliseconds(options.latency_ms))) {
    interrupted();
    return;
  }

  std::shared_ptr<const Script> script = world.CurrentScript();
  const CallRule* rule = script->RuleFor(route.operation, call_number);
  auto apply_rule = [&](const CallRule& scripted) {
    switch (scripted.fault) {
      case Fault::kNone: {
        SimResponse reply{*scripted.status, scripted.body.value_or(json(nullptr)),
                          scripted.headers};
        if (scripted.raw_body) {
          auto status = Poco::Net::HTTPResponse::HTTPStatus(reply.status);
          response.setStatusAndReason(status, Poco::Net::HTTPResponse::getReasonForStatus(status));
          for (const auto& [name, value] : reply.headers) response.set(name, value);
          response.setContentType("application/json");
          response.setContentLength(std::streamsize(scripted.raw_body->size()));
          response.send() << *scripted.raw_body;
          Record(sequence, reply.status);
        } else {
          answer(reply);
        }
        return;
      }
      case Fault::kRateLimited:
      case Fault::kUnavailable: {
        bool limited = scripted.fault == Fault::kRateLimited;
        SimResponse reply = DetailResponse(limited ? 429 : 503,
                                           limited ? "Too Many Requests" : "Service Unavailable");
        reply.headers["Retry-After"] = std::to_string(scripted.retry_after_seconds);
        answer(reply);
        return;
      }
      case Fault::kMalformedJson: {
        std::string garbage = "{\"detail\": <html>upstream proxy error";
        response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
        response.setContentType("application/json");
        response.setContentLength(std::streamsize(garbage.size()));
        response.send() << garbage;
        break;
      }
      case Fault::kTruncatedBody:
        SendTruncated(request);
        break;
      case Fault::kTrickle:
        SendTrickle(request, scripted.trickle_ms);
        break;
      case Fault::kHang:
        if (!Wait(std::chrono::milliseconds(scripted.hang_ms))) {
          // Stopped or reset while hanging: just drop the connection.
        }
        DropConnection(request, false);
        break;
      case Fault::kReset:
        DropConnection(request, true);
        break;
      case Fault::kClose:
        DropConnection(request, false);
        break;
    }
    Record(sequence, FaultName(scripted.fault));
  };

  if (rule && rule->delay_ms > 0 && !Wait(std::chrono::milliseconds(rule->delay_ms))) {
    interrupted();
    return;
  }
  if (rule && rule->ReplacesAnswer() && !rule->after) {
    apply_rule(*rule);
    return;
  }

  json body;
  if (auto invalid = ValidateRequest(route, params, query, raw_body, &body)) {
    answer(*invalid);
    return;
  }
  if (upstream) {
    Forward(route, request, response, raw_body, sequence);
    return;
  }

  SimResponse reply;
  bool idempotent = route.operation == std::string("create_order") && idempotency_key;
  bool replayed = false;
  if (idempotent) {
    if (auto stored = world.BeginIdempotent(*idempotency_key)) {
      reply = *stored;  // a replay, or a 409 while the first request runs
      replayed = true;
    }
  }
  if (!replayed) {
    try {
      reply = Dispatch(route, params, query, body, request, call_number);
    } catch (...) {
      if (idempotent) world.AbandonIdempotent(*idempotency_key);
      throw;
    }
    if (idempotent) {
      bool cache_errors = request.get("X-Idempotency-Error", "") != "no-cache";
      world.FinishIdempotent(*idempotency_key, reply, cache_errors);
    }
  }
  MarkHandled(sequence);
  if (rule && rule->ReplacesAnswer()) {
    apply_rule(*rule);  // handled for real, but the answer is lost or replaced
    return;
  }
  answer(reply);
}

SimResponse SimServer::Impl::Dispatch(const Route& route,
                                      const std::map<std::string, std::string>& params,
                                      const Poco::Net::HTMLForm& query, const json& body,
                                      HTTPServerRequest&, int call_number) {
  const std::string operation = route.operation;
  auto param = [&](const char* name) { return params.at(name); };
  if (operation == "create_user") return world.CreateUser(body);
  if (operation == "resolve_user") return world.ResolveUser(param("client_user_id"));
  if (operation == "get_user") return world.GetUser(param("user_id"));
  if (operation == "list_lab_tests") return world.ListLabTests();
  if (operation == "create_order") return world.CreateOrder(body);
  if (operation == "get_order") return world.GetOrder(param("order_id"));
  if (operation == "cancel_order") return world.CancelOrder(param("order_id"));
  if (operation == "area_info") return world.AreaInfo(query.get("zip_code"));
  if (operation == "availability") {
    std::optional<std::string> start_date;
    if (query.has("start_date")) start_date = query.get("start_date");
    return world.Availability(body, start_date);
  }
  if (operation == "book_appointment") {
    auto plan = world.PlanBooking(param("order_id"), body, call_number);
    if (auto* refused = std::get_if<SimResponse>(&plan)) return *refused;
    const BookingPlan& booking = std::get<BookingPlan>(plan);
    if (booking.wait_ms > 0 && !Wait(std::chrono::milliseconds(booking.wait_ms))) {
      return DetailResponse(503, "Service Unavailable");
    }
    return world.CommitBooking(param("order_id"), body, booking);
  }
  if (operation == "get_appointment") return world.GetAppointment(param("order_id"));
  if (operation == "reschedule_appointment") {
    return world.RescheduleAppointment(param("order_id"), body);
  }
  if (operation == "cancel_appointment") return world.CancelAppointment(param("order_id"), body);
  if (operation == "cancellation_reasons") return world.CancellationReasons();
  return DetailResponse(404, "Not Found");
}

SimResponse SimServer::Impl::WebhookConfigAnswer() const {
  std::optional<std::string> url = webhooks->TargetUrl();
  return {200, json{{"url", url ? json(*url) : json(nullptr)}}, {}};
}

SimResponse SimServer::Impl::ConfigureWebhooks(const json& body) {
  if (!body.is_object()) {
    return DetailResponse(400, "Give {\"url\": \"http://...\", \"secret\": \"whsec_...\"}.");
  }
  for (const auto& [name, value] : body.items()) {
    if (name != "url" && name != "secret") return DetailResponse(400, "Unknown field: " + name);
  }
  if (!body.contains("url")) {
    return DetailResponse(400, "url is required (null turns webhooks off).");
  }
  const json& url = body["url"];
  if (url.is_null()) {
    webhooks->ClearTarget();
    return WebhookConfigAnswer();
  }
  if (!url.is_string()) return DetailResponse(400, "url must be a string, or null.");
  if (!body.contains("secret") || !body["secret"].is_string()) {
    return DetailResponse(400, "secret is required: the whsec_... secret that signs webhooks.");
  }
  try {
    webhooks->SetTarget(url.get<std::string>(), body["secret"].get<std::string>());
  } catch (const std::invalid_argument& e) {
    return DetailResponse(400, e.what());  // names the problem, never quotes the secret
  }
  return WebhookConfigAnswer();
}

void SimServer::Impl::HandleAdmin(const std::vector<std::string>& segments,
                                  HTTPServerRequest& request, HTTPServerResponse& response) {
  std::string raw_body;
  if (!ReadBody(request, &raw_body)) {
    response.setKeepAlive(false);  // the rest of the body is still on the wire
    SendJson(response, DetailResponse(413, "Request Entity Too Large"));
    return;
  }
  json body = raw_body.empty() ? json::object() : json::parse(raw_body, nullptr, false);
  if (body.is_discarded()) {
    SendJson(response, DetailResponse(400, "The body is not valid JSON."));
    return;
  }
  const std::string& method = request.getMethod();
  std::string what = segments.size() > 1 ? segments[1] : "";
  Poco::URI uri(request.getURI());
  Poco::Net::HTMLForm query;
  query.read(uri.getRawQuery());

  if (what == "health" && method == "GET") {
    SendJson(response, {200, json{{"status", "ok"}}, {}});
  } else if (what == "calls" && method == "GET") {
    std::string operation = query.get("operation", "");
    if (query.has("wait_handled")) {
      // Long poll: answer once that many calls of the operation were acted on, or at timeout_ms.
      int wanted = std::atoi(query.get("wait_handled").c_str());
      int timeout_ms = std::clamp(std::atoi(query.get("timeout_ms", "10000").c_str()), 0, 60000);
      std::unique_lock lock(mutex);
      wake.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
        int handled = 0;
        for (const CallRecord& call : calls) {
          if (call.handled && (operation.empty() || call.operation == operation)) ++handled;
        }
        return stopping || handled >= wanted;
      });
    }
    SendJson(response, {200, json{{"calls", CallsJson(operation)}}, {}});
  } else if (what == "stats" && method == "GET") {
    json operations = json::object();
    int total = 0;
    int opened_before_reset = 0;
    {
      std::lock_guard lock(mutex);
      opened_before_reset = connections_at_reset;
      for (const auto& [name, count] : stats_calls) {
        operations[name] = count;
        total += count;
      }
    }
    SendJson(response,
             {200,
              json{{"connections_opened", server->totalConnections() - opened_before_reset},
                   {"connections_current", server->currentConnections()},
                   {"calls_total", total},
                   {"operations", operations}},
              {}});
  } else if (what == "script" && method == "POST" && upstream) {
    SendJson(response, DetailResponse(409,
                                      "Scripts do not apply while forwarding to an "
                                      "upstream Junction (--upstream)."));
  } else if (what == "script" && method == "POST") {
    try {
      Script script = ParseScript(body);
      world.LoadScript(std::move(script));
      std::lock_guard lock(mutex);
      script_calls.clear();
      SendJson(response, {200, json{{"loaded", true}}, {}});
    } catch (const std::exception& e) {
      SendJson(response, DetailResponse(400, e.what()));
    }
  } else if (what == "reset" && method == "POST") {
    Reset();
    SendJson(response, {200, json{{"reset", true}}, {}});
  } else if (what == "clock" && method == "POST") {
    constexpr long long kTenYears = 10LL * 366 * 86400;
    if (!body.contains("advance_seconds") || !body["advance_seconds"].is_number_integer() ||
        body["advance_seconds"].get<long long>() < 0 ||
        body["advance_seconds"].get<long long>() > kTenYears) {
      SendJson(response,
               DetailResponse(400, "Give {\"advance_seconds\": N} with N from 0 to ten years."));
      return;
    }
    clock.Advance(std::chrono::seconds(body["advance_seconds"].get<long long>()));
    world.Tick();
    SendJson(response, {200, json{{"now", FormatRfc3339(clock.Now())}}, {}});
  } else if (what == "webhooks" && segments.size() == 2 && method == "GET") {
    SendJson(response,
             {200, json{{"deliveries", webhooks ? webhooks->Deliveries() : json::array()}}, {}});
  } else if (what == "webhooks" && segments.size() == 3 && segments[2] == "config" &&
             (method == "GET" || method == "POST")) {
    SendJson(response, method == "GET" ? WebhookConfigAnswer() : ConfigureWebhooks(body));
  } else if (what == "record" && segments.size() == 2 && method == "GET") {
    SendJson(response, RecordingAnswer(false));
  } else if (what == "record" && segments.size() == 3 && segments[2] == "flush" &&
             method == "POST") {
    SendJson(response, RecordingAnswer(true));
  } else if (what == "orders" && segments.size() == 4 && segments[3] == "advance" &&
             method == "POST") {
    SendJson(response, world.AdvanceOrder(segments[2], body));
  } else {
    SendJson(response, DetailResponse(404, "Unknown simulator admin route."));
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
