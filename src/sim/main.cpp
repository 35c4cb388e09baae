// junction-sim: a Junction (ex-Vital) lab-testing API simulator. See docs/junction-sim.md.

#include <Poco/Exception.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/common/stop_signals.h"
#include "lab_orders/sim/server.h"
#include "lab_orders/sim/upstream.h"

namespace {

constexpr const char* kUsage = R"(junction-sim: a simulator of Junction's lab-testing API

Usage: junction-sim [options]

  --listen HOST:PORT       address to listen on (default 127.0.0.1:8090; port 0 picks a free
                           port, and the line printed at start-up says which)
  --script FILE            a JSON script of faults and outcomes (docs/junction-sim.md)
  --latency-ms N           add N ms to every Junction operation (for benchmarks)
  --api-key KEY            accept only this x-vital-api-key (default: any non-empty key)
  --webhook-url URL        send Svix-signed labtest.order.*, labtest.appointment.* and
                           labtest.result.critical events here (http:// or https://; or
                           set it later with POST /_sim/webhooks/config)
  --webhook-secret SECRET  the whsec_... secret that signs them
  --zip ZIP                serve at-home phlebotomy in this 5-digit ZIP too (repeatable;
                           85004 and 54650 are always served, as in Junction's sandbox)
  --threads N              most connections served at once (default 1024)
  --tls-cert FILE          serve HTTPS with this PEM certificate (chain)...
  --tls-key FILE           ...and this PEM private key
  --upstream URL           forward every Junction call to this Junction (http:// or https://,
                           e.g. a sandbox) and answer what it answers; 502 when it cannot
  --upstream-ca-file FILE  PEM certificate authorities for an https upstream (default: the
                           system's)
  --record FILE            with --upstream: write the answers to FILE as a script that
                           --script replays (rewritten after every call and at exit)
  --seed N                 with each order's id, decides the values of the order's lab
                           results (default 1; the same seed gives the same results)
  --help                   this text

Junction operations: POST /v2/user, GET /v2/user/resolve/{client_user_id},
GET /v2/user/{user_id}, GET /v3/lab_tests, POST /v3/order, GET /v3/order/{id},
POST /v3/order/{id}/cancel, GET /v3/order/area/info,
POST /v3/order/phlebotomy/appointment/availability,
POST /v3/order/{id}/phlebotomy/appointment/book, GET /v3/order/{id}/phlebotomy/appointment,
PATCH /v3/order/{id}/phlebotomy/appointment/reschedule,
PATCH /v3/order/{id}/phlebotomy/appointment/cancel,
GET /v3/order/phlebotomy/appointment/cancellation-reasons, GET /v3/order/{id}/result,
GET /v3/order/{id}/result/metadata, GET /v3/order/{id}/result/pdf.

Admin: GET /_sim/calls[?operation=NAME], GET /_sim/stats, POST /_sim/script, POST /_sim/reset,
POST /_sim/orders/{id}/advance {"status": "...", "interpretation": "normal|abnormal|critical",
"missing_results": N, "status_detail": "..."} (all but status optional),
POST /_sim/clock {"advance_seconds": N},
GET /_sim/webhooks, GET|POST /_sim/webhooks/config {"url": "...", "secret": "whsec_..."},
GET /_sim/health, GET /_sim/record, POST /_sim/record/flush.

Stops cleanly on SIGINT or SIGTERM.
)";

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "junction-sim: " << message << "\n(see junction-sim --help)\n";
  std::exit(2);
}

int ParseInt(const std::string& flag, const std::string& text, int min_value, int max_value) {
  try {
    size_t used = 0;
    long value = std::stol(text, &used);
    if (used != text.size() || value < min_value || value > max_value) throw std::out_of_range("");
    return int(value);
  } catch (const std::exception&) {
    Fail(flag + " wants a number from " + std::to_string(min_value) + " to " +
         std::to_string(max_value));
  }
}

lab_orders::sim::SimOptions ParseArguments(int argc, char** argv) {
  lab_orders::sim::SimOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc) Fail("unknown flag or missing value: " + flag);
    std::string value = argv[++i];
    if (flag == "--listen") {
      size_t colon = value.rfind(':');
      if (colon == std::string::npos) Fail("--listen wants HOST:PORT");
      options.listen_host = value.substr(0, colon);
      options.listen_port =
          static_cast<unsigned short>(ParseInt("--listen port", value.substr(colon + 1), 0, 65535));
    } else if (flag == "--script") {
      std::ifstream file(value);
      if (!file) Fail("cannot read script " + value);
      nlohmann::json document = nlohmann::json::parse(file, nullptr, false);
      if (document.is_discarded()) Fail("script " + value + " is not valid JSON");
      try {
        options.script = lab_orders::sim::ParseScript(document);
      } catch (const std::exception& e) {
        Fail(value + ": " + e.what());
      }
    } else if (flag == "--latency-ms") {
      options.latency_ms = ParseInt(flag, value, 0, 600000);
    } else if (flag == "--api-key") {
      options.api_key = value;
    } else if (flag == "--webhook-url") {
      options.webhook_url = value;
    } else if (flag == "--webhook-secret") {
      options.webhook_secret = value;
    } else if (flag == "--zip") {
      if (value.size() != 5 || value.find_first_not_of("0123456789") != std::string::npos) {
        Fail("--zip wants a 5-digit ZIP code");
      }
      options.served_zips.push_back(value);
    } else if (flag == "--tls-cert") {
      options.tls_cert_file = value;
    } else if (flag == "--tls-key") {
      options.tls_key_file = value;
    } else if (flag == "--upstream") {
      options.upstream_url = value;
    } else if (flag == "--upstream-ca-file") {
      options.upstream_ca_file = value;
    } else if (flag == "--record") {
      if (value.empty()) Fail("--record wants a file name");
      options.record_file = value;
    } else if (flag == "--seed") {
      if (value.empty() || value.size() > 19 ||
          value.find_first_not_of("0123456789") != std::string::npos) {
        Fail("--seed wants a whole number from 0 to 9999999999999999999");
      }
      options.result_seed = std::stoull(value);
    } else if (flag == "--threads") {
      options.max_threads = ParseInt(flag, value, 4, 4096);
    } else {
      Fail("unknown flag " + flag);
    }
  }
  if (options.webhook_url.has_value() != options.webhook_secret.has_value()) {
    Fail("--webhook-url and --webhook-secret go together");
  }
  if (options.record_file && !options.upstream_url) {
    Fail("--record needs --upstream URL: it records what that Junction answers");
  }
  if (!options.upstream_ca_file.empty() && !options.upstream_url) {
    Fail("--upstream-ca-file goes with --upstream");
  }
  if (options.upstream_url) {
    if (options.script) {
      Fail("--script does not apply with --upstream (the upstream answers every call)");
    }
    try {
      lab_orders::sim::Upstream check(*options.upstream_url, options.upstream_ca_file);
    } catch (const std::invalid_argument& e) {
      Fail(e.what());
    } catch (const Poco::Exception& e) {  // a CA file that cannot be loaded
      Fail("--upstream-ca-file: " + e.displayText());
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t signals = lab_orders::BlockStopSignals();  // waited for below

  // Standard output carries only the "listening on" line that launchers wait for.
  spdlog::set_default_logger(spdlog::stderr_color_mt("junction-sim"));
  lab_orders::sim::SimOptions options = ParseArguments(argc, argv);
  try {
    lab_orders::sim::SimServer server(options);
    server.Start();
    std::cout << "junction-sim listening on " << (options.tls_cert_file ? "https" : "http") << "://"
              << options.listen_host << ":" << server.port() << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("junction-sim: signal {} received, stopping", received);
    server.Stop();
  } catch (const std::exception& e) {
    std::cerr << "junction-sim: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
