// Benchmark (not a test): one lab-orders instance holding N appointments `pending` at the
// provider, with the worker pool bounded and the Junction call rate limited. It starts
// junction-sim and lab-orders on free ports, creates N orders through the API, waits until every
// one is appointment_pending, then measures for a fixed window the Junction calls per second the
// service made (by operation), the largest count in any 1-second window, and the service's RSS,
// threads and CPU. Figures are printed, never asserted; the exit code says only whether the run
// itself worked (processes started, orders created and held, clean shutdown).
//
// See bench/README.md for how to run it and how to read the table.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"

namespace {

using nlohmann::json;
using namespace lab_orders::bench;
using Clock = BenchClock;
using std::chrono::duration;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr const char* kPendingStatus = "appointment_pending";

// ---- options -----------------------------------------------------------------------------------

struct Options {
  int orders = 1000;
  int workers = 8;
  int rate = 50;
  double window_s = 30;
  int clients = 4;
  int confirmation_poll_ms = 1000;
  double settle_s = 0;
  int setup_timeout_s = 900;
  int sim_latency_ms = 0;
  std::string database;   // LAB_ORDERS_DATABASE; empty: SQLite in the temporary directory
  std::string json_file;  // the figures as JSON too (bench_load reads them for scenario d)
  bool keep = false;
};

constexpr const char* kUsage =
    R"(bench_pending_appointments: N appointments held pending on one lab-orders instance

Usage: bench_pending_appointments [flags]

  --orders N                orders created and held appointment_pending (1000)
  --workers N               LAB_ORDERS_WORKERS, the job runner's pool (8)
  --rate N                  LAB_ORDERS_JUNCTION_RATE, workflow calls/s to Junction (50)
  --window S                seconds measured once all orders are pending (30)
  --clients N               client threads creating orders, one keep-alive session each (4)
  --confirmation-poll-ms N  LAB_ORDERS_CONFIRMATION_POLL_MS, first confirmation poll (1000)
  --settle S                seconds to wait after all are pending before measuring (0)
  --setup-timeout S         give up if the orders are not all pending by then (900)
  --sim-latency-ms N        junction-sim --latency-ms, a slower Junction (0)
  --database URL            LAB_ORDERS_DATABASE (default: a new SQLite file in the temporary
                            directory); on PostgreSQL a new database on that server, dropped after
  --json FILE               write the figures to FILE as JSON too
  --keep                    keep the temporary directory (database, logs) afterwards
  --help                    this text

Figures are printed, not asserted. Exit code 0 when the run worked, 1 when something failed
(a process did not start or stop cleanly, an order was not created or did not stay pending).
)";

Options ParseOptions(int argc, char** argv) {
  Options options;
  Flags flags(argc, argv, kUsage);
  while (auto flag = flags.Next()) {
    if (*flag == "--orders") {
      options.orders = flags.Integer(1, 1000000);
    } else if (*flag == "--workers") {
      options.workers = flags.Integer(1, 256);
    } else if (*flag == "--rate") {
      options.rate = flags.Integer(1, 10000);
    } else if (*flag == "--window") {
      options.window_s = flags.Seconds(1, 86400);
    } else if (*flag == "--clients") {
      options.clients = flags.Integer(1, 256);
    } else if (*flag == "--confirmation-poll-ms") {
      options.confirmation_poll_ms = flags.Integer(10, 3600000);
    } else if (*flag == "--settle") {
      options.settle_s = flags.Seconds(0, 86400);
    } else if (*flag == "--setup-timeout") {
      options.setup_timeout_s = flags.Integer(1, 86400);
    } else if (*flag == "--sim-latency-ms") {
      options.sim_latency_ms = flags.Integer(0, 60000);
    } else if (*flag == "--database") {
      options.database = flags.Value();
    } else if (*flag == "--json") {
      options.json_file = flags.Value();
    } else if (*flag == "--keep" && !flags.has_value()) {
      options.keep = true;
    } else {
      flags.Unknown();
    }
  }
  return options;
}

// ---- the orders --------------------------------------------------------------------------------

struct CreationResult {
  int created = 0;
  std::map<int, int> statuses;  // HTTP status -> count
  std::vector<std::string> errors;
  std::vector<double> latencies_ms;
  int wire_errors = 0;
  double seconds = 0;
};

CreationResult CreateOrders(unsigned short port, const std::string& token,
                            const std::string& run_id, const Options& options) {
  CreationResult result;
  std::mutex mutex;
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < options.clients; ++c) {
    clients.emplace_back([&] {
      HttpSession session(port);
      std::map<int, int> statuses;
      std::vector<std::string> errors;
      std::vector<double> latencies;
      for (int i = next++; i < options.orders; i = next++) {
        auto sent = Clock::now();
        try {
          Reply reply;
          // A resend after a lost answer can find the first request still running (409): the
          // key's first answer comes once it finishes (Retry-After: 1).
          for (int tries = 0; tries < 10; ++tries) {
            reply = session.Call(
                "POST", "/v1/labs/orders", OrderBody(i, run_id).dump(),
                {{"Authorization", "Bearer " + token},
                 {"Idempotency-Key", "bench-" + run_id + "-order-" + std::to_string(i)}});
            if (reply.status != 409) break;
            std::this_thread::sleep_for(milliseconds(1000));  // its Retry-After
          }
          latencies.push_back(duration<double, std::milli>(Clock::now() - sent).count());
          ++statuses[reply.status];
          if (reply.status != 201) {
            errors.push_back("order " + std::to_string(i) + ": " + std::to_string(reply.status) +
                             " " + reply.body.substr(0, 300));
          }
        } catch (const std::exception& e) {
          ++statuses[0];
          errors.push_back("order " + std::to_string(i) + ": " + e.what());
        }
      }
      std::lock_guard lock(mutex);
      for (auto [status, count] : statuses) result.statuses[status] += count;
      result.errors.insert(result.errors.end(), errors.begin(), errors.end());
      result.latencies_ms.insert(result.latencies_ms.end(), latencies.begin(), latencies.end());
      result.wire_errors += session.wire_errors();
    });
  }
  for (std::thread& client : clients) client.join();
  result.seconds = duration<double>(Clock::now() - start).count();
  result.created = result.statuses[201];
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

// Every order of the brand, counted by status (pages of 100 through the list endpoint).
std::map<std::string, int> StatusCounts(HttpSession& session, const std::string& token) {
  std::map<std::string, int> counts;
  std::optional<std::string> cursor;
  for (int page = 0; page < 100000; ++page) {
    std::string path = "/v1/labs/orders?limit=100";
    if (cursor) path += "&cursor=" + *cursor;
    Reply reply = session.Call("GET", path, "", {{"Authorization", "Bearer " + token}});
    if (reply.status != 200) {
      throw std::runtime_error("GET " + path + ": " + std::to_string(reply.status) + " " +
                               reply.body.substr(0, 300));
    }
    json body = reply.Json();
    for (const json& order : body["data"]) counts[order.value("status", "?")]++;
    if (!body["next_cursor"].is_string()) break;
    cursor = body["next_cursor"].get<std::string>();
  }
  return counts;
}

std::string Histogram(const std::map<std::string, int>& counts) {
  std::string text;
  for (const auto& [status, count] : counts) {
    if (!text.empty()) text += ", ";
    text += status + " " + std::to_string(count);
  }
  return text.empty() ? "none" : text;
}

// ---- measuring ---------------------------------------------------------------------------------

struct Sample {
  Clock::time_point at;
  long long calls_total = 0;
  long long connections_opened = 0;
  std::map<std::string, long long> operations;
  ProcSample service;
  ProcSample sim;
};

Sample TakeSample(HttpSession& sim_admin, pid_t service_pid, pid_t sim_pid) {
  Sample sample;
  Reply reply = sim_admin.Call("GET", "/_sim/stats");
  sample.at = Clock::now();
  if (reply.status != 200) throw std::runtime_error("/_sim/stats: " + std::to_string(reply.status));
  json stats = reply.Json();
  sample.calls_total = stats.value("calls_total", 0LL);
  sample.connections_opened = stats.value("connections_opened", 0LL);
  for (const auto& [name, count] : stats["operations"].items()) {
    sample.operations[name] = count.get<long long>();
  }
  sample.service = ReadProc(service_pid);
  sample.sim = ReadProc(sim_pid);
  return sample;
}

// ---- the run -----------------------------------------------------------------------------------

int Run(const Options& options, const fs::path& directory) {
  const std::string run_id = RandomHex(8);
  const double burst = std::max(1, options.rate);  // src/app/main.cpp: the bucket holds rate tokens
  bool ok = true;
  auto fail = [&](const std::string& why) {
    std::cerr << "FAILED: " << why << "\n";
    ok = false;
  };

  // 1. junction-sim: every booking stays pending far beyond the run; requisitions at once.
  const long long resolve_after_ms = 24LL * 3600 * 1000;
  json script = {
      {"name", "bench: every booking pending for a day"},
      {"requisition", {{"mode", "immediate"}}},
      {"bookings",
       {{{"from_call", 1}, {"outcome", "confirmed"}, {"resolve_after_ms", resolve_after_ms}}}}};
  std::ofstream(directory / "sim-script.json") << script.dump(2);
  std::vector<std::string> sim_args = {JUNCTION_SIM_BINARY, "--listen", "127.0.0.1:0", "--script",
                                       (directory / "sim-script.json").string()};
  if (options.sim_latency_ms > 0) {
    sim_args.insert(sim_args.end(), {"--latency-ms", std::to_string(options.sim_latency_ms)});
  }
  Child sim("junction-sim", sim_args, InheritedEnvironment(), directory);
  unsigned short sim_port =
      PortFromListeningLine(sim.name(), sim.FirstLine(std::chrono::seconds(30)));

  // 2. lab-orders serve, configured as a deployment would be: production mode, its own secrets,
  // a fresh SQLite file, default timeouts and backoffs, the pool and the rate under test. Nothing
  // the caller's shell exports for the service (LAB_ORDERS_*, JUNCTION_*) leaks into the run.
  ServiceDatabase service_database(options.database.empty()
                                       ? "sqlite:" + (directory / "lab-orders.db").string()
                                       : options.database,
                                   "pending");
  const std::string& database = service_database.url();
  std::map<std::string, std::string> service_env = ServiceEnvironment(
      database, sim_port, run_id,
      {{"LAB_ORDERS_WORKERS", std::to_string(options.workers)},
       {"LAB_ORDERS_JUNCTION_RATE", std::to_string(options.rate)},
       {"LAB_ORDERS_CONFIRMATION_POLL_MS", std::to_string(options.confirmation_poll_ms)}});
  Child service("lab-orders", {LAB_ORDERS_BINARY, "serve"}, service_env, directory);
  unsigned short service_port =
      PortFromListeningLine(service.name(), service.FirstLine(std::chrono::seconds(60)));
  std::string token = MintToken(service_env, "bench-brand-" + run_id, directory);

  std::cerr << "junction-sim on port " << sim_port << ", lab-orders on port " << service_port
            << " (pid " << service.pid() << "), files in " << directory.string() << "\n";

  // 3. N orders through the API, a few clients with keep-alive sessions.
  auto setup_start = Clock::now();
  std::cerr << "creating " << options.orders << " orders with " << options.clients
            << " clients...\n";
  CreationResult creation = CreateOrders(service_port, token, run_id, options);
  std::cerr << "created " << creation.created << "/" << options.orders << " in "
            << Fixed(creation.seconds, 1) << " s\n";
  if (creation.created != options.orders) {
    fail(std::to_string(options.orders - creation.created) + " orders were not created");
    for (size_t i = 0; i < creation.errors.size() && i < 5; ++i) {
      std::cerr << "  " << creation.errors[i] << "\n";
    }
    return 1;
  }

  // 4. Wait until every order is appointment_pending.
  HttpSession api(service_port);
  HttpSession sim_admin(sim_port);
  auto deadline = setup_start + std::chrono::seconds(options.setup_timeout_s);
  std::map<std::string, int> counts;
  auto last_report = Clock::now() - std::chrono::seconds(10);
  while (true) {
    if (!service.Running()) throw std::runtime_error("lab-orders exited during the setup");
    counts = StatusCounts(api, token);
    int pending = counts[kPendingStatus];
    if (pending == options.orders) break;
    int stuck = 0;  // orders that took another road than to appointment_pending
    for (const char* status : {"failed", "cancelled", "completed", "appointment_scheduled",
                               "draw_completed", "sample_with_lab"}) {
      if (auto found = counts.find(status); found != counts.end()) stuck += found->second;
    }
    if (stuck > 0) {
      fail("orders reached other states instead of appointment_pending: " + Histogram(counts));
      std::vector<std::string> warnings;
      CountWarnings(service.Log(), &warnings);
      for (const std::string& line : warnings) std::cerr << "  " << line << "\n";
      return 1;
    }
    if (Clock::now() > deadline) {
      fail("not all orders appointment_pending after " + std::to_string(options.setup_timeout_s) +
           " s: " + Histogram(counts));
      return 1;
    }
    if (Clock::now() - last_report >= std::chrono::seconds(10)) {
      last_report = Clock::now();
      std::cerr << "  " << Fixed(duration<double>(Clock::now() - setup_start).count(), 0)
                << " s: " << Histogram(counts) << "\n";
    }
    std::this_thread::sleep_for(milliseconds(1000));
  }
  double setup_s = duration<double>(Clock::now() - setup_start).count();
  Sample setup_end = TakeSample(sim_admin, service.pid(), sim.pid());
  std::cerr << "all " << options.orders << " orders appointment_pending after " << Fixed(setup_s, 1)
            << " s (" << setup_end.calls_total << " Junction calls)\n";
  if (options.settle_s > 0) {
    std::cerr << "settling for " << Fixed(options.settle_s, 0) << " s...\n";
    std::this_thread::sleep_for(duration<double>(options.settle_s));
  }

  // 5. The window: /_sim/stats and /proc every 200 ms, nothing else asked of the service.
  std::cerr << "measuring for " << Fixed(options.window_s, 0) << " s...\n";
  const std::string setup_log = service.Log();
  const size_t log_offset = setup_log.size();
  std::vector<Sample> samples;
  samples.push_back(TakeSample(sim_admin, service.pid(), sim.pid()));
  const auto window_start = samples.front().at;
  const auto window_end = window_start + std::chrono::duration_cast<Clock::duration>(
                                             duration<double>(options.window_s));
  for (auto tick = window_start + milliseconds(200);; tick += milliseconds(200)) {
    if (tick > window_end) tick = window_end;
    std::this_thread::sleep_until(tick);
    if (!service.Running()) throw std::runtime_error("lab-orders exited during the window");
    samples.push_back(TakeSample(sim_admin, service.pid(), sim.pid()));
    if (tick >= window_end) break;
  }
  const Sample& first = samples.front();
  const Sample& last = samples.back();
  const double window = duration<double>(last.at - first.at).count();
  const std::string window_log = service.Log().substr(log_offset);

  // Still held? (After the window, so the listing is not measured.)
  std::map<std::string, int> after = StatusCounts(api, token);
  int held = after[kPendingStatus];
  if (held != options.orders) {
    fail("after the window " + std::to_string(held) + " of " + std::to_string(options.orders) +
         " orders are appointment_pending: " + Histogram(after));
  }

  // The busiest span of about one second: from each sample, the first later sample at least 1 s
  // after it (a late sample makes the span longer, so spans are compared by calls per second).
  // The bucket allows rate * T + burst calls in T seconds.
  long long max_calls = 0;
  double max_per_second = 0;
  double max_calls_span = 0;
  bool windows_under = true;
  double worst_ratio = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (size_t j = i + 1; j < samples.size(); ++j) {
      double span = duration<double>(samples[j].at - samples[i].at).count();
      if (span < 0.999) continue;
      long long calls = samples[j].calls_total - samples[i].calls_total;
      double allowed = options.rate * span + burst;
      worst_ratio = std::max(worst_ratio, double(calls) / allowed);
      if (double(calls) > allowed) windows_under = false;
      if (double(calls) / span > max_per_second) {
        max_per_second = double(calls) / span;
        max_calls = calls;
        max_calls_span = span;
      }
      break;
    }
  }
  long long total_calls = last.calls_total - first.calls_total;
  double allowed_total = options.rate * window + burst;
  bool total_under = double(total_calls) <= allowed_total;

  long peak_rss = 0;
  int max_threads = 0, min_threads = 1 << 30;
  for (const Sample& sample : samples) {
    peak_rss = std::max(peak_rss, sample.service.rss_kb);
    max_threads = std::max(max_threads, sample.service.threads);
    min_threads = std::min(min_threads, sample.service.threads);
  }
  double cpu_percent = CpuPercent(first.service, last.service, window);
  double sim_cpu_percent = CpuPercent(first.sim, last.sim, window);
  std::vector<std::string> window_warnings;
  int warnings = CountWarnings(window_log, &window_warnings);

  // 6. The table.
  auto percentile = [&](double p) {
    if (creation.latencies_ms.empty()) return 0.0;
    size_t at = size_t(p * double(creation.latencies_ms.size() - 1));
    return creation.latencies_ms[at];
  };
  std::cout << "\nlab-orders: " << options.orders << " appointments held pending, "
            << Fixed(window, 1) << " s window\n\n";
  PrintRow("orders held appointment_pending",
           std::to_string(held) + " / " + std::to_string(options.orders));
  PrintRow("workers (LAB_ORDERS_WORKERS)", std::to_string(options.workers));
  PrintRow("rate limit (LAB_ORDERS_JUNCTION_RATE)",
           std::to_string(options.rate) + " calls/s, burst " + Fixed(burst, 0));
  PrintRow("confirmation poll", std::to_string(options.confirmation_poll_ms) +
                                    " ms first, doubling to the default max (60 s)");
  PrintRow("setup: orders created",
           Fixed(creation.seconds, 1) + " s (" +
               Fixed(options.orders / std::max(creation.seconds, 1e-9), 0) + " orders/s, p50 " +
               Fixed(percentile(0.5), 0) + " ms, p99 " + Fixed(percentile(0.99), 0) + " ms)");
  PrintRow("setup: all appointment_pending after",
           Fixed(setup_s, 1) + " s, " + std::to_string(setup_end.calls_total) + " Junction calls");
  PrintRow("Junction calls/s, total", Fixed(double(total_calls) / window, 2) + "  (" +
                                          std::to_string(total_calls) + " calls)");
  std::map<std::string, long long> by_operation;
  for (const auto& [name, count] : last.operations) {
    auto before = first.operations.find(name);
    long long delta = count - (before == first.operations.end() ? 0 : before->second);
    if (delta > 0) by_operation[name] = delta;
  }
  if (by_operation.empty()) PrintRow("  (no calls in the window)", "");
  for (const auto& [name, count] : by_operation) {
    PrintRow("  " + name, Fixed(double(count) / window, 2) + "  (" + std::to_string(count) + ")");
  }
  PrintRow("max calls in any ~1 s (200 ms /_sim/stats samples)",
           std::to_string(max_calls) + " in " + Fixed(max_calls_span, 2) +
               " s = " + Fixed(max_per_second, 1) + "/s (allowed " +
               Fixed(options.rate * max_calls_span + burst, 0) + ")");
  PrintRow("rate under the limit (rate*T + burst)",
           std::string(total_under && windows_under ? "yes" : "NO") + " (window " +
               std::to_string(total_calls) + " <= " + Fixed(allowed_total, 0) +
               (total_under ? "" : " EXCEEDED") + "; worst 1 s window at " +
               Fixed(100 * worst_ratio, 0) + "% of allowed)");
  PrintRow("connections opened to Junction in the window",
           std::to_string(last.connections_opened - first.connections_opened));
  PrintRow("service RSS start / end / peak sampled", Megabytes(first.service.rss_kb) + " / " +
                                                         Megabytes(last.service.rss_kb) + " / " +
                                                         Megabytes(peak_rss));
  PrintRow("service peak RSS since start (VmHWM)", Megabytes(last.service.hwm_kb));
  PrintRow("service threads min / max",
           std::to_string(min_threads) + " / " + std::to_string(max_threads));
  PrintRow("service CPU (% of one core)", Fixed(cpu_percent, 1) + "%");
  PrintRow("junction-sim CPU (% of one core)", Fixed(sim_cpu_percent, 1) + "%");
  PrintRow("service warnings/errors logged: setup / window",
           std::to_string(CountWarnings(setup_log, nullptr)) + " / " + std::to_string(warnings));
  std::cout << std::endl;
  for (const std::string& line : window_warnings) std::cerr << "  log: " << line << "\n";

  if (!options.json_file.empty()) {
    json figures = {{"orders", options.orders},
                    {"held_pending", held},
                    {"window_s", window},
                    {"workers", options.workers},
                    {"rate_limit", options.rate},
                    {"setup_orders_per_s", options.orders / std::max(creation.seconds, 1e-9)},
                    {"setup_p50_ms", percentile(0.5)},
                    {"setup_p99_ms", percentile(0.99)},
                    {"setup_s", setup_s},
                    {"setup_junction_calls", setup_end.calls_total},
                    {"junction_calls_per_s", double(total_calls) / window},
                    {"junction_calls_by_operation", by_operation},
                    {"max_calls_per_s", max_per_second},
                    {"rate_under_limit", total_under && windows_under},
                    {"peak_rss_kb", peak_rss},
                    {"hwm_kb", last.service.hwm_kb},
                    {"threads_max", max_threads},
                    {"cpu_percent", cpu_percent},
                    {"sim_cpu_percent", sim_cpu_percent},
                    {"warnings", warnings}};
    std::ofstream(options.json_file) << figures.dump(2) << "\n";
  }

  // 7. Stop both with SIGTERM.
  for (Child* child : {&service, &sim}) {
    if (auto failure = StopCleanly(*child, std::chrono::seconds(30))) fail(*failure);
  }
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return lab_orders::bench::BenchMain<Options>(argc, argv, "bench_pending_appointments",
                                               "lab-orders-bench", ParseOptions, Run);
}
