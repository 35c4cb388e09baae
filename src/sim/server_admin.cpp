// The /_sim/ admin surface: what tests and benchmarks use to steer and watch the simulator (the
// call log, stats, scripts, reset, the clock, webhook settings and deliveries, the recording,
// moving an order along).

#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/sim/recorder.h"
#include "lab_orders/sim/script.h"
#include "lab_orders/sim/webhook_sender.h"
#include "lab_orders/sim/world.h"
#include "sim/server_impl.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

}  // namespace

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
  if (!ReadBodyOrRefuse(request, response, &raw_body)) return;
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
    // Long poll: answer once that many calls of the operation were acted on (wait_handled) or
    // only received (wait_received: the call may still be in the simulated team's hands), or at
    // timeout_ms.
    const bool only_received = query.has("wait_received");
    if (query.has("wait_handled") || only_received) {
      int wanted = std::atoi(query.get(only_received ? "wait_received" : "wait_handled").c_str());
      int timeout_ms = std::clamp(std::atoi(query.get("timeout_ms", "10000").c_str()), 0, 60000);
      std::unique_lock lock(mutex);
      if (only_received) ++received_waiters;
      wake.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
        int counted = 0;
        for (const CallRecord& call : calls) {
          if ((only_received || call.handled) &&
              (operation.empty() || call.operation == operation)) {
            ++counted;
          }
        }
        return stopping || counted >= wanted;
      });
      if (only_received) --received_waiters;
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

}  // namespace lab_orders::sim
