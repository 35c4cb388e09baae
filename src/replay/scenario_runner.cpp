#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/encoding.h"
#include "lab_orders/common/svix.h"
#include "lab_orders/replay/expectations.h"
#include "lab_orders/replay/replay.h"
#include "replay/brand_receiver.h"

namespace lab_orders::replay {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
namespace fs = std::filesystem;

// What a failed scenario shows of its run: the last Junction calls and notable log lines.
constexpr size_t kTracedCalls = 80;
constexpr size_t kTracedLogLines = 60;

// The workflow at test speed: polls and retries start at 20 ms.
const std::map<std::string, std::string> kFastWorkflow = {
    {"LAB_ORDERS_REQUISITION_POLL_MS", "20"}, {"LAB_ORDERS_CONFIRMATION_POLL_MS", "20"},
    {"LAB_ORDERS_RETRY_INITIAL_MS", "20"},    {"LAB_ORDERS_NO_SLOT_RETRY_MS", "200"},
    {"LAB_ORDERS_COMPLETER_AFTER_S", "2"},    {"LAB_ORDERS_COMPLETER_INTERVAL_S", "1"},
    {"JUNCTION_TIMEOUT_MS", "2000"},          {"LAB_ORDERS_SYNC_CONFIRMATION_MS", "1000"},
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

std::string Lower(std::string text) {
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Reply Http(unsigned short port, const std::string& method, const std::string& path,
           const std::map<std::string, std::string>& headers, const std::string& body) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  bool typed = false;
  for (const auto& [name, value] : headers) {
    request.set(name, value);
    typed = typed || Lower(name) == "content-type";
  }
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    if (!typed) request.setContentType("application/json");
    request.setContentLength(std::streamsize(body.size()));
  }
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  reply.status = response.getStatus();
  for (const auto& [name, value] : response) reply.headers[Lower(name)] = value;
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

// A child process that prints "... listening on http://HOST:PORT" first; stopped with SIGTERM.
class Child {
 public:
  Child(const std::string& binary, const std::vector<std::string>& args,
        const std::map<std::string, std::string>& environment, const fs::path& directory,
        const std::string& log_name) {
    std::string command = "exec '" + binary + "'";
    for (const std::string& arg : args) command += " '" + arg + "'";
    command += " 2>>'" + (directory / log_name).string() + "'";
    Poco::Process::Env env;
    for (const auto& [name, value] : environment) env[name] = value;
    Poco::Pipe out;
    handle_ = std::make_unique<Poco::ProcessHandle>(Poco::Process::launch(
        "/bin/sh", {"-c", command}, directory.string(), nullptr, &out, nullptr, env));
    Poco::PipeInputStream stream(out);
    std::string line;
    std::getline(stream, line);
    size_t colon = line.rfind(':');
    if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
      throw std::runtime_error(binary + " did not start (see " + log_name + ")");
    }
    port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
  }
  ~Child() {
    try {
      Poco::Process::requestTermination(handle_->id());
      handle_->wait();
    } catch (const std::exception&) {
    }
  }
  unsigned short port() const { return port_; }

  // As a crash: SIGKILL, nothing finished or flushed, and waited for.
  void Kill() {
    Poco::Process::kill(*handle_);
    handle_->wait();
  }

 private:
  std::unique_ptr<Poco::ProcessHandle> handle_;
  unsigned short port_ = 0;
};

std::string RandomSecret() { return Base64UrlEncode(RandomBytes(36)); }

class ScenarioRun {
 public:
  ScenarioRun(const json& scenario, const ReplayOptions& options, const fs::path& directory)
      : scenario_(scenario), options_(options), directory_(directory) {}

  std::vector<std::string> Run() {
    jwt_secret_ = RandomSecret();
    webhook_secret_ = "whsec_" + Base64Encode(RandomBytes(32));
    sim_ = std::make_unique<Child>(
        options_.sim_binary, std::vector<std::string>{"--listen", "127.0.0.1:0"},
        std::map<std::string, std::string>{}, directory_, "junction-sim.log");
    std::map<std::string, std::string> env = kFastWorkflow;
    env["LAB_ORDERS_ENV"] = "production";
    env["LAB_ORDERS_LISTEN"] = "127.0.0.1:0";
    env["LAB_ORDERS_DATABASE"] = "sqlite:" + (directory_ / "lab-orders.db").string();
    env["LAB_ORDERS_PANELS"] = fs::absolute(options_.panels_path).string();
    env["LAB_ORDERS_PHI_KEY"] = Base64Encode(RandomBytes(32));
    env["LAB_ORDERS_JWT_SECRET"] = jwt_secret_;
    env["JUNCTION_BASE_URL"] = "http://127.0.0.1:" + std::to_string(sim_->port());
    env["JUNCTION_API_KEY"] = "sk_replay";
    env["JUNCTION_WEBHOOK_SECRET"] = webhook_secret_;
    // The brand's own receiver, on loopback: development mode is what lets the service deliver
    // there (production sends webhooks to public https:// addresses only). Every secret is set
    // here, so nothing else of development mode applies.
    if (scenario_.contains("brand_webhooks")) {
      brand_receiver_ =
          std::make_unique<BrandReceiver>(scenario_["brand_webhooks"].value("fail_first", 0));
      env["LAB_ORDERS_ENV"] = "development";
    }
    if (scenario_.contains("service")) {
      const json env_field = scenario_["service"].value("env", json::object());
      for (auto& [name, value] : env_field.items()) {
        env[name] = value.get<std::string>();
      }
    }
    service_env_ = env;
    StartService();
    if (scenario_.contains("simulator")) SimAdmin("POST", "/_sim/script", scenario_["simulator"]);
    if (brand_receiver_) RegisterBrandEndpoint(scenario_["brand_webhooks"]);

    try {
      RunSteps();
    } catch (const ScenarioError& e) {
      // What went wrong before the scenario could not go on is usually its cause: keep both.
      failures_.push_back(std::string("scenario error: ") + e.what());
    }
    if (!failures_.empty()) Trace();
    return failures_;
  }

  const std::vector<std::string>& trace() const { return trace_; }

 private:
  void RunSteps() {
    const json& steps = scenario_.at("steps");
    for (size_t i = 0; i < steps.size(); ++i) RunStep(i + 1, Substitute(steps[i], saved_));
    if (scenario_.contains("final")) {
      const json final_check = Substitute(scenario_["final"], saved_);
      WaitForOrder("final", final_check);
    }
    if (scenario_.contains("junction")) {
      json calls = SimAdmin("GET", "/_sim/calls", nullptr)["calls"];
      auto differences = CheckJunctionCalls(Substitute(scenario_["junction"], saved_), calls);
      failures_.insert(failures_.end(), differences.begin(), differences.end());
    }
  }

  // The service on the scenario's store, with the simulator's webhooks pointed at it (unless a
  // step switched them off).
  void StartService() {
    const bool webhooks_on =
        !service_ || !SimAdmin("GET", "/_sim/webhooks/config", nullptr)["url"].is_null();
    service_.reset();
    service_ = std::make_unique<Child>(options_.service_binary, std::vector<std::string>{"serve"},
                                       service_env_, directory_, "lab-orders.log");
    if (!webhooks_on) return;
    SimAdmin(
        "POST", "/_sim/webhooks/config",
        {{"url", "http://127.0.0.1:" + std::to_string(service_->port()) + "/v1/webhooks/junction"},
         {"secret", webhook_secret_}});
  }

  void Trace() {
    try {
      const json answer = SimAdmin("GET", "/_sim/calls", nullptr);
      const json& calls = answer["calls"];
      size_t skipped = calls.size() > kTracedCalls ? calls.size() - kTracedCalls : 0;
      if (skipped > 0) trace_.push_back(std::to_string(skipped) + " earlier Junction calls");
      for (size_t i = skipped; i < calls.size(); ++i) {
        const json& call = calls[i];
        trace_.push_back("junction #" + std::to_string(call.value("sequence", 0)) + " " +
                         call.value("operation", std::string("?")) + " on connection " +
                         std::to_string(call.value("connection_id", 0)) + ": " +
                         call["outcome"].dump());
      }
    } catch (const std::exception& e) {
      trace_.push_back(std::string("junction calls unavailable: ") + e.what());
    }
    std::ifstream log(directory_ / "lab-orders.log");
    std::deque<std::string> last;
    for (std::string line; std::getline(log, line);) {
      // Its warnings and errors, and the answers that were not a success: the rest is routine.
      bool notable = line.find("\"level\":\"info\"") == std::string::npos ||
                     (line.find("\"event\":\"access\"") != std::string::npos &&
                      line.find("\"status\":2") == std::string::npos);
      if (!notable) continue;
      last.push_back("service: " + line);
      if (last.size() > kTracedLogLines) last.pop_front();
    }
    trace_.insert(trace_.end(), last.begin(), last.end());
  }

  json SimAdmin(const std::string& method, const std::string& path, const json& body) {
    Reply reply = Http(sim_->port(), method, path, {}, body.is_null() ? "" : body.dump());
    if (reply.status >= 300) {
      throw ScenarioError("the simulator refused " + method + " " + path + " (" +
                          std::to_string(reply.status) + "): " + reply.body);
    }
    return reply.body.empty() ? json(nullptr) : json::parse(reply.body);
  }

  std::string Token(const json& spec) {
    json claims_spec = spec.is_object() ? spec : json::object();
    long long now = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    long long ttl = claims_spec.value("ttl_seconds", 3600);
    json claims = {{"sub", claims_spec.value("user", "qa-user")},
                   {"brand_id", claims_spec.value("brand", "qa-brand")},
                   {"scope", claims_spec.value("scope", "labs:orders:read labs:orders:write")},
                   {"iat", now},
                   {"exp", claims_spec.value("expired", false) ? now - 120 : now + ttl}};
    if (claims_spec.contains("not_before_seconds")) {
      claims["nbf"] = now + claims_spec["not_before_seconds"].get<long long>();
    }
    const json claims_field = claims_spec.value("claims", json::object());
    for (auto& [name, value] : claims_field.items()) {
      if (value.is_null()) {
        claims.erase(name);
      } else {
        claims[name] = value;
      }
    }
    if (claims_spec.value("alg", "HS256") == "none") {
      return Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
             Base64UrlEncode(claims.dump()) + ".";
    }
    bool forged = claims_spec.value("forged", false);
    return auth::MintHs256(forged ? RandomSecret() : jwt_secret_, claims);
  }

  void RunStep(size_t number, const json& step) {
    std::string label = "step " + std::to_string(number);
    if (step.contains("request")) return RequestStep(label, step);
    if (step.contains("webhook")) return WebhookStep(label, step);
    if (step.contains("wait")) return WaitForOrder(label, step["wait"]);
    if (step.contains("junction_wait")) {
      const json& wait = step["junction_wait"];
      // Handled: the simulated team acted on the call. Received: it arrived, and may still be
      // in the team's hands (a call held by a delay, say).
      const bool received = wait.value("received", false);
      std::string path = "/_sim/calls?operation=" + wait.at("operation").get<std::string>() +
                         (received ? "&wait_received=" : "&wait_handled=") +
                         std::to_string(wait.value("count", 1)) +
                         "&timeout_ms=" + std::to_string(wait.value("within_ms", 10000));
      json calls = SimAdmin("GET", path, nullptr)["calls"];
      int counted = 0;
      for (const json& call : calls) counted += received || call.value("handled", false) ? 1 : 0;
      if (counted < wait.value("count", 1)) {
        failures_.push_back(label + ": expected " + std::to_string(wait.value("count", 1)) + " " +
                            wait["operation"].get<std::string>() + " calls, got " +
                            std::to_string(counted));
      }
      return;
    }
    if (step.contains("deliveries")) return DeliveriesStep(label, step["deliveries"]);
    if (step.contains("restart")) {
      // A crash, then a start at once on the same store (the same database file and keys).
      if (!step["restart"].value("kill", true)) {
        throw ScenarioError(label + ": restart supports only {\"kill\": true}");
      }
      service_->Kill();
      StartService();
      return;
    }
    if (step.contains("sim")) {
      const json& sim = step["sim"];
      SimAdmin(sim.value("method", "POST"), sim.at("path").get<std::string>(),
               sim.value("body", json::object()));
      return;
    }
    throw ScenarioError(
        label +
        ": a step is one of request, webhook, wait, junction_wait, deliveries, sim, restart");
  }

  void RequestStep(const std::string& label, const json& step) {
    const json& request = step["request"];
    std::string method = request.at("method").get<std::string>();
    std::string path = request.at("path").get<std::string>();
    std::map<std::string, std::string> headers;
    if (!request.contains("token") || !request["token"].is_null()) {
      headers["Authorization"] = "Bearer " + Token(request.value("token", json::object()));
    }
    if (request.contains("idempotency_key")) {
      headers["Idempotency-Key"] = request["idempotency_key"].get<std::string>();
    }
    const json headers_field = request.value("headers", json::object());
    for (auto& [name, value] : headers_field.items()) {
      headers[name] = value.get<std::string>();
    }
    std::string body;
    if (request.contains("raw_body")) {
      std::string unit = request["raw_body"].get<std::string>();
      for (int i = 0; i < request.value("raw_body_repeat", 1); ++i) body += unit;
    } else if (request.contains("body")) {
      body = request["body"].dump();
    }
    std::string what = label + " (" + method + " " + path + ")";
    int copies = request.value("concurrent", 1);
    std::vector<std::future<Reply>> pending;
    const json retry = request.value("retry_while", json());
    for (int i = 0; i < copies; ++i) {
      pending.push_back(std::async(std::launch::async, [&, this] {
        return retry.is_object() ? SendWhile(retry, method, path, headers, body)
                                 : Http(service_->port(), method, path, headers, body);
      }));
    }
    std::vector<Reply> replies;
    for (auto& reply : pending) {
      try {
        replies.push_back(reply.get());
      } catch (const std::exception& e) {
        failures_.push_back(what + ": no answer: " + e.what());
      }
    }
    for (const Reply& reply : replies) CheckReply(what, step, reply);
    if (!replies.empty()) Save(what, step, replies.front());
  }

  // As a client that retries a refusal it knows to be passing (409 order_not_bookable while the
  // order's requisition is made, say): the same request again, after the answer's Retry-After
  // (at most a second) or 100 ms, while the answer is that refusal and within_ms is not over.
  Reply SendWhile(const json& retry, const std::string& method, const std::string& path,
                  const std::map<std::string, std::string>& headers, const std::string& body) {
    const int status = retry.at("status").get<int>();
    const std::string error = retry.value("error", "");
    const auto deadline = steady_clock::now() + milliseconds(retry.value("within_ms", 10000));
    while (true) {
      Reply reply = Http(service_->port(), method, path, headers, body);
      if (reply.status != status || steady_clock::now() >= deadline) return reply;
      if (!error.empty()) {
        json answer = json::parse(reply.body, nullptr, false);
        if (answer.is_discarded() || !answer.is_object() || answer.value("error", "") != error) {
          return reply;
        }
      }
      milliseconds pause(100);
      if (auto after = reply.headers.find("retry-after"); after != reply.headers.end()) {
        pause = std::clamp(milliseconds(1000 * std::atoi(after->second.c_str())), milliseconds(20),
                           milliseconds(1000));
      }
      std::this_thread::sleep_for(
          std::min<steady_clock::duration>(pause, deadline - steady_clock::now()));
    }
  }

  void WebhookStep(const std::string& label, const json& step) {
    const json& webhook = step["webhook"];
    std::string body = webhook.contains("raw_body") ? webhook["raw_body"].get<std::string>()
                                                    : webhook.at("event").dump();
    std::string id = webhook.value("id", "msg_" + HexEncode(RandomBytes(8)));
    long long timestamp = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() +
                          webhook.value("timestamp_offset_seconds", 0LL);
    std::string secret = webhook.value("secret", webhook_secret_);
    std::string signature = webhook.contains("signature")
                                ? webhook["signature"].get<std::string>()
                                : WebhookSigner(secret).Sign(id, timestamp, body);
    Reply reply = Http(service_->port(), "POST", "/v1/webhooks/junction",
                       {{"svix-id", id},
                        {"svix-timestamp", std::to_string(timestamp)},
                        {"svix-signature", signature}},
                       body);
    CheckReply(label + " (webhook " + id + ")", step, reply);
  }

  void CheckReply(const std::string& what, const json& step, const Reply& reply) {
    if (!step.contains("expect")) return;
    const json& expect = step["expect"];
    if (expect.contains("status")) {
      json allowed =
          expect["status"].is_array() ? expect["status"] : json::array({expect["status"]});
      if (std::find(allowed.begin(), allowed.end(), json(reply.status)) == allowed.end()) {
        failures_.push_back(what + ": status: expected " + Brief(expect["status"]) + ", got " +
                            std::to_string(reply.status) + " " + Brief(Truncated(reply.body)));
      }
    }
    const json headers_field = expect.value("headers", json::object());
    for (auto& [name, matcher] : headers_field.items()) {
      auto found = reply.headers.find(Lower(name));
      json value = found == reply.headers.end() ? json(nullptr) : json(found->second);
      if (auto difference =
              CheckMatcher(matcher, found == reply.headers.end() ? nullptr : &value)) {
        failures_.push_back(what + ": header " + name + ": " + *difference);
      }
    }
    if (expect.contains("body")) {
      json document = json::parse(reply.body, nullptr, false);
      if (document.is_discarded()) {
        failures_.push_back(what + ": body: expected JSON, got " + Brief(Truncated(reply.body)));
      } else {
        auto differences = CheckPointers(expect["body"], document, what + ": body");
        failures_.insert(failures_.end(), differences.begin(), differences.end());
      }
    }
    // A body that is not JSON (a PDF report): its first bytes.
    if (expect.contains("body_starts_with")) {
      const std::string prefix = expect["body_starts_with"].get<std::string>();
      if (reply.body.rfind(prefix, 0) != 0) {
        failures_.push_back(what + ": body: expected to start with " + Brief(prefix) + ", got " +
                            Brief(Truncated(reply.body.substr(0, 40))));
      }
    }
    const json body_excludes_field = expect.value("body_excludes", json::array());
    for (const json& text : body_excludes_field) {
      if (reply.body.find(text.get<std::string>()) != std::string::npos) {
        failures_.push_back(what + ": body: must not contain " + Brief(text));
      }
    }
    if (expect.contains("same_as")) {
      std::string name = expect["same_as"].get<std::string>();
      auto saved = saved_bodies_.find(name);
      if (saved == saved_bodies_.end())
        throw ScenarioError(what + ": same_as " + name + " was never saved");
      if (saved->second != reply.body) {
        failures_.push_back(what + ": body: expected the same bytes as " + name + ", got " +
                            Brief(Truncated(reply.body)));
      }
    }
  }

  void Save(const std::string& what, const json& step, const Reply& reply) {
    if (step.contains("save_body"))
      saved_bodies_[step["save_body"].get<std::string>()] = reply.body;
    if (!step.contains("save")) return;
    json document = json::parse(reply.body, nullptr, false);
    for (auto& [name, pointer] : step["save"].items()) {
      json::json_pointer where(pointer.get<std::string>());
      if (document.is_discarded() || !document.contains(where)) {
        failures_.push_back(what + ": save " + name + ": nothing at " + pointer.get<std::string>());
        continue;
      }
      const json& value = document.at(where);
      saved_[name] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }

  void WaitForOrder(const std::string& label, const json& wait) {
    std::string id = wait.at("order").get<std::string>();
    json statuses = wait.at("status").is_array() ? wait["status"] : json::array({wait["status"]});
    auto deadline = steady_clock::now() + milliseconds(wait.value("within_ms", 15000));
    std::string token = Token(wait.value("token", json::object()));
    std::string wanted;
    for (const json& status : statuses) {
      std::string encoded;
      Poco::URI::encode(status.get<std::string>(), ",&=#?+ ", encoded);
      wanted += (wanted.empty() ? "" : ",") + encoded;
    }
    std::string last = "nothing";
    // The service's long poll answers when the order gets there, or when its wait (at most 30 s
    // a request) is over.
    for (auto left = deadline - steady_clock::now(); left > milliseconds(0);
         left = deadline - steady_clock::now()) {
      auto wait_ms =
          std::min<long long>(std::chrono::duration_cast<milliseconds>(left).count(), 30000);
      Reply reply = Http(service_->port(), "GET",
                         "/v1/labs/orders/" + id + "?wait_status=" + wanted +
                             "&wait_ms=" + std::to_string(wait_ms),
                         {{"Authorization", "Bearer " + token}}, "");
      json order = json::parse(reply.body, nullptr, false);
      if (reply.status != 200 || order.is_discarded()) {
        last = "HTTP " + std::to_string(reply.status);
        break;
      }
      last = order.value("status", "?");
      if (std::find(statuses.begin(), statuses.end(), json(last)) != statuses.end()) return;
    }
    failures_.push_back(label + ": order " + id + ": expected " + Brief(wait["status"]) +
                        " within " + std::to_string(wait.value("within_ms", 15000)) +
                        " ms, last seen " + last);
  }

  // The scenario brand's endpoint (brand_webhooks.brand, else qa-brand), every event type, at
  // the receiver.
  void RegisterBrandEndpoint(const json& config) {
    const std::string token =
        Token({{"brand", config.value("brand", "qa-brand")}, {"scope", "labs:webhooks:manage"}});
    Reply reply = Http(service_->port(), "POST", "/v1/webhooks/endpoints",
                       {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                       json{{"url", brand_receiver_->Url()}}.dump());
    if (reply.status != 201) {
      throw ScenarioError("brand_webhooks: the endpoint was not registered (HTTP " +
                          std::to_string(reply.status) + ")");
    }
  }

  // Waits until the brand's receiver got what the step says, or its time is up.
  void DeliveriesStep(const std::string& label, const json& expected) {
    if (!brand_receiver_) {
      throw ScenarioError(label + ": deliveries needs the scenario's brand_webhooks");
    }
    const auto until = steady_clock::now() + milliseconds(expected.value("within_ms", 10000));
    json deliveries = brand_receiver_->Deliveries();
    std::vector<std::string> differences = CheckBrandDeliveries(expected, deliveries);
    while (!differences.empty() && steady_clock::now() < until) {
      deliveries = brand_receiver_->WaitForMore(deliveries.size(), until);
      differences = CheckBrandDeliveries(expected, deliveries);
    }
    for (const std::string& difference : differences)
      failures_.push_back(label + ": " + difference);
  }

  static std::string Truncated(const std::string& text) {
    return text.size() <= 300 ? text : text.substr(0, 300) + "...";
  }

  const json& scenario_;
  const ReplayOptions& options_;
  std::unique_ptr<BrandReceiver> brand_receiver_;  // with brand_webhooks only
  fs::path directory_;
  std::string jwt_secret_;
  std::string webhook_secret_;
  std::unique_ptr<Child> sim_;
  std::unique_ptr<Child> service_;
  std::map<std::string, std::string> service_env_;
  std::map<std::string, std::string> saved_;
  std::map<std::string, std::string> saved_bodies_;
  std::vector<std::string> failures_;
  std::vector<std::string> trace_;
};

}  // namespace

ScenarioResult RunScenario(const std::string& file, const json& scenario,
                           const ReplayOptions& options) {
  ScenarioResult result;
  result.file = file;
  result.name = scenario.value("name", fs::path(file).stem().string());
  auto started = steady_clock::now();
  fs::path directory =
      fs::temp_directory_path() / ("lab-orders-replay-" + HexEncode(RandomBytes(6)));
  fs::create_directories(directory);
  try {
    ScenarioRun run(scenario, options, directory);
    result.failures = run.Run();
    result.trace = run.trace();
  } catch (const ScenarioError& e) {
    result.failures.push_back(std::string("scenario error: ") + e.what());
  } catch (const std::exception& e) {
    result.failures.push_back(std::string("could not run: ") + e.what());
  }
  result.passed = result.failures.empty();
  result.seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
  if (options.keep || !result.passed) {
    result.directory = directory.string();
  }
  if (!options.keep && result.passed) {
    std::error_code ignored;
    fs::remove_all(directory, ignored);
  }
  return result;
}

}  // namespace lab_orders::replay
