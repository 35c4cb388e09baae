// Benchmark (not a test): how many orders lab-orders makes per second, how many it holds in
// flight, what each costs, and how far that is from what this machine can do at all and from
// the Node peer doing the same. It starts junction-sim and lab-orders on free ports, drives them
// with the epoll load driver (load_driver.h) for a fixed time at a fixed concurrency, and prints
// one table:
//   ceiling A  GET /healthz at the (a)/(c) concurrency: what the same server does with no work
//   (a)        POST /v1/labs/orders, Junction at 0 ms: throughput
//   (c)        the keys (a) finished, sent again: the replay path
//   ceiling B  GET /healthz at the (b) concurrency, on the (b) service
//   (b)        POST /v1/labs/orders, Junction at 200 ms, 1,000 connections: concurrency
//   (d)        1,000 appointments pending under the workflow (bench_pending_appointments)
//   (e)        an order every 100 ms while slow, silent and idle clients crowd the front door
//              (door_attacks.h)
// With --peer, the Node peer (peer.h) runs ceiling A, a and c after lab-orders does, then
// lab-orders and the peer run ceiling B and b in the same way, and each load is printed beside
// the peer's. Then each figure against the issue's targets. Figures are printed, never
// asserted; the exit code says only whether the run itself worked. See bench/README.md.

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.h"
#include "door_attacks.h"
#include "load_phases.h"
#include "load_report.h"
#include "peer.h"

namespace {

using nlohmann::json;
using namespace lab_orders::bench;
namespace fs = std::filesystem;

constexpr const char* kUsage =
    R"(bench_load: lab-orders' throughput, concurrency and replay cost against /healthz, and
against the Node peer

Usage: bench_load [flags]

  --scenarios LETTERS     which of a, b, c, d, e to run (abcde); c replays the keys a finished;
                          e sends an order every 100 ms while slow, silent and idle crowds
                          work on the front door (lab-orders only)
  --database URL          LAB_ORDERS_DATABASE for every service started; on PostgreSQL each
                          service gets a new database on that server, dropped after (default: a new
                          SQLite file per service in the temporary directory); e.g.
                          sqlite:/dev/shm/bench.db to take the disk's fsync out
  --duration S            seconds of load for each of a, b and c, and of orders in each e (20)
  --healthz-duration S    seconds of load for each /healthz ceiling (10)
  --warmup S              seconds at the start of each load left out of the figures (2)
  --connections-a N       connections for the ceiling, a and c (64)
  --connections-b N       connections for b and its ceiling (1000)
  --latency-b-ms N        junction-sim --latency-ms for b (200)
  --pending-orders N      d: appointments held pending (1000)
  --pending-window S      d: seconds measured once they are all pending (30)
  --set NAME=VALUE        give every lab-orders started this setting too (repeatable), e.g.
                          --set JUNCTION_MAX_IDLE_CONNECTIONS=64
  --peer DIR              the Node peer (server.js, its node_modules installed: npm ci): the
                          same ceilings, a, b and c against it, in turn with lab-orders'
  --peer-database URL     a PostgreSQL server for the peer, which gets a new database on it
                          (default: --database when that is PostgreSQL)
  --peer-set NAME=VALUE   give the peer this setting too (repeatable), e.g. PEER_WORKERS=2
  --node PATH             node for the peer (default: node on the PATH)
  --wrk PATH              after each /healthz ceiling, the same load from wrk (Debian's wrk)
                          for comparison: a driver that were the bottleneck would fall short
  --profile               perf record the service during a, b and c; the top of each report
                          is printed and the reports kept (needs perf: linux-perf)
  --workflow-defaults     run lab-orders' appointment workflow at its defaults (4 workers, 20
                          Junction calls/s) in a, b and c; without it, nearly idle (1 worker,
                          1 call/s), as the peer has no workflow (its README)
  --keep                  keep the temporary directory (databases, logs, profiles)
  --help                  this text

Nothing is asserted: a target missed is a figure in the table. Exit code 1 for a run that did
not work (a process did not start or stop cleanly, a load got no answer at all), 2 for bad
flags, else 0.
)";

// NAME=VALUE into settings, or std::invalid_argument naming the flag.
void AddSetting(const std::string& flag, const std::string& setting,
                std::map<std::string, std::string>& settings) {
  size_t equals = setting.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw std::invalid_argument(flag + " wants NAME=VALUE");
  }
  settings[setting.substr(0, equals)] = setting.substr(equals + 1);
}

LoadOptions ParseOptions(int argc, char** argv) {
  LoadOptions options;
  Flags flags(argc, argv, kUsage);
  while (auto flag = flags.Next()) {
    if (*flag == "--scenarios") {
      options.scenarios = flags.Value();
      if (options.scenarios.empty() ||
          options.scenarios.find_first_not_of("abcde") != std::string::npos) {
        throw std::invalid_argument("--scenarios wants letters from abcde");
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
      AddSetting(*flag, flags.Value(), options.service_settings);
    } else if (*flag == "--peer") {
      options.peer_dir = flags.Value();
    } else if (*flag == "--peer-database") {
      options.peer_database = flags.Value();
    } else if (*flag == "--peer-set") {
      AddSetting(*flag, flags.Value(), options.peer_settings);
    } else if (*flag == "--node") {
      options.node = flags.Value();
    } else if (*flag == "--wrk") {
      options.wrk = flags.Value();
    } else if (*flag == "--profile" && !flags.has_value()) {
      options.profile = true;
    } else if (*flag == "--keep" && !flags.has_value()) {
      options.keep = true;
    } else if (*flag == "--workflow-defaults" && !flags.has_value()) {
      options.workflow_defaults = true;
    } else {
      flags.Unknown();
    }
  }
  if (options.warmup_s >= std::min(options.duration_s, options.healthz_s)) {
    throw std::invalid_argument("--warmup must be shorter than every load");
  }
  if (!options.peer_dir.empty()) {
    if (!fs::exists(fs::path(options.peer_dir) / "server.js") ||
        !fs::exists(fs::path(options.peer_dir) / "node_modules")) {
      throw std::invalid_argument(
          "--peer wants the peer's folder with server.js and its "
          "node_modules (npm ci there)");
    }
    options.peer_dir = fs::absolute(options.peer_dir).string();
    if (options.peer_database.empty() && IsPostgres(options.database)) {
      options.peer_database = options.database;
    }
    if (!IsPostgres(options.peer_database)) {
      throw std::invalid_argument("the peer runs on PostgreSQL only: --peer-database URL");
    }
    if (options.node.empty()) options.node = FindNode();
    if (options.node.empty()) throw std::invalid_argument("no node on the PATH: --node PATH");
  }
  return options;
}

// The peer runs no appointment workflow: lab-orders' runs nearly idle beside it (one worker, one
// Junction call a second), unless --workflow-defaults.
std::map<std::string, std::string> WorkflowSettings(const LoadOptions& options) {
  if (options.workflow_defaults) return {};
  return {{"LAB_ORDERS_WORKERS", "1"}, {"LAB_ORDERS_JUNCTION_RATE", "1"}};
}

// Ceiling A, (a) and (c) on one deployment, lab-orders' or the peer's. wrk checks the load
// driver, so lab-orders' ceilings are enough for it; perf profiles lab-orders only (node's
// frames would need its own perf map).
void RunCeilingAndA(const LoadOptions& options, const fs::path& directory,
                    const std::string& run_id, Deployment& deployment, std::vector<Phase>& phases) {
  bool profile = options.profile && !deployment.peer;
  phases.push_back(Measure("ceiling A", LoadKind::kHealthz, deployment,
                           HealthzPlan(deployment.service_port, options.connections_a, options), 0,
                           false, directory));
  if (!options.wrk.empty() && !deployment.peer) {
    phases.back().wrk_rate =
        WrkRate(options, deployment.service_port, options.connections_a, directory);
  }
  // The keys (a) finished, for (c) to send again with the same bodies.
  std::vector<long long> finished;  // told by the driver's one thread
  LoadPlan plan = OrdersPlan(deployment, run_id, options.connections_a, options);
  plan.on_answer = [&](long long n, int status) {
    if (status == 201) finished.push_back(n);
  };
  if (!Runs(options, 'a')) plan.duration_s = std::max(5.0, options.warmup_s + 3);
  Phase orders = Measure("(a) orders", LoadKind::kOrders, deployment, plan, 0, profile, directory);
  if (Runs(options, 'a')) phases.push_back(std::move(orders));
  if (Runs(options, 'c')) {
    if (finished.empty()) throw std::runtime_error("(a) finished no order for (c) to replay");
    // Built once: the driver sends them in turn, as many times as the time allows. The most
    // recent keys, as retries follow their first request closely, and fewer than the finished
    // keys the service keeps in memory (LAB_ORDERS_REPLAY_CACHE_KEYS, 10,000): sent in turn,
    // more keys than that would miss the cache every time (its least recently used key is
    // always the next one sent) and measure the store's read, which
    // --set LAB_ORDERS_REPLAY_CACHE_KEYS=0 measures on purpose.
    constexpr size_t kMostKeys = 5000;
    std::vector<std::string> replays;
    for (size_t i = finished.size() > kMostKeys ? finished.size() - kMostKeys : 0;
         i < finished.size(); ++i) {
      replays.push_back(OrderRequest(deployment, run_id, finished[i]));
    }
    LoadPlan replay;
    replay.port = deployment.service_port;
    replay.connections = options.connections_a;
    replay.duration_s = options.duration_s;
    replay.warmup_s = options.warmup_s;
    replay.request = [&replays](long long n) { return replays[size_t(n) % replays.size()]; };
    // (a) leaves its orders' workflow running (bookings, on the same two cores): (c) measures
    // replays once it is done, as ceiling A measured /healthz on a quiet service.
    const double waited = WaitUntilQuiet(deployment, 180);
    std::cerr << deployment.name << ": (c) starts after " << Fixed(waited, 0)
              << " s, once the service is quiet\n";
    phases.push_back(
        Measure("(c) replays", LoadKind::kReplays, deployment, replay, 0, profile, directory));
  }
}

// Ceiling B and (b) on one deployment, lab-orders' or the peer's.
void RunCeilingAndB(const LoadOptions& options, const fs::path& directory,
                    const std::string& run_id, Deployment& deployment, std::vector<Phase>& phases) {
  phases.push_back(Measure("ceiling B", LoadKind::kHealthz, deployment,
                           HealthzPlan(deployment.service_port, options.connections_b, options),
                           options.latency_b_ms, false, directory));
  if (!options.wrk.empty() && !deployment.peer) {
    phases.back().wrk_rate =
        WrkRate(options, deployment.service_port, options.connections_b, directory);
  }
  phases.push_back(Measure("(b) orders", LoadKind::kOrders, deployment,
                           OrdersPlan(deployment, run_id, options.connections_b, options),
                           options.latency_b_ms, options.profile && !deployment.peer, directory));
}

int Run(const LoadOptions& options, const fs::path& directory) {
  const std::string run_id = RandomHex(8);
  const bool with_peer = !options.peer_dir.empty();
  bool ok = true;
  std::vector<Phase> phases;
  std::optional<json> pending;
  std::map<std::string, std::string> b_settings;

  // A, for (a) and (c): a deployment's defaults (64 HTTP threads), Junction answering at once.
  // Then the peer, the same way: one after the other, so that neither takes CPU from the other,
  // and close in time, so that the machine's other work weighs on both alike.
  if (Runs(options, 'a') || Runs(options, 'c')) {
    {
      Deployment a = Deploy("a", options, directory, run_id, 0, 1024, WorkflowSettings(options));
      RunCeilingAndA(options, directory, run_id, a, phases);
      ok = StopDeployment(a) && ok;
    }
    if (with_peer) {
      Deployment peer = DeployPeer("peer-a", options, directory, run_id, 0, 1024);
      RunCeilingAndA(options, directory, run_id, peer, phases);
      ok = StopDeployment(peer) && ok;
    }
  }

  // B, for (b): as many HTTP threads as connections (POCO serves a connection per thread) and a
  // simulator with as many; the database pool at its default, which the target names.
  if (Runs(options, 'b')) {
    {
      std::map<std::string, std::string> settings = WorkflowSettings(options);
      settings["LAB_ORDERS_HTTP_THREADS"] = std::to_string(options.connections_b + 64);
      Deployment b = Deploy("b", options, directory, run_id, options.latency_b_ms,
                            options.connections_b + 256, settings);
      b_settings = b.settings;
      RunCeilingAndB(options, directory, run_id, b, phases);
      ok = StopDeployment(b) && ok;
    }
    if (with_peer) {
      Deployment peer = DeployPeer("peer-b", options, directory, run_id, options.latency_b_ms,
                                   options.connections_b + 256);
      RunCeilingAndB(options, directory, run_id, peer, phases);
      ok = StopDeployment(peer) && ok;
    }
  }

  if (Runs(options, 'd')) {
    pending = RunPending(options, directory);
    if (!pending) ok = false;
  }

  std::vector<DoorFigures> door;
  if (Runs(options, 'e')) {
    // All from 127.0.0.1: the per-address cap (1,000 by default) would refuse the idle crowd
    // and the orders alike, so it is lifted; every deadline stays at its default.
    Deployment e = Deploy("e", options, directory, run_id, 0, 1024,
                          {{"LAB_ORDERS_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "5000"}});
    door = RunDoorAttacks(e, run_id, options.duration_s);
    ok = StopDeployment(e) && ok;
  }

  PrintReport(options, phases, pending, b_settings);
  if (!door.empty()) PrintDoorFigures(door);
  for (const Phase& phase : phases) {
    if (phase.load.answered == 0) {
      std::cerr << "FAILED: " << phase.Column() << " got no answer at all\n";
      ok = false;
    }
  }
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
  return lab_orders::bench::BenchMain<LoadOptions>(argc, argv, "bench_load",
                                                   "lab-orders-bench-load", ParseOptions, Run);
}
