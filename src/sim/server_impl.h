#pragma once

// What the simulator's server files share (server.cpp, server_junction.cpp, server_admin.cpp):
// SimServer::Impl, the server's state and the calls it answers; the routes and call records it
// names; and the helpers that read a request's body and send a JSON answer. Private to src/sim/.

#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/recorder.h"
#include "lab_orders/sim/server.h"
#include "lab_orders/sim/sim_clock.h"
#include "lab_orders/sim/upstream.h"
#include "lab_orders/sim/webhook_sender.h"
#include "lab_orders/sim/world.h"

namespace lab_orders::sim {

struct Route {
  const char* operation;
  const char* method;
  const char* path;  // the spec's path template
};

struct CallRecord {
  int sequence;
  std::string operation;
  std::string method;
  std::string path;
  std::string query;
  nlohmann::json body;
  std::optional<std::string> idempotency_key;
  int connection_id;
  nlohmann::json outcome;  // the status sent, or the fault's name
  bool handled = false;    // the simulated team acted on it (whatever was answered)
};

struct SimServer::Impl {
  explicit Impl(SimOptions options)
      : options(std::move(options)),
        world(clock, ids, this->options.served_zips, this->options.result_seed),
        validator(nlohmann::json::parse(JunctionSpecText())) {}

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
  // Long polls for calls received (not only handled): `wake` is told of each call received too
  // only while there are any, sparing the ticker a wake-up per call under load.
  int received_waiters = 0;
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
  void Handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
  void HandleJunction(const Route& route, const std::map<std::string, std::string>& params,
                      Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response);
  void HandleAdmin(const std::vector<std::string>& segments, Poco::Net::HTTPServerRequest& request,
                   Poco::Net::HTTPServerResponse& response);
  SimResponse Dispatch(const Route& route, const std::map<std::string, std::string>& params,
                       const Poco::Net::HTMLForm& query, const nlohmann::json& body,
                       Poco::Net::HTTPServerRequest& request, int call_number);
  std::optional<SimResponse> ValidateRequest(const Route& route,
                                             const std::map<std::string, std::string>& params,
                                             const Poco::Net::HTMLForm& query,
                                             const Poco::Net::NameValueCollection& headers,
                                             const std::string& raw_body, nlohmann::json* body);
  int ConnectionId(Poco::Net::HTTPServerRequest& request);
  void SendTrickle(Poco::Net::HTTPServerRequest& request, int interval_ms);
  CallRecord* FindCallLocked(int sequence);  // null once dropped or cleared
  void Record(int sequence, const nlohmann::json& outcome);
  void MarkHandled(int sequence);
  // --upstream: sends the call on and answers what the upstream answered (502 without one).
  void Forward(const Route& route, Poco::Net::HTTPServerRequest& request,
               Poco::Net::HTTPServerResponse& response, const std::string& raw_body, int sequence);
  // --record: keeps an answer and rewrites the recording.
  void KeepAnswer(const std::string& operation, int status, const std::string& body,
                  const std::map<std::string, std::string>& headers);
  void FlushRecording();
  SimResponse RecordingAnswer(bool flush);
  nlohmann::json CallsJson(const std::string& operation_filter);
  // POST /_sim/webhooks/config: {"url": "http...", "secret": "whsec_..."}, or {"url": null}.
  SimResponse ConfigureWebhooks(const nlohmann::json& body);
  SimResponse WebhookConfigAnswer() const;
  void Reset();
};

// Reading a body and sending an answer, for both surfaces (defined in server.cpp).

// The bytes of an answer's JSON body.
std::string BodyText(const nlohmann::json& body);
// Sends the answer as JSON, with its status and headers; or, when it has a raw body, those bytes
// as the Content-Type its headers name.
void SendJson(Poco::Net::HTTPServerResponse& response, const SimResponse& answer);
// The request body, up to kMaxBodyBytes of server.cpp; beyond, answers 413 (closing the
// connection: the rest of the body is still on the wire) and returns false.
bool ReadBodyOrRefuse(Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response, std::string* body);

}  // namespace lab_orders::sim
