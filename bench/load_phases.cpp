#include "load_phases.h"

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

namespace lab_orders::bench {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

bool Runs(const LoadOptions& options, char scenario) {
  return options.scenarios.find(scenario) != std::string::npos;
}

bool IsPostgres(const std::string& database_url) {
  return database_url.rfind("postgresql://", 0) == 0 || database_url.rfind("postgres://", 0) == 0;
}

std::string StoreName(const LoadOptions& options) {
  return IsPostgres(options.database) ? "PostgreSQL" : "SQLite";
}

// ---- a simulator and a service -----------------------------------------------------------------

std::unique_ptr<Child> StartSim(const fs::path& directory, int latency_ms, int threads,
                                unsigned short* port) {
  std::vector<std::string> args = {JUNCTION_SIM_BINARY, "--listen", "127.0.0.1:0", "--threads",
                                   std::to_string(threads)};
  if (latency_ms > 0) args.insert(args.end(), {"--latency-ms", std::to_string(latency_ms)});
  auto sim = std::make_unique<Child>("junction-sim", args, InheritedEnvironment(), directory);
  *port = PortFromListeningLine("junction-sim", sim->FirstLine(std::chrono::seconds(30)));
  return sim;
}

Deployment Deploy(const std::string& name, const LoadOptions& options, const fs::path& directory,
                  const std::string& run_id, int sim_latency_ms, int sim_threads,
                  const std::map<std::string, std::string>& settings) {
  Deployment deployment;
  deployment.name = name;
  fs::path own = directory / name;
  fs::create_directories(own);
  deployment.sim = StartSim(own, sim_latency_ms, sim_threads, &deployment.sim_port);
  deployment.database = std::make_unique<ServiceDatabase>(
      options.database.empty() ? "sqlite:" + (own / "lab-orders.db").string() : options.database,
      name);
  if (IsPostgres(options.database)) {
    deployment.cluster = std::make_unique<PostgresMeter>(options.database);
  }
  const std::string& database = deployment.database->url();
  std::map<std::string, std::string> all_settings = settings;
  for (const auto& [setting, value] : options.service_settings) all_settings[setting] = value;
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

bool StopDeployment(Deployment& deployment) {
  bool clean = true;
  for (Child* child : {deployment.service.get(), deployment.sim.get()}) {
    if (auto failure = StopCleanly(*child, std::chrono::seconds(60))) {
      std::cerr << "FAILED: " << deployment.name << ": " << *failure << "\n";
      clean = false;
    }
  }
  return clean;
}

// ---- one load, measured ------------------------------------------------------------------------

namespace {

// PostgreSQL 15 backends report their WAL counts at most once a second, and one that goes idle
// with counts unreported reports them 10 s later (PGSTAT_IDLE_INTERVAL): pg_stat_wal is read
// again that long after an order load, so that it holds all of the load's flushes.
constexpr auto kPostgresStatsSettle = milliseconds(10500);

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

// Samples the service's RSS and threads (summed over its processes) every 100 ms while a load
// runs.
class ProcSampler {
 public:
  explicit ProcSampler(std::vector<pid_t> pids)
      : pids_(std::move(pids)), thread_([this] { Loop(); }) {}
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
      ProcSample sample = ReadProcs(pids_);
      peak_rss_kb_ = std::max(peak_rss_kb_, sample.rss_kb);
      max_threads_ = std::max(max_threads_, sample.threads);
      wake_.wait_for(lock, milliseconds(100));
    }
  }
  std::vector<pid_t> pids_;
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

}  // namespace

double WaitUntilQuiet(Deployment& deployment, double max_seconds) {
  const auto started = std::chrono::steady_clock::now();
  auto seconds_since = [](std::chrono::steady_clock::time_point from) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
  };
  const pid_t service = deployment.service->pid();
  const pid_t sim = deployment.sim->pid();
  int quiet_seconds = 0;
  while (quiet_seconds < 2 && seconds_since(started) < max_seconds) {
    const long long service_before = TreeCpuTicks(service);
    const long long sim_before = TreeCpuTicks(sim);
    std::this_thread::sleep_for(std::chrono::seconds(1));  // a bench's pace, not a test's sync
    const double busiest = std::max(TicksToSeconds(TreeCpuTicks(service) - service_before),
                                    TicksToSeconds(TreeCpuTicks(sim) - sim_before));
    quiet_seconds = busiest < 0.10 ? quiet_seconds + 1 : 0;
  }
  return seconds_since(started);
}

Phase Measure(const std::string& scenario, LoadKind kind, Deployment& deployment, LoadPlan plan,
              int junction_latency_ms, bool profile, const fs::path& directory) {
  Phase phase;
  phase.scenario = scenario;
  phase.peer = deployment.peer;
  phase.kind = kind;
  phase.connections = plan.connections;
  phase.junction_latency_ms = junction_latency_ms;
  std::string file_name = deployment.name + "-" + scenario;
  std::replace_if(
      file_name.begin(), file_name.end(), [](char c) { return !std::isalnum(c); }, '_');
  std::cerr << phase.Column() << ": " << plan.connections << " connections for "
            << Fixed(plan.duration_s, 0) << " s...\n";
  pid_t pid = deployment.service->pid();
  std::vector<pid_t> service_pids = ProcessTree(pid);
  PostgresMeter* cluster = deployment.cluster.get();
  SimStats junction_before = ReadSimStats(deployment.sim_port);
  long long service_before = TreeCpuTicks(pid);
  ProcSample sim_before = ReadProc(deployment.sim->pid());
  std::optional<long long> cluster_before = cluster ? cluster->CpuTicks() : std::nullopt;
  std::optional<long long> wal_before;
  if (cluster) wal_before = cluster->WalSyncs();
  // Fsyncs only where orders are made: counting turns on the syscall tracepoints, which cost
  // every system call on the machine a little while they are on.
  std::unique_ptr<FsyncCounter> fsyncs;
  if (kind == LoadKind::kOrders) {
    std::vector<pid_t> counted = service_pids;
    if (auto postmaster = cluster ? cluster->postmaster() : std::nullopt) {
      for (pid_t member : ProcessTree(*postmaster)) counted.push_back(member);
    }
    fsyncs = FsyncCounter::Start(counted, directory, file_name);
  }
  std::unique_ptr<Child> perf;
  if (profile) {
    perf = std::make_unique<Child>(
        "perf-record-" + file_name,
        std::vector<std::string>{"/usr/bin/perf", "record", "-F", "499", "-g", "-p",
                                 std::to_string(pid), "-o",
                                 (directory / (file_name + ".perf.data")).string()},
        InheritedEnvironment(), directory);
  }
  // Every answer's status, warm-up included (the driver's own tally leaves the warm-up out).
  plan.on_answer = [&phase, told = plan.on_answer](long long n, int status) {
    ++phase.whole_load_statuses[status];
    if (told) told(n, status);
  };
  auto started = BenchClock::now();
  ProcSampler sampler(service_pids);
  phase.load = RunLoad(plan);
  sampler.Finish();
  phase.seconds = std::chrono::duration<double>(BenchClock::now() - started).count();
  long long service_after = TreeCpuTicks(pid);
  ProcSample sim_after = ReadProc(deployment.sim->pid());
  std::optional<long long> cluster_after = cluster ? cluster->CpuTicks() : std::nullopt;
  if (fsyncs) phase.fsyncs = fsyncs->Finish();
  if (perf) {
    perf->Stop(std::chrono::seconds(60));  // SIGTERM: perf writes its data and exits
    phase.profile = TopOfProfile(directory / (file_name + ".perf.data"), directory, file_name);
  }
  SimStats junction_after = ReadSimStats(deployment.sim_port);
  ProcSample service_memory = ReadProcs(service_pids);
  phase.peak_rss_kb = std::max(sampler.peak_rss_kb(), service_memory.rss_kb);
  phase.hwm_kb = service_memory.hwm_kb;
  phase.max_threads = std::max(sampler.max_threads(), service_memory.threads);
  phase.service_cpu = 100 * TicksToSeconds(service_after - service_before) / phase.seconds;
  phase.sim_cpu = CpuPercent(sim_before, sim_after, phase.seconds);
  if (cluster_before && cluster_after) {
    phase.database_cpu = 100 * TicksToSeconds(*cluster_after - *cluster_before) / phase.seconds;
  }
  if (wal_before && kind == LoadKind::kOrders) {
    std::this_thread::sleep_for(kPostgresStatsSettle);
    phase.wal_syncs = cluster->WalSyncs() - *wal_before;
  }
  phase.junction.calls_total = junction_after.calls_total - junction_before.calls_total;
  phase.junction.connections_opened =
      junction_after.connections_opened - junction_before.connections_opened;
  for (const auto& [name, count] : junction_after.operations) {
    long long delta = count - junction_before.operations[name];
    if (delta > 0) phase.junction.operations[name] = delta;
  }
  if (!deployment.service->Running()) {
    throw std::runtime_error(deployment.service->name() + " exited under load");
  }
  std::cerr << "  " << Fixed(phase.load.Rate(), 0) << " answers/s, p99 "
            << Fixed(phase.load.Percentile(0.99), 1) << " ms; Junction calls:";
  for (const auto& [name, count] : phase.junction.operations) {
    std::cerr << " " << name << " " << count;
  }
  if (phase.fsyncs) std::cerr << "; fsyncs " << *phase.fsyncs;
  if (phase.wal_syncs) std::cerr << "; WAL flushes " << *phase.wal_syncs;
  std::cerr << "\n";
  return phase;
}

std::optional<double> WrkRate(const LoadOptions& options, unsigned short port, int connections,
                              const fs::path& directory) {
  // One wrk thread, as the driver has one.
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

// ---- the requests of each load -----------------------------------------------------------------

LoadPlan HealthzPlan(unsigned short port, int connections, const LoadOptions& options) {
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
                    const LoadOptions& options) {
  LoadPlan plan;
  plan.port = deployment.service_port;
  plan.connections = connections;
  plan.duration_s = options.duration_s;
  plan.warmup_s = options.warmup_s;
  plan.request = [&deployment, run_id](long long n) { return OrderRequest(deployment, run_id, n); };
  return plan;
}

std::optional<json> RunPending(const LoadOptions& options, const fs::path& directory) {
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

// ---- figures of a phase ------------------------------------------------------------------------

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

long long CreatedInWholeLoad(const Phase& phase) {
  auto it = phase.whole_load_statuses.find(201);
  return it == phase.whole_load_statuses.end() ? 0 : it->second;
}

double CpuPerAnswer(const Phase& phase) {
  // The service's CPU over the whole load, over the answers at the measured rate for as long.
  double answers = phase.load.Rate() * phase.seconds;
  return answers > 0 ? phase.service_cpu / 100 * phase.seconds / answers : 0;
}

std::optional<double> CpuPerOrder(const Phase& phase) {
  long long orders = CreatedInWholeLoad(phase);
  if (!CreatesOrders(phase) || orders == 0) return std::nullopt;
  double percent = phase.service_cpu + phase.database_cpu.value_or(0);
  return percent / 100 * phase.seconds / double(orders);
}

bool CreatesOrders(const Phase& phase) { return phase.kind == LoadKind::kOrders; }

}  // namespace lab_orders::bench
