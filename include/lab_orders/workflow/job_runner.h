#pragma once

// A bounded pool of workers claiming due jobs from the Store. A job whose worker died is taken
// again when its lease runs out; a failed run is retried with backoff. Runs the same on one node
// or many sharing a database.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lab_orders/common/backoff.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/store/job_store.h"

namespace lab_orders::workflow {

// Runs one job and says what it decided; the runner commits that. A throw is a failed run,
// retried with backoff.
class JobHandler {
 public:
  virtual ~JobHandler() = default;
  virtual store::JobOutcome Run(const store::Job& job) = 0;
};

struct JobRunnerSettings {
  int workers = 4;
  std::chrono::milliseconds lease{std::chrono::minutes(2)};
  // The longest a worker sleeps before looking for due jobs again (other replicas add jobs too).
  std::chrono::milliseconds idle_poll{1000};
  BackoffPolicy failure_backoff{std::chrono::milliseconds(1000), std::chrono::minutes(5), 2.0};
  std::string owner_prefix = "worker";  // lease owners are "<prefix>-<n>-<random>"
};

class JobRunner {
 public:
  JobRunner(store::JobStore& store, JobHandler& handler, const Clock& clock,
            JobRunnerSettings settings, JitterSource jitter = RandomJitter());
  ~JobRunner();  // Stop()

  void Start();
  // Finishes the runs in progress, then returns. Jobs not started stay queued.
  void Stop();
  // A job became due (or was added) now: idle workers look again at once.
  void Wake();
  // Called after each run's outcome is committed (to tell waiters the store changed).
  void OnCommitted(std::function<void()> callback) { on_committed_ = std::move(callback); }

  // Counts each run's result in lab_orders_jobs_total{kind,result} (done, retried, failed,
  // conflict, lease_lost, store_unavailable), and declares lab_orders_jobs_queued{kind}, read from
  // Store::QueuedJobCounts() at each scrape (the store must outlive the registry's use).
  // Call before Start().
  void UseMetrics(metrics::Registry& registry);

  // Claims and runs every job due now, on the calling thread; returns how many ran. For tests
  // with a fake clock, and for one-shot use.
  int RunDueJobs();

 private:
  void WorkerLoop(int index);
  // Claims one due job and runs it; false when none was due.
  bool RunOne(const std::string& owner);
  void Execute(const store::Job& job);

  store::JobStore& store_;
  JobHandler& handler_;
  const Clock& clock_;
  JobRunnerSettings settings_;
  JitterSource jitter_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::function<void()> on_committed_;
  bool stopping_ = false;
  std::uint64_t wakes_ = 0;
  std::vector<std::thread> threads_;
  std::string instance_;  // random, so lease owners differ across processes
  metrics::CounterFamily* job_results_ = nullptr;
};

}  // namespace lab_orders::workflow
