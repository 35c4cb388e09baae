// Benchmark (not a test): how many orders lab-orders makes per second, how many it holds in
// flight, what each costs, and how far that is from what this machine can do at all. It starts
// junction-sim and lab-orders on free ports, drives them with the epoll load driver
// (load_driver.h) for a fixed time at a fixed concurrency, and prints one table:
//   ceiling A  GET /healthz at the (a)/(c) concurrency: what the same server does with no work
//   (a)        POST /v1/labs/orders, Junction at 0 ms: throughput
//   (c)        the keys (a) finished, sent again: the replay path
//   ceiling B  GET /healthz at the (b) concurrency, on the (b) service
//   (b)        POST /v1/labs/orders, Junction at 200 ms, 1,000 connections: concurrency
//   (d)        1,000 appointments pending under the workflow (bench_pending_appointments)
// then each figure against the issue's targets. Figures are printed, never asserted; the exit
// code says only whether the run itself worked. See bench/README.md.

#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "load_driver.h"

namespace {

using nlohmann::json;
using namespace lab_orders::bench;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

// ---- options -----------------------------------------------------------------------------------

struct Options {
  std::string scenarios = "abcd";
  std::string database;  // empty: a new SQLite file per service in the temporary directory
  double duration_s = 20;
  double healthz_s = 10;
  double warmup_s = 2;
  int connections_a = 64;
  int connections_b = 1000;
  int latency_b_ms = 200;
  int pending_orders = 1000;
  double pending_window_s = 30;
  std::map<std::string, std::string> service_settings;  // --set NAME=VALUE, for every service
  std::string wrk;  // wrk's path: /healthz again with wrk, to check the driver against it
  bool profile = false;
  bool keep = false;
};

constexpr const char* kUsage =
    R"(bench_load: lab-orders' throughput, concurrency and replay cost against /healthz

Usage: bench_load [flags]

  --scenarios LETTERS     which of a, b, c, d to run (abcd); c replays the keys a finished
  --database URL          LAB_ORDERS_DATABASE for every service started; on PostgreSQL each
                          service gets a new database on that server, dropped after (default: a new
                          SQLite file per service in the temporary directory); e.g.
                          sqlite:/dev/shm/bench.db to take the disk's fsync out
  --duration S            seconds of load for each of a, b and c (20)
  --healthz-duration S    seconds of load for each /healthz ceiling (10)
  --warmup S              seconds at the start of each load left out of the figures (2)
  --connections-a N       connections for the ceiling, a and c (64)
  --connections-b N       connections for b and its ceiling (1000)
  --latency-b-ms N        junction-sim --latency-ms for b (200)
  --pending-orders N      d: appointments held pending (1000)
  --pending-window S      d: seconds measured once they are all pending (30)
  --set NAME=VALUE        give every lab-orders started this setting too (repeatable), e.g.
                          --set JUNCTION_MAX_IDLE_CONNECTIONS=64
  --wrk PATH              after each /healthz ceiling, the same load from wrk (Debian's wrk)
                          for comparison: a driver that were the bottleneck would fall short
  --profile               perf record the service during a, b and c; the top of each report
                          is printed and the reports kept (needs perf: linux-perf)
  --keep                  keep the temporary directory (databases, logs, profiles)
  --help                  this text

Nothing is asserted: a target missed is a figure in the table. Exit code 1 for a run that did
not work (a process did not start or stop cleanly, a load got no answer at all), 2 for bad
flags, else 0.
)";

Options ParseOptions(int argc, char** argv) {
  Options options;
  Flags flags(argc, argv, kUsage);
  while (auto flag = flags.Next()) {
    if (*flag == "--scenarios") {
      options.scenarios = flags.Value();
      if (options.scenarios.empty() ||
          options.scenarios.find_first_not_of("abcd") != std::string::npos) {
        throw std::invalid_argument("--scenarios wants letters from abcd");
      }
    } else if (*flag == "--database") {
      options.database = flags.Value();
    } else if (*flag == "--duration") {
      options.duration_s = flags.Seconds(1, 3600);
    } else if (*flag == "--healthz-duration") {
      options.healthz_s = flags.Seconds(1, 3600);
    } else if (*flag == "--warmup") {
      options.warmup_s = flags.Seconds(0, 600);
    } else if (*flag == "--connections-a") {
      options.connections_a = flags.Integer(1, 10000);
    } else if (*flag == "--connections-b") {
      options.connections_b = flags.Integer(1, 10000);
    } else if (*flag == "--latency-b-ms") {
      options.latency_b_ms = flags.Integer(0, 60000);
    } else if (*flag == "--pending-orders") {
      options.pending_orders = flags.Integer(1, 1000000);
    } else if (*flag == "--pending-window") {
      options.pending_window_s = flags.Seconds(1, 86400);
    } else if (*flag == "--set") {
      std::string setting = flags.Value();
      size_t equals = setting.find('=');
      if (equals == std::string::npos || equals == 0) {
        throw std::invalid_argument("--set wants NAME=VALUE");
      }
      options.service_settings[setting.substr(0, equals)] = setting.substr(equals + 1);
    } else if (*flag == "--wrk") {
      options.wrk = flags.Value();
    } else if (*flag == "--profile" && !flags.has_value()) {
      options.profile = true;
    } else if (*flag == "--keep" && !flags.has_value()) {
      options.keep = true;
    } else {
      flags.Unknown();
    }
  }
  if (options.warmup_s >= std::min(options.duration_s, options.healthz_s)) {
    throw std::invalid_argument("--warmup must be shorter than every load");
  }
  return options;
}

bool Runs(const Options& options, char scenario) {
  return options.scenarios.find(scenario) != std::string::npos;
}

// ---- a simulator and a service -----------------------------------------------------------------

// junction-sim and lab-orders started for one set of scenarios, stopped with SIGTERM.
struct Deployment {
  std::unique_ptr<ServiceDatabase> database;  // outlives the service: dropped after it stops
  std::unique_ptr<Child> sim;
  std::unique_ptr<Child> service;
  unsigned short sim_port = 0;
  unsigned short service_port = 0;
  std::string token;
  std::map<std::string, std::string> settings;  // what the service was given beyond defaults
};

Deployment Deploy(const std::string& name, const Options& options, const fs::path& directory,
                  const std::string& run_id, int sim_latency_ms, int sim_threads,
                  const std::map<std::string, std::string>& settings) {
  Deployment deployment;
  fs::path own = directory / name;
  fs::create_directories(own);
  std::vector<std::string> sim_args = {JUNCTION_SIM_BINARY, "--listen", "127.0.0.1:0", "--threads",
                                       std::to_string(sim_threads)};
  if (sim_latency_ms > 0) {
    sim_args.insert(sim_args.end(), {"--latency-ms", std::to_string(sim_latency_ms)});
  }
  deployment.sim = std::make_unique<Child>("junction-sim", sim_args, InheritedEnvironment(), own);
  deployment.sim_port =
      PortFromListeningLine("junction-sim", deployment.sim->FirstLine(std::chrono::seconds(30)));
  deployment.database = std::make_unique<ServiceDatabase>(
      options.database.empty() ? "sqlite:" + (own / "lab-orders.db").string() : options.database,
      name);
  const std::string& database = deployment.database->url();
  std::map<std::string, std::string> all_settings = settings;
  for (const auto& [name, value] : options.service_settings) all_settings[name] = value;
  std::map<std::string, std::string> environment =
      ServiceEnvironment(database, deployment.sim_port, run_id, all_settings);
  deployment.settings = all_settings;
  deployment.service = std::make_unique<Child>(
      "lab-orders", std::vector<std::string>{LAB_ORDERS_BINARY, "serve"}, environment, own);
  deployment.service_port =
      PortFromListeningLine("lab-orders", deployment.service->FirstLine(std::chrono::seconds(60)));
  deployment.token = MintToken(environment, "bench-" + name + "-" + run_id, own);
  std::cerr << name << ": junction-sim on port " << deployment.sim_port << " (latency "
            << sim_latency_ms << " ms), lab-orders on port " << deployment.service_port << " (pid "
            << deployment.service->pid() << "), files in " << own.string() << "\n";
  return deployment;
}

// ---- one load, measured ------------------------------------------------------------------------

struct SimStats {
  long long calls_total = 0;
  long long connections_opened = 0;
  std::map<std::string, long long> operations;
};

SimStats ReadSimStats(unsigned short sim_port) {
  HttpSession session(sim_port);
  Reply reply = session.Call("GET", "/_sim/stats");
  if (reply.status != 200) throw std::runtime_error("/_sim/stats: " + std::to_string(reply.status));
  json body = reply.Json();
  SimStats stats;
  stats.calls_total = body.value("calls_total", 0LL);
  stats.connections_opened = body.value("connections_opened", 0LL);
  for (const auto& [name, count] : body["operations"].items()) {
    stats.operations[name] = count.get<long long>();
  }
  return stats;
}

struct Phase {
  std::string column;
  int connections = 0;
  int junction_latency_ms = 0;
  LoadResult load;
  double seconds = 0;  // wall time of the whole load, for CPU shares
  long peak_rss_kb = 0;
  long hwm_kb = 0;
  int max_threads = 0;
  double service_cpu = 0;
  double sim_cpu = 0;
  SimStats junction;               // calls during the load
  std::string profile;             // the top of `perf report`, with --profile
  std::optional<double> wrk_rate;  // the same load from wrk, with --wrk
};

// Samples the service's RSS and threads every 100 ms while a load runs.
class ProcSampler {
 public:
  explicit ProcSampler(pid_t pid) : pid_(pid), thread_([this] { Loop(); }) {}
  ~ProcSampler() { Finish(); }
  void Finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  long peak_rss_kb() const { return peak_rss_kb_; }
  int max_threads() const { return max_threads_; }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    while (!done_) {
      ProcSample sample = ReadProc(pid_);
      peak_rss_kb_ = std::max(peak_rss_kb_, sample.rss_kb);
      max_threads_ = std::max(max_threads_, sample.threads);
      wake_.wait_for(lock, milliseconds(100));
    }
  }
  pid_t pid_;
  long peak_rss_kb_ = 0;
  int max_threads_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

std::string TopOfProfile(const fs::path& data, const fs::path& directory, const std::string& name) {
  fs::path report = directory / (name + ".perf.txt");
  Child reporter("perf-report-" + name,
                 {"/usr/bin/perf", "report", "-i", data.string(), "--stdio", "--no-children",
                  "--sort", "dso,sym", "--percent-limit", "1"},
                 InheritedEnvironment(), directory);
  reporter.Wait(std::chrono::seconds(300));
  std::string text = reporter.Stdout();
  std::ofstream(report) << text;
  std::string top;
  int lines = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line) && lines < 15) {
    if (line.empty() || line[0] == '#') continue;
    if (line.find('%') == std::string::npos) continue;
    top += "    " + line.substr(0, 110) + "\n";
    ++lines;
  }
  return top + "    (whole report: " + report.string() + ")\n";
}

Phase Measure(const std::string& column, Deployment& deployment, const LoadPlan& plan,
              int junction_latency_ms, bool profile, const fs::path& directory) {
  Phase phase;
  phase.column = column;
  phase.connections = plan.connections;
  phase.junction_latency_ms = junction_latency_ms;
  std::cerr << column << ": " << plan.connections << " connections for "
            << Fixed(plan.duration_s, 0) << " s...\n";
  pid_t pid = deployment.service->pid();
  SimStats junction_before = ReadSimStats(deployment.sim_port);
  ProcSample service_before = ReadProc(pid);
  ProcSample sim_before = ReadProc(deployment.sim->pid());
  std::unique_ptr<Child> perf;
  std::string perf_name;
  if (profile) {
    perf_name = column;
    std::replace_if(
        perf_name.begin(), perf_name.end(), [](char c) { return !std::isalnum(c); }, '_');
    perf = std::make_unique<Child>(
        "perf-record-" + perf_name,
        std::vector<std::string>{"/usr/bin/perf", "record", "-F", "499", "-g", "-p",
                                 std::to_string(pid), "-o",
                                 (directory / (perf_name + ".perf.data")).string()},
        InheritedEnvironment(), directory);
  }
  auto started = BenchClock::now();
  ProcSampler sampler(pid);
  phase.load = RunLoad(plan);
  sampler.Finish();
  phase.seconds = std::chrono::duration<double>(BenchClock::now() - started).count();
  ProcSample service_after = ReadProc(pid);
  ProcSample sim_after = ReadProc(deployment.sim->pid());
  if (perf) {
    perf->Stop(std::chrono::seconds(60));  // SIGTERM: perf writes its data and exits
    phase.profile = TopOfProfile(directory / (perf_name + ".perf.data"), directory, perf_name);
  }
  SimStats junction_after = ReadSimStats(deployment.sim_port);
  phase.peak_rss_kb = std::max(sampler.peak_rss_kb(), service_after.rss_kb);
  phase.hwm_kb = service_after.hwm_kb;
  phase.max_threads = std::max(sampler.max_threads(), service_after.threads);
  phase.service_cpu = CpuPercent(service_before, service_after, phase.seconds);
  phase.sim_cpu = CpuPercent(sim_before, sim_after, phase.seconds);
  phase.junction.calls_total = junction_after.calls_total - junction_before.calls_total;
  phase.junction.connections_opened =
      junction_after.connections_opened - junction_before.connections_opened;
  for (const auto& [name, count] : junction_after.operations) {
    long long delta = count - junction_before.operations[name];
    if (delta > 0) phase.junction.operations[name] = delta;
  }
  if (!deployment.service->Running()) throw std::runtime_error("lab-orders exited under load");
  std::cerr << "  " << Fixed(phase.load.Rate(), 0) << " answers/s, p99 "
            << Fixed(phase.load.Percentile(0.99), 1) << " ms; Junction calls:";
  for (const auto& [name, count] : phase.junction.operations)
    std::cerr << " " << name << " " << count;
  std::cerr << "\n";
  return phase;
}

// wrk's requests/s for GET /healthz at the same concurrency and duration (one wrk thread, as
// the driver has one), or nullopt if it could not run.
std::optional<double> WrkRate(const Options& options, unsigned short port, int connections,
                              const fs::path& directory) {
  Child wrk("wrk",
            {options.wrk, "-t1", "-c" + std::to_string(connections),
             "-d" + Fixed(options.healthz_s, 0) + "s", "--timeout", "30s",
             "http://127.0.0.1:" + std::to_string(port) + "/healthz"},
            InheritedEnvironment(), directory);
  int status = wrk.Wait(std::chrono::seconds(int(options.healthz_s) + 60));
  std::string out = wrk.Stdout();
  size_t at = out.find("Requests/sec:");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || at == std::string::npos) {
    std::cerr << "wrk failed (" << DescribeExit(status) << "): " << out << wrk.Log() << "\n";
    return std::nullopt;
  }
  double rate = std::stod(out.substr(at + 13));
  std::cerr << "  wrk: " << Fixed(rate, 0) << " requests/s\n";
  return rate;
}

// The requests of a scenario.
LoadPlan HealthzPlan(unsigned short port, int connections, const Options& options) {
  LoadPlan plan;
  plan.port = port;
  plan.connections = connections;
  plan.duration_s = options.healthz_s;
  plan.warmup_s = options.warmup_s;
  std::string request = HttpRequestText("GET", "/healthz", {});
  plan.request = [request](long long) { return request; };
  return plan;
}

std::string OrderRequest(const Deployment& deployment, const std::string& run_id, long long n) {
  return HttpRequestText("POST", "/v1/labs/orders",
                         {{"Authorization", "Bearer " + deployment.token},
                          {"Content-Type", "application/json"},
                          {"Idempotency-Key", "bench-" + run_id + "-" + std::to_string(n)}},
                         OrderBody(n, run_id).dump());
}

LoadPlan OrdersPlan(const Deployment& deployment, const std::string& run_id, int connections,
                    const Options& options) {
  LoadPlan plan;
  plan.port = deployment.service_port;
  plan.connections = connections;
  plan.duration_s = options.duration_s;
  plan.warmup_s = options.warmup_s;
  plan.request = [&deployment, run_id](long long n) { return OrderRequest(deployment, run_id, n); };
  return plan;
}

// ---- (d): bench_pending_appointments -----------------------------------------------------------

std::optional<json> RunPending(const Options& options, const fs::path& directory) {
  fs::path figures = directory / "pending.json";
  std::vector<std::string> args = {BENCH_PENDING_BINARY,
                                   "--orders",
                                   std::to_string(options.pending_orders),
                                   "--window",
                                   Fixed(options.pending_window_s, 0),
                                   "--json",
                                   figures.string()};
  if (!options.database.empty()) args.insert(args.end(), {"--database", options.database});
  std::cerr << "(d) pending: bench_pending_appointments --orders " << options.pending_orders
            << " --window " << Fixed(options.pending_window_s, 0)
            << " (about two minutes to get them all pending)...\n";
  fs::path own = directory / "d";
  fs::create_directories(own);
  Child pending("bench_pending_appointments", args, InheritedEnvironment(), own);
  int status = pending.Wait(std::chrono::seconds(1800));
  std::cerr << pending.Log();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !fs::exists(figures)) {
    std::cerr << "FAILED: bench_pending_appointments " << DescribeExit(status) << "\n";
    return std::nullopt;
  }
  return json::parse(ReadFile(figures));
}

// ---- the table ---------------------------------------------------------------------------------

class Table {
 public:
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  void Row(const std::string& label, const std::vector<std::string>& cells) {
    rows_.push_back({label, cells});
  }
  void Print(std::ostream& out) const {
    const int label_width = 34, cell_width = 16;
    auto line = [&](const std::string& label, const std::vector<std::string>& cells) {
      out << std::left << std::setw(label_width) << label;
      for (const std::string& cell : cells) out << std::right << std::setw(cell_width) << cell;
      out << "\n";
    };
    line("", columns_);
    out << std::string(size_t(label_width + cell_width * int(columns_.size())), '-') << "\n";
    for (const auto& [label, cells] : rows_) line(label, cells);
  }

 private:
  std::vector<std::string> columns_;
  std::vector<std::pair<std::string, std::vector<std::string>>> rows_;
};

// Junction calls made to create orders (the request's own calls; the workflow's come on top).
long long CreationCalls(const Phase& phase) {
  long long calls = 0;
  for (const char* operation : {"create_user", "resolve_user", "create_order"}) {
    if (auto it = phase.junction.operations.find(operation);
        it != phase.junction.operations.end()) {
      calls += it->second;
    }
  }
  return calls;
}

long long Created(const Phase& phase) { return phase.load.Count(201); }

// Seconds of service CPU per answer: its CPU over the whole load over the answers at the
// measured rate for as long.
double CpuPerAnswer(const Phase& phase) {
  double answers = phase.load.Rate() * phase.seconds;
  return answers > 0 ? phase.service_cpu / 100 * phase.seconds / answers : 0;
}

bool CreatesOrders(const Phase& phase) {
  return phase.column == "(a) orders" || phase.column == "(b) orders";
}

std::string Verdict(bool met) { return met ? "met" : "MISSED"; }

// A rate target's ratio again by service CPU per answer: what the load's answer costs against
// what /healthz costs. When the two verdicts differ, one of the loads did not get its share of
// the machine, and the rate ratio says more about the neighbours than about the service.
void PrintCpuCheck(const Phase& ceiling, const Phase& load, double target_percent) {
  double share = 100 * CpuPerAnswer(ceiling) / std::max(CpuPerAnswer(load), 1e-9);
  double rate_share = 100 * load.load.Rate() / std::max(ceiling.load.Rate(), 1e-9);
  bool agree = (share >= target_percent) == (rate_share >= target_percent);
  PrintRow(
      "  the same by service CPU per answer",
      Fixed(share, 1) + "%: " + Verdict(share >= target_percent) +
          (agree ? "" : " (disagrees: a load was short of CPU; trust this one, or run again)"));
}

// ---- the run -----------------------------------------------------------------------------------

int Run(const Options& options, const fs::path& directory) {
  const std::string run_id = RandomHex(8);
  bool ok = true;
  std::vector<Phase> phases;
  std::optional<json> pending;
  std::map<std::string, std::string> settings_used;

  // A, for (a) and (c): a deployment's defaults (64 HTTP threads), Junction answering at once.
  if (Runs(options, 'a') || Runs(options, 'c')) {
    Deployment a = Deploy("a", options, directory, run_id, 0, 1024, {});
    phases.push_back(Measure("ceiling A", a,
                             HealthzPlan(a.service_port, options.connections_a, options), 0, false,
                             directory));
    if (!options.wrk.empty()) {
      phases.back().wrk_rate = WrkRate(options, a.service_port, options.connections_a, directory);
    }
    // The keys (a) finished, for (c) to send again with the same bodies.
    std::vector<long long> finished;  // told by the driver's one thread
    if (Runs(options, 'a') || Runs(options, 'c')) {
      LoadPlan plan = OrdersPlan(a, run_id, options.connections_a, options);
      plan.on_answer = [&](long long n, int status) {
        if (status == 201) finished.push_back(n);
      };
      if (!Runs(options, 'a')) plan.duration_s = std::max(5.0, options.warmup_s + 3);
      Phase orders = Measure("(a) orders", a, plan, 0, options.profile, directory);
      if (Runs(options, 'a')) phases.push_back(std::move(orders));
    }
    if (Runs(options, 'c')) {
      if (finished.empty()) throw std::runtime_error("(a) finished no order for (c) to replay");
      // Built once: the driver sends them in turn, as many times as the time allows.
      constexpr size_t kMostKeys = 20000;
      std::vector<std::string> replays;
      for (size_t i = 0; i < finished.size() && i < kMostKeys; ++i) {
        replays.push_back(OrderRequest(a, run_id, finished[i]));
      }
      LoadPlan plan;
      plan.port = a.service_port;
      plan.connections = options.connections_a;
      plan.duration_s = options.duration_s;
      plan.warmup_s = options.warmup_s;
      plan.request = [&replays](long long n) { return replays[size_t(n) % replays.size()]; };
      phases.push_back(Measure("(c) replays", a, plan, 0, options.profile, directory));
    }
    for (Child* child : {a.service.get(), a.sim.get()}) {
      if (auto failure = StopCleanly(*child, std::chrono::seconds(60))) {
        std::cerr << "FAILED: " << *failure << "\n";
        ok = false;
      }
    }
  }

  // B, for (b): as many HTTP threads as connections (POCO serves a connection per thread) and a
  // simulator with as many. On PostgreSQL, a pool of 80 of the server's default 100 connections:
  // the default 16 answers most of 1,000 requests in flight 503 after its 1 s wait.
  if (Runs(options, 'b')) {
    std::map<std::string, std::string> settings = {
        {"LAB_ORDERS_HTTP_THREADS", std::to_string(options.connections_b + 64)}};
    if (options.database.rfind("postgres", 0) == 0) settings["LAB_ORDERS_DATABASE_POOL"] = "80";
    Deployment b = Deploy("b", options, directory, run_id, options.latency_b_ms,
                          options.connections_b + 256, settings);
    settings_used = b.settings;
    phases.push_back(Measure("ceiling B", b,
                             HealthzPlan(b.service_port, options.connections_b, options),
                             options.latency_b_ms, false, directory));
    if (!options.wrk.empty()) {
      phases.back().wrk_rate = WrkRate(options, b.service_port, options.connections_b, directory);
    }
    phases.push_back(Measure("(b) orders", b, OrdersPlan(b, run_id, options.connections_b, options),
                             options.latency_b_ms, options.profile, directory));
    for (Child* child : {b.service.get(), b.sim.get()}) {
      if (auto failure = StopCleanly(*child, std::chrono::seconds(60))) {
        std::cerr << "FAILED: " << *failure << "\n";
        ok = false;
      }
    }
  }

  if (Runs(options, 'd')) {
    pending = RunPending(options, directory);
    if (!pending) ok = false;
  }

  // The table: a column per load, (d) last.
  std::vector<std::string> columns;
  for (const Phase& phase : phases) columns.push_back(phase.column);
  if (pending) columns.push_back("(d) pending");
  auto cells = [&](auto value_of, const std::string& for_d = "") {
    std::vector<std::string> row;
    for (const Phase& phase : phases) row.push_back(value_of(phase));
    if (pending) row.push_back(for_d);
    return row;
  };
  Table table(columns);
  table.Row("connections",
            cells([](const Phase& p) { return std::to_string(p.connections); },
                  std::to_string(pending ? (*pending)["workers"].get<int>() : 0) + " workers"));
  table.Row("Junction latency (ms)",
            cells([](const Phase& p) { return std::to_string(p.junction_latency_ms); }, "0"));
  table.Row("answers/s (2xx)", cells([](const Phase& p) {
              long long ok_answers = 0;
              for (const auto& [status, count] : p.load.statuses) {
                if (status >= 200 && status < 300) ok_answers += count;
              }
              return Fixed(double(ok_answers) / p.load.seconds, 0);
            }));
  table.Row(
      "  orders created/s (201)",
      cells(
          [](const Phase& p) {
            return CreatesOrders(p) ? Fixed(double(Created(p)) / p.load.seconds, 1) : "-";
          },
          pending ? Fixed((*pending)["setup_orders_per_s"].get<double>(), 1) + " setup" : ""));
  const std::vector<std::pair<std::string, double>> percentiles = {
      {"latency p50 (ms)", 0.5}, {"latency p90 (ms)", 0.9}, {"latency p99 (ms)", 0.99}};
  for (const auto& [label, p] : percentiles) {
    table.Row(
        label,
        cells([p = p](const Phase& phase) { return Fixed(phase.load.Percentile(p), 1); },
              pending && p == 0.99 ? Fixed((*pending)["setup_p99_ms"].get<double>(), 0) + " setup"
                                   : ""));
  }
  table.Row("latency max (ms)", cells([](const Phase& p) { return Fixed(p.load.Max(), 1); }));
  // Errors by kind: every non-2xx status and every failure seen in any load.
  std::set<int> statuses;
  std::set<std::string> failures;
  for (const Phase& phase : phases) {
    for (const auto& [status, count] : phase.load.statuses) {
      if (status < 200 || status >= 300) statuses.insert(status);
    }
    for (const auto& [kind, count] : phase.load.failures) failures.insert(kind);
  }
  if (statuses.empty() && failures.empty())
    table.Row("errors", cells([](const Phase&) { return std::string("0"); }));
  for (int status : statuses) {
    table.Row("errors: HTTP " + std::to_string(status),
              cells([&](const Phase& p) { return std::to_string(p.load.Count(status)); }));
  }
  for (const std::string& kind : failures) {
    table.Row("errors: " + kind, cells([&](const Phase& p) {
                auto it = p.load.failures.find(kind);
                return std::to_string(it == p.load.failures.end() ? 0 : it->second);
              }));
  }
  table.Row("connections never answered",
            cells([](const Phase& p) { return std::to_string(p.load.never_answered); }));
  table.Row("slowest first answer (ms)",
            cells([](const Phase& p) { return Fixed(p.load.slowest_first_answer_ms, 0); }));
  table.Row("peak RSS (MiB, sampled)",
            cells([](const Phase& p) { return Fixed(double(p.peak_rss_kb) / 1024, 1); },
                  pending ? Fixed((*pending)["peak_rss_kb"].get<double>() / 1024, 1) : ""));
  table.Row("threads (max)",
            cells([](const Phase& p) { return std::to_string(p.max_threads); },
                  pending ? std::to_string((*pending)["threads_max"].get<int>()) : ""));
  // Per order started (create_order is sent once per order), warm-up included, as the simulator
  // counts: orders still in flight when time is up weigh nothing, as they would per answer.
  auto per_order = [](const Phase& p) {
    auto it = p.junction.operations.find("create_order");
    if (!CreatesOrders(p)) return std::string("-");
    if (it == p.junction.operations.end() || it->second == 0) return std::string("-");
    double orders = double(it->second);
    return Fixed(double(CreationCalls(p)) / orders, 2) + " +" +
           Fixed(double(p.junction.calls_total - CreationCalls(p)) / orders, 2);
  };
  table.Row("Junction calls per order",
            cells(per_order, pending ? Fixed(double((*pending)["setup_junction_calls"]) /
                                                 double((*pending)["orders"]),
                                             1) +
                                           " setup"
                                     : ""));
  table.Row("Junction connections opened",
            cells([](const Phase& p) { return std::to_string(p.junction.connections_opened); }));
  table.Row(
      "Junction calls/s",
      cells([](const Phase& p) { return Fixed(double(p.junction.calls_total) / p.seconds, 0); },
            pending ? Fixed((*pending)["junction_calls_per_s"].get<double>(), 1) : ""));
  table.Row("CPU % of a core: service",
            cells([](const Phase& p) { return Fixed(p.service_cpu, 0); },
                  pending ? Fixed((*pending)["cpu_percent"].get<double>(), 1) : ""));
  // What an answer costs the service, whatever share of the machine it got: steadier than the
  // rates on a shared machine, where a ceiling that did not get its CPU flatters every ratio.
  table.Row("service CPU per answer (us)",
            cells([](const Phase& p) { return Fixed(CpuPerAnswer(p) * 1e6, 0); }));
  table.Row("CPU % of a core: junction-sim",
            cells([](const Phase& p) { return Fixed(p.sim_cpu, 0); },
                  pending ? Fixed((*pending)["sim_cpu_percent"].get<double>(), 1) : ""));
  table.Row("CPU % of a core: load driver",
            cells([](const Phase& p) { return Fixed(p.load.DriverCpuPercent(), 0); }));
  bool wrk_ran = std::any_of(phases.begin(), phases.end(),
                             [](const Phase& p) { return p.wrk_rate.has_value(); });
  if (wrk_ran) {
    table.Row("same load from wrk (requests/s)", cells([](const Phase& p) {
                return p.wrk_rate ? Fixed(*p.wrk_rate, 0) : std::string("-");
              }));
  }

  std::cout << "\nlab-orders load benchmark (" << Fixed(options.duration_s, 0) << " s loads, "
            << Fixed(options.healthz_s, 0) << " s ceilings, first " << Fixed(options.warmup_s, 0)
            << " s of each left out; database "
            << (options.database.empty() ? "SQLite, a new file per service in $TMPDIR"
                                         : options.database)
            << ")\n\n";
  table.Print(std::cout);
  std::cout << "\nJunction calls per order: the order's own calls (create or resolve user, create "
               "order) + the workflow's, per order started.\n";

  // The targets.
  auto find = [&](const std::string& column) -> const Phase* {
    for (const Phase& phase : phases) {
      if (phase.column == column) return &phase;
    }
    return nullptr;
  };
  std::cout << "\nagainst the targets:\n";
  const Phase* ceiling_a = find("ceiling A");
  if (const Phase* a = find("(a) orders"); a && ceiling_a) {
    double share = 100 * a->load.Rate() / std::max(ceiling_a->load.Rate(), 1e-9);
    double created_share =
        100 * double(Created(*a)) / a->load.seconds / std::max(ceiling_a->load.Rate(), 1e-9);
    PrintRow("(a) orders/s >= 15% of /healthz",
             Fixed(double(Created(*a)) / a->load.seconds, 0) + " of " +
                 Fixed(ceiling_a->load.Rate(), 0) + " = " + Fixed(created_share, 1) +
                 "%: " + Verdict(created_share >= 15 && share >= 15));
    PrintCpuCheck(*ceiling_a, *a, 15);
    PrintRow("(a) p99 < 25 ms",
             Fixed(a->load.Percentile(0.99), 1) + " ms: " + Verdict(a->load.Percentile(0.99) < 25));
  }
  if (const Phase* b = find("(b) orders")) {
    auto started = b->junction.operations.find("create_order");
    double calls = started != b->junction.operations.end() && started->second > 0
                       ? double(CreationCalls(*b)) / double(started->second)
                       : 2.0;
    double upstream_s = calls * options.latency_b_ms / 1000.0;
    double bound = upstream_s > 0 ? b->connections / upstream_s : 0;
    double achieved = double(Created(*b)) / b->load.seconds;
    PrintRow("(b) >= 90% of connections / upstream time",
             Fixed(achieved, 0) + " of " + Fixed(bound, 0) + " (" + std::to_string(b->connections) +
                 " / (" + Fixed(calls, 2) + " calls x " + std::to_string(options.latency_b_ms) +
                 " ms)) = " + Fixed(bound > 0 ? 100 * achieved / bound : 0, 1) +
                 "%: " + Verdict(bound > 0 && achieved >= 0.9 * bound));
    long long refused = 0;
    for (const auto& [kind, count] : b->load.failures) {
      if (kind.rfind("connect", 0) == 0) refused += count;
    }
    PrintRow("(b) no connection refused or starved",
             std::to_string(refused) + " refused/failed to connect, " +
                 std::to_string(b->load.never_answered) +
                 " never answered: " + Verdict(refused == 0 && b->load.never_answered == 0));
    PrintRow("(b) peak RSS < 300 MB", Fixed(double(b->peak_rss_kb) / 1024, 1) + " MiB: " +
                                          Verdict(double(b->peak_rss_kb) * 1024 < 300e6));
  }
  if (const Phase* c = find("(c) replays"); c && ceiling_a) {
    double share = 100 * c->load.Rate() / std::max(ceiling_a->load.Rate(), 1e-9);
    PrintRow("(c) replays >= 50% of /healthz", Fixed(c->load.Rate(), 0) + " of " +
                                                   Fixed(ceiling_a->load.Rate(), 0) + " = " +
                                                   Fixed(share, 1) + "%: " + Verdict(share >= 50));
    PrintCpuCheck(*ceiling_a, *c, 50);
  }
  if (pending) {
    PrintRow("(d) Junction calls/s under the rate limit",
             Fixed((*pending)["junction_calls_per_s"].get<double>(), 1) + " (limit " +
                 std::to_string((*pending)["rate_limit"].get<int>()) + "), " +
                 std::to_string((*pending)["held_pending"].get<int>()) + " of " +
                 std::to_string((*pending)["orders"].get<int>()) + " held pending: " +
                 Verdict((*pending)["rate_under_limit"].get<bool>() &&
                         (*pending)["held_pending"] == (*pending)["orders"]));
  }
  if (!options.service_settings.empty()) {
    std::cout << "\nevery service also had (--set):";
    for (const auto& [name, value] : options.service_settings) {
      std::cout << " " << name << "=" << value;
    }
    std::cout << "\n";
  }
  if (!settings_used.empty()) {
    std::cout << "\n(b) service settings:";
    for (const auto& [name, value] : settings_used) std::cout << " " << name << "=" << value;
    std::cout << "; junction-sim --threads " << options.connections_b + 256 << "\n";
  }
  bool profiled = false;
  for (const Phase& phase : phases) {
    if (phase.profile.empty()) continue;
    if (!profiled) std::cout << "\nwhere the service's time went (perf, self time, top symbols):\n";
    profiled = true;
    std::cout << "  " << phase.column << ":\n" << phase.profile;
  }
  for (const Phase& phase : phases) {
    if (phase.load.answered == 0) {
      std::cerr << "FAILED: " << phase.column << " got no answer at all\n";
      ok = false;
    }
  }
  std::cout << std::endl;
  return ok ? 0 : 1;
}

// Many connections want many descriptors: the soft limit goes up to the hard one, for this
// program and the services it starts.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  RaiseDescriptorLimit();
  return lab_orders::bench::BenchMain<Options>(argc, argv, "bench_load", "lab-orders-bench-load",
                                               ParseOptions, Run);
}
