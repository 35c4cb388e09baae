#pragma once

// bench_load's pieces: its options, a deployment (junction-sim and a service under load:
// lab-orders, or the Node peer), one load measured (a Phase), and the requests of each load.
// The Run in bench_load.cpp strings them together; load_report.h prints them.

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.h"
#include "load_driver.h"
#include "meters.h"

namespace lab_orders::bench {

struct LoadOptions {
  std::string scenarios = "abcde";
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
  // false: lab-orders' workflow nearly idle in a, b and c (one worker, one Junction call a
  // second), as the peer has none (its README); true: the workflow at its defaults.
  bool workflow_defaults = false;
  // The Node peer (--peer DIR, with its node_modules installed): empty for none.
  std::string peer_dir;
  std::string peer_database;  // a PostgreSQL server URL; the peer gets a new database on it
  std::string node;           // node's path
  std::map<std::string, std::string> peer_settings;  // --peer-set NAME=VALUE
};

bool Runs(const LoadOptions& options, char scenario);
bool IsPostgres(const std::string& database_url);
// "PostgreSQL" or "SQLite": the store lab-orders runs on in this run.
std::string StoreName(const LoadOptions& options);

// ---- a simulator and a service -----------------------------------------------------------------

// junction-sim and a service started for one set of scenarios, stopped with SIGTERM. Members
// go in reverse order: the service stops before its database is dropped.
struct Deployment {
  std::string name;  // "a", "b", "peer-a", "peer-b": the folder of its files too
  bool peer = false;
  std::unique_ptr<ServiceDatabase> database;
  // The PostgreSQL cluster under the service (nullptr on SQLite): its CPU and WAL flushes.
  std::unique_ptr<PostgresMeter> cluster;
  std::unique_ptr<Child> sim;
  std::unique_ptr<Child> service;
  unsigned short sim_port = 0;
  unsigned short service_port = 0;
  std::string token;
  std::map<std::string, std::string> settings;  // what the service was given beyond defaults
};

// junction-sim on a free port, its first line read.
std::unique_ptr<Child> StartSim(const std::filesystem::path& directory, int latency_ms, int threads,
                                unsigned short* port);

// lab-orders with a deployment's defaults plus settings and --set.
Deployment Deploy(const std::string& name, const LoadOptions& options,
                  const std::filesystem::path& directory, const std::string& run_id,
                  int sim_latency_ms, int sim_threads,
                  const std::map<std::string, std::string>& settings);

// Stops the service and the simulator; false (and a line on stderr) unless both stopped
// cleanly on SIGTERM.
bool StopDeployment(Deployment& deployment);

// Waits until the deployment's service and the simulator are quiet (each under 10 % of a core
// for two seconds running, at most max_seconds), so that a load measures itself and not the
// workflow a load before it left behind (the bookings of (a)'s orders); the seconds waited.
double WaitUntilQuiet(Deployment& deployment, double max_seconds);

// ---- one load, measured ------------------------------------------------------------------------

struct SimStats {
  long long calls_total = 0;
  long long connections_opened = 0;
  std::map<std::string, long long> operations;
};

enum class LoadKind { kHealthz, kOrders, kReplays };

struct Phase {
  std::string scenario;  // "ceiling A", "(a) orders", "(c) replays", "ceiling B", "(b) orders"
  bool peer = false;     // the same scenario on the Node peer
  LoadKind kind = LoadKind::kHealthz;
  int connections = 0;
  int junction_latency_ms = 0;
  LoadResult load;
  double seconds = 0;  // wall time of the whole load, for CPU shares
  long peak_rss_kb = 0;
  long hwm_kb = 0;
  int max_threads = 0;
  double service_cpu = 0;  // % of a core, the service's processes (the peer: primary + workers)
  double sim_cpu = 0;
  std::optional<double> database_cpu;  // % of a core, every process of its PostgreSQL cluster
  // Answers by status over the whole load, warm-up included: per-order costs divide the whole
  // load's CPU and fsyncs by these, and "no 503" counts from the first second.
  std::map<int, long long> whole_load_statuses;
  // fsync + fdatasync calls in the whole load by the service, and on PostgreSQL by the
  // cluster's processes too (perf; order loads only); nullopt when not counted.
  std::optional<long long> fsyncs;
  std::optional<long long> wal_syncs;  // pg_stat_wal.wal_sync over the load (PostgreSQL)
  SimStats junction;                   // calls during the load
  std::string profile;                 // the top of `perf report`, with --profile
  std::optional<double> wrk_rate;      // the same load from wrk, with --wrk

  std::string Column() const { return peer ? "peer " + scenario : scenario; }
};

Phase Measure(const std::string& scenario, LoadKind kind, Deployment& deployment, LoadPlan plan,
              int junction_latency_ms, bool profile, const std::filesystem::path& directory);

// wrk's requests/s for GET /healthz at the same concurrency and duration, or nullopt.
std::optional<double> WrkRate(const LoadOptions& options, unsigned short port, int connections,
                              const std::filesystem::path& directory);

// ---- the requests of each load -----------------------------------------------------------------

LoadPlan HealthzPlan(unsigned short port, int connections, const LoadOptions& options);
std::string OrderRequest(const Deployment& deployment, const std::string& run_id, long long n);
LoadPlan OrdersPlan(const Deployment& deployment, const std::string& run_id, int connections,
                    const LoadOptions& options);

// (d): bench_pending_appointments' figures, or nullopt when it failed.
std::optional<nlohmann::json> RunPending(const LoadOptions& options,
                                         const std::filesystem::path& directory);

// ---- figures of a phase ------------------------------------------------------------------------

// Junction calls made to create orders (the request's own calls; the workflow's come on top).
long long CreationCalls(const Phase& phase);
// 201s in the measured time.
long long Created(const Phase& phase);
// 201s over the whole load, warm-up included.
long long CreatedInWholeLoad(const Phase& phase);
// Seconds of service CPU per answer in the measured time.
double CpuPerAnswer(const Phase& phase);
// Seconds of service + database CPU per order created over the whole load; nullopt without
// orders.
std::optional<double> CpuPerOrder(const Phase& phase);
bool CreatesOrders(const Phase& phase);

}  // namespace lab_orders::bench
