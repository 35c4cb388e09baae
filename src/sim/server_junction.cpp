// Answering a Junction call: logging it, checking the API key and the request against Junction's
// OpenAPI spec, the script's faults and delays, idempotent order creation, the world's answer,
// or, with --upstream, forwarding it to a real Junction and recording the answer.

#include <Poco/Exception.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lab_orders/common/json_depth.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/recorder.h"
#include "lab_orders/sim/script.h"
#include "lab_orders/sim/upstream.h"
#include "lab_orders/sim/world.h"
#include "sim/server_impl.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// The call log keeps the most recent calls only, so a long benchmark run cannot exhaust memory.
constexpr std::size_t kMaxLoggedCalls = 20000;
constexpr int kMaxLoggedDepth = 32;

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

// application/json or application/*+json, parameters (charset) allowed: what Junction reads as
// JSON. Junction reads a body without a Content-Type as JSON too.
bool IsJsonMediaType(const std::string& content_type) {
  const std::string media =
      Poco::toLower(Poco::trim(content_type.substr(0, content_type.find(';'))));
  return media == "application/json" ||
         (media.starts_with("application/") && media.ends_with("+json"));
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

std::optional<SimResponse> SimServer::Impl::ValidateRequest(
    const Route& route, const std::map<std::string, std::string>& params,
    const Poco::Net::HTMLForm& query, const Poco::Net::NameValueCollection& headers,
    const std::string& raw_body, json* body) {
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
    if (in == "header" && headers.has(name)) value = headers.get(name);  // any case, as HTTP
    if (in != "path" && in != "query" && in != "header") continue;
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
    const std::string content_type = headers.get("Content-Type", "");
    if (raw_body.empty()) {
      violations.push_back({json::array({"body"}), "Field required", "missing"});
    } else if (!content_type.empty() && !IsJsonMediaType(content_type)) {
      // As Junction (FastAPI) does: a body of another type is not read as JSON, so it is bytes
      // where an object is wanted.
      violations.push_back({json::array({"body"}),
                            "Input should be a valid dictionary or object to extract fields from",
                            "model_attributes_type"});
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
  if (!ReadBodyOrRefuse(request, response, &raw_body)) return;
  Poco::URI uri(request.getURI());
  Poco::Net::HTMLForm query;
  query.read(uri.getRawQuery());
  std::optional<std::string> idempotency_key;
  if (request.has("X-Idempotency-Key")) idempotency_key = request.get("X-Idempotency-Key");

  int sequence = 0;
  int call_number = 0;
  int connection_id = ConnectionId(request);
  bool tell_waiters = false;
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
    tell_waiters = received_waiters > 0;
    sequence = ++calls_logged;
    call_number = ++script_calls[route.operation];
    ++stats_calls[route.operation];
    calls.push_back(CallRecord{sequence, route.operation, route.method, uri.getPath(),
                               uri.getRawQuery(), std::move(logged_body), idempotency_key,
                               connection_id, nullptr});
    if (calls.size() > kMaxLoggedCalls) calls.pop_front();
  }
  if (tell_waiters) wake.notify_all();  // GET /_sim/calls?wait_received=
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
  if (auto invalid = ValidateRequest(route, params, query, request, raw_body, &body)) {
    answer(*invalid);
    return;
  }
  if (upstream) {
    Forward(route, request, response, raw_body, sequence);
    return;
  }

  SimResponse reply;
  // Junction keeps answers by key for an order's creation and a service center's booking; a
  // booking's key is the order's own.
  const std::string operation = route.operation;
  bool idempotent =
      (operation == "create_order" || operation == "psc_book_appointment") && idempotency_key;
  std::string stored_key;
  if (idempotent) {
    stored_key = operation == "create_order"
                     ? *idempotency_key
                     : "psc_book|" + params.at("order_id") + "|" + *idempotency_key;
  }
  bool replayed = false;
  if (idempotent) {
    if (auto stored = world.BeginIdempotent(stored_key)) {
      reply = *stored;  // a replay, or a 409 while the first request runs
      replayed = true;
    }
  }
  if (!replayed) {
    try {
      reply = Dispatch(route, params, query, body, request, call_number);
    } catch (...) {
      if (idempotent) world.AbandonIdempotent(stored_key);
      throw;
    }
    if (idempotent) {
      bool cache_errors = request.get("X-Idempotency-Error", "") != "no-cache";
      world.FinishIdempotent(stored_key, reply, cache_errors);
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
  if (operation == "get_result") return world.GetResult(param("order_id"));
  if (operation == "get_result_metadata") return world.GetResultMetadata(param("order_id"));
  if (operation == "get_result_pdf") return world.GetResultPdf(param("order_id"));
  if (operation == "area_info") return world.AreaInfo(query.get("zip_code"));
  if (operation == "psc_info") {
    // Both are checked against the spec first: an integer, and one of the allowed radii.
    return world.ServiceCenters(query.get("zip_code"), std::stoi(query.get("lab_id")),
                                std::stoi(query.get("radius", "25")));
  }
  if (operation == "availability") {
    std::optional<std::string> start_date;
    if (query.has("start_date")) start_date = query.get("start_date");
    return world.Availability(body, start_date);
  }
  if (operation == "psc_availability") {
    std::vector<std::string> site_codes;
    for (const auto& [name, value] : query) {
      if (name == "site_codes") site_codes.push_back(value);
    }
    std::optional<std::string> zip_code, start_date;
    if (query.has("zip_code")) zip_code = query.get("zip_code");
    if (query.has("start_date")) start_date = query.get("start_date");
    return world.ServiceCenterAvailability(query.get("lab"), site_codes, zip_code,
                                           std::stoi(query.get("radius", "25")), start_date);
  }
  // A home visit's appointment calls, and a service center's, alike but for the venue.
  const bool at_site = operation.rfind("psc_", 0) == 0;
  const Venue venue = at_site ? Venue::kServiceCenter : Venue::kHome;
  const std::string appointment_call = at_site ? operation.substr(4) : operation;
  if (appointment_call == "book_appointment") {
    auto plan = world.PlanBooking(param("order_id"), body, call_number, venue);
    if (auto* refused = std::get_if<SimResponse>(&plan)) return *refused;
    const BookingPlan& booking = std::get<BookingPlan>(plan);
    if (booking.wait_ms > 0 && !Wait(std::chrono::milliseconds(booking.wait_ms))) {
      return DetailResponse(503, "Service Unavailable");
    }
    return world.CommitBooking(param("order_id"), body, booking, venue);
  }
  if (appointment_call == "get_appointment") return world.GetAppointment(param("order_id"), venue);
  if (appointment_call == "reschedule_appointment") {
    return world.RescheduleAppointment(param("order_id"), body, venue);
  }
  if (appointment_call == "cancel_appointment") {
    return world.CancelAppointment(param("order_id"), body, venue);
  }
  if (appointment_call == "cancellation_reasons") return world.CancellationReasons(venue);
  return DetailResponse(404, "Not Found");
}

}  // namespace lab_orders::sim
