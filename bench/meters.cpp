#include "meters.h"

#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lab_orders::bench {

namespace fs = std::filesystem;

namespace {

struct StatFields {
  pid_t parent = 0;
  long long own_ticks = 0;     // utime + stime
  long long reaped_ticks = 0;  // cutime + cstime: children that exited and were waited for
};

// /proc/PID/stat, or nullopt when the process is gone.
std::optional<StatFields> ReadStat(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));
  std::vector<std::string> rest;  // rest[0] is field 3 (state)
  std::string field;
  while (rest.size() < 15 && fields >> field) rest.push_back(field);
  if (rest.size() < 15) return std::nullopt;
  StatFields parsed;
  parsed.parent = pid_t(std::stol(rest[1]));                          // field 4
  parsed.own_ticks = std::stoll(rest[11]) + std::stoll(rest[12]);     // fields 14, 15
  parsed.reaped_ticks = std::stoll(rest[13]) + std::stoll(rest[14]);  // fields 16, 17
  return parsed;
}

}  // namespace

std::vector<pid_t> ProcessTree(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = pid_t(std::stol(name));
    if (auto stat = ReadStat(pid)) children.emplace(stat->parent, pid);
  }
  std::vector<pid_t> tree = {root};
  for (size_t at = 0; at < tree.size(); ++at) {
    auto [first, last] = children.equal_range(tree[at]);
    for (auto it = first; it != last; ++it) tree.push_back(it->second);
  }
  return tree;
}

long long TreeCpuTicks(pid_t root) {
  long long ticks = 0;
  for (pid_t pid : ProcessTree(root)) {
    if (auto stat = ReadStat(pid)) ticks += stat->own_ticks + stat->reaped_ticks;
  }
  return ticks;
}

double TicksToSeconds(long long ticks) {
  static const double per_second = double(sysconf(_SC_CLK_TCK));
  return double(ticks) / per_second;
}

ProcSample ReadProcs(const std::vector<pid_t>& pids) {
  ProcSample sum;
  for (pid_t pid : pids) {
    ProcSample one = ReadProc(pid);
    sum.rss_kb += one.rss_kb;
    sum.hwm_kb += one.hwm_kb;
    sum.threads += one.threads;
    sum.cpu_ticks += one.cpu_ticks;
  }
  return sum;
}

// ---- FsyncCounter ------------------------------------------------------------------------------

namespace {
constexpr const char* kPerf = "/usr/bin/perf";
}

FsyncCounter::FsyncCounter(std::unique_ptr<Child> perf, fs::path output)
    : perf_(std::move(perf)), output_(std::move(output)) {}

std::unique_ptr<FsyncCounter> FsyncCounter::Start(const std::vector<pid_t>& pids,
                                                  const fs::path& directory,
                                                  const std::string& name) {
  if (::access(kPerf, X_OK) != 0) {
    static bool told = false;
    if (!told) std::cerr << "note: no " << kPerf << " (linux-perf): fsyncs are not counted\n";
    told = true;
    return nullptr;
  }
  std::string pid_list;
  for (pid_t pid : pids) pid_list += (pid_list.empty() ? "" : ",") + std::to_string(pid);
  fs::path output = directory / (name + ".fsyncs.csv");
  auto perf = std::make_unique<Child>(
      "perf-stat-" + name,
      std::vector<std::string>{kPerf, "stat", "-x", ",", "-o", output.string(), "-e",
                               "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync", "-p",
                               pid_list},
      InheritedEnvironment(), directory);
  // perf writes its header before it opens the counters, which takes a moment more: calls in
  // that moment would go uncounted, so the load waits for both.
  auto deadline = BenchClock::now() + std::chrono::seconds(5);
  while (BenchClock::now() < deadline && perf->Running() &&
         ReadFile(output).find("# started on") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return std::unique_ptr<FsyncCounter>(new FsyncCounter(std::move(perf), output));
}

std::optional<long long> FsyncCounter::Finish() {
  // perf stat prints its counts on SIGINT; SIGTERM would end it without them.
  if (perf_->Running()) ::kill(perf_->pid(), SIGINT);
  perf_->Wait(std::chrono::seconds(30));
  long long calls = 0;
  int counted = 0;
  std::istringstream lines(ReadFile(output_));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("sys_enter_fsync") == std::string::npos &&
        line.find("sys_enter_fdatasync") == std::string::npos) {
      continue;
    }
    // CSV: count,unit,event,...; "<not counted>" or "<not supported>" in place of the count.
    std::string count = line.substr(0, line.find(','));
    if (count.empty() || count.find_first_not_of("0123456789") != std::string::npos) break;
    calls += std::stoll(count);
    ++counted;
  }
  if (counted == 2) return calls;
  std::cerr << "note: perf stat did not count fsyncs (see " << output_.string() << " and "
            << perf_->name() << ".log)\n";
  return std::nullopt;
}

// ---- PostgresMeter -----------------------------------------------------------------------------

namespace {

// The one row, one column answer of a statement of the benchmark's own.
std::string QueryValue(PGconn* connection, const char* sql) {
  PGresult* result = PQexec(connection, sql);
  const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1;
  std::string value = ok ? PQgetvalue(result, 0, 0) : "";
  std::string why = ok ? "" : PQresultErrorMessage(result);
  PQclear(result);
  if (!ok) throw std::runtime_error(std::string("PostgreSQL: ") + sql + ": " + why);
  return value;
}

}  // namespace

PostgresMeter::PostgresMeter(const std::string& server_url) {
  connection_ = PQconnectdb(server_url.c_str());
  if (PQstatus(connection_) != CONNECTION_OK) {
    std::string why = PQerrorMessage(connection_);
    PQfinish(connection_);
    throw std::runtime_error("cannot connect to PostgreSQL to measure it: " + why);
  }
  // This connection's backend is a child of the postmaster. Checked by its command line, since
  // a server elsewhere has a backend pid that may name an unrelated process here.
  pid_t backend = pid_t(std::stol(QueryValue(connection_, "SELECT pg_backend_pid()")));
  std::string command = ReadFile("/proc/" + std::to_string(backend) + "/cmdline");
  auto stat = ReadStat(backend);
  if (command.rfind("postgres", 0) == 0 && stat) {
    postmaster_ = stat->parent;
  } else {
    std::cerr << "note: the PostgreSQL server runs elsewhere: its CPU is not measured\n";
  }
}

PostgresMeter::~PostgresMeter() { PQfinish(connection_); }

std::optional<pid_t> PostgresMeter::postmaster() const {
  if (postmaster_ == 0) return std::nullopt;
  return postmaster_;
}

std::optional<long long> PostgresMeter::CpuTicks() const {
  if (postmaster_ == 0) return std::nullopt;
  return TreeCpuTicks(postmaster_);
}

long long PostgresMeter::WalSyncs() {
  return std::stoll(QueryValue(connection_, "SELECT wal_sync FROM pg_stat_wal"));
}

}  // namespace lab_orders::bench
