#pragma once

// What bench_load measures besides the load driver's own figures: the CPU of a process with all
// its descendants (the Node peer is a primary and its workers; PostgreSQL is a postmaster and
// its backends), the fsync calls a service makes, and a PostgreSQL cluster's WAL flushes.

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.h"

struct pg_conn;  // libpq's PGconn

namespace lab_orders::bench {

// root and every process below it, from the parent links in /proc.
std::vector<pid_t> ProcessTree(pid_t root);

// CPU clock ticks of root's tree: each member's utime + stime, plus cutime + cstime, which hold
// the CPU of children that exited and were reaped (a backend ending during a load). Differences
// between two readings are what the tree spent in between, whatever came and went.
long long TreeCpuTicks(pid_t root);

// Ticks as seconds (sysconf(_SC_CLK_TCK)).
double TicksToSeconds(long long ticks);

// RSS, VmHWM and threads summed over pids; cpu_ticks is their utime + stime.
ProcSample ReadProcs(const std::vector<pid_t>& pids);

// Counts the fsync and fdatasync calls of some processes (their threads included, those started
// later too) with `perf stat` on the syscall tracepoints: the kernel counts, nothing stops the
// processes, and no other system call is looked at.
class FsyncCounter {
 public:
  // nullptr when perf is not installed (a note says so, once).
  static std::unique_ptr<FsyncCounter> Start(const std::vector<pid_t>& pids,
                                             const std::filesystem::path& directory,
                                             const std::string& name);
  // Stops perf and returns the calls counted; nullopt when perf could not count (its log in the
  // directory says why, and a note on stderr points there).
  std::optional<long long> Finish();

 private:
  FsyncCounter(std::unique_ptr<Child> perf, std::filesystem::path output);
  std::unique_ptr<Child> perf_;
  std::filesystem::path output_;
};

// A PostgreSQL cluster seen from one connection: pg_stat_wal, and the CPU of its processes
// (found through the postmaster, the parent of the connection's backend) when they run here.
class PostgresMeter {
 public:
  explicit PostgresMeter(const std::string& server_url);
  ~PostgresMeter();
  PostgresMeter(const PostgresMeter&) = delete;
  PostgresMeter& operator=(const PostgresMeter&) = delete;

  // The postmaster's pid; nullopt when the cluster is not on this machine.
  std::optional<pid_t> postmaster() const;
  // TreeCpuTicks of the postmaster; nullopt when the cluster is not on this machine.
  std::optional<long long> CpuTicks() const;
  // pg_stat_wal.wal_sync: the times WAL was synced to disk (fdatasync by default on Linux),
  // by the backends committing and by the WAL writer. Backends report their counts when idle,
  // at most once a second: read it again a little after the writes to see them all.
  long long WalSyncs();

 private:
  pg_conn* connection_ = nullptr;
  pid_t postmaster_ = 0;  // 0: not found on this machine
};

}  // namespace lab_orders::bench
