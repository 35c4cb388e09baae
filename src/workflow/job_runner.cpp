#include "lab_orders/workflow/job_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "lab_orders/common/encoding.h"

namespace lab_orders::workflow {
namespace {

using std::chrono::milliseconds;

// Long enough to let the write that beat this run settle, short enough to feel immediate.
constexpr milliseconds kConflictRetry{50};

std::vector<std::string> JobKinds() {
  return {store::kJobAwaitRequisition, store::kJobBookAppointment, store::kJobAwaitConfirmation,
          store::kJobReconcile,        store::kJobJunctionEvent,   store::kJobFetchResults,
          store::kJobSwitchChannel};
}

}  // namespace

JobRunner::JobRunner(store::JobStore& store, JobHandler& handler, const Clock& clock,
                     JobRunnerSettings settings, JitterSource jitter)
    : store_(store),
      handler_(handler),
      clock_(clock),
      settings_(std::move(settings)),
      jitter_(std::move(jitter)),
      instance_(HexEncode(RandomBytes(6))) {}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::UseMetrics(metrics::Registry& registry) {
  job_results_ = &registry.Counter(
      "lab_orders_jobs_total",
      "Workflow job runs by kind and result (done, retried, failed, conflict, lease_lost, "
      "store_unavailable).",
      {{"kind", JobKinds()},
       {"result", {"done", "retried", "failed", "conflict", "lease_lost", "store_unavailable"}}});
  // Read from the store at each scrape, so every replica reports the same jobs; 0 for an idle kind.
  registry.Gauge("lab_orders_jobs_queued",
                 "Workflow jobs not yet done (waiting, due or running), by kind.",
                 {{"kind", JobKinds()}}, [store = &store_] {
                   std::vector<metrics::GaugeFamily::Sample> samples;
                   for (const std::string& kind : JobKinds()) samples.push_back({{kind}, 0.0});
                   for (const auto& [kind, count] : store->QueuedJobCounts()) {
                     samples.push_back({{kind}, double(count)});
                   }
                   return samples;
                 });
}

void JobRunner::Start() {
  std::lock_guard lock(mutex_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (int i = 0; i < std::max(settings_.workers, 1); ++i) {
    threads_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

void JobRunner::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads) thread.join();
}

void JobRunner::Wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakes_;
  }
  wake_.notify_all();
}

int JobRunner::RunDueJobs() {
  const std::string owner = settings_.owner_prefix + "-inline-" + instance_;
  int ran = 0;
  while (RunOne(owner)) ++ran;
  return ran;
}

bool JobRunner::RunOne(const std::string& owner) {
  auto now = clock_.Now();
  std::vector<store::Job> claimed = store_.ClaimDueJobs(now, now + settings_.lease, owner, 1);
  if (claimed.empty()) return false;
  Execute(claimed.front());
  return true;
}

void JobRunner::Execute(const store::Job& job) {
  auto count = [&](const char* result) {
    if (job_results_) job_results_->Inc({job.kind, result});
  };
  auto reschedule = [&](milliseconds delay, int attempts, const std::string& why) {
    store::JobOutcome retry;
    retry.retry_at = clock_.Now() + delay;
    retry.attempts = attempts;
    retry.last_error = why;
    store_.CompleteJob(job, retry);
    if (on_committed_) on_committed_();
  };
  try {
    try {
      store::JobOutcome outcome = handler_.Run(job);
      store_.CompleteJob(job, outcome);
      if (outcome.after_commit) outcome.after_commit();
      // Counted before waiters hear of the commit, so what they read next includes this run.
      count(outcome.done ? "done" : "retried");
      if (on_committed_) on_committed_();
    } catch (const store::VersionConflict&) {
      // The order moved on (a webhook, an API action) while this ran: run again on the new state.
      count("conflict");
      reschedule(kConflictRetry, job.attempts, "the order changed during the run");
    } catch (const store::LeaseLost&) {
      count("lease_lost");
      spdlog::warn("job {} ({}) outlived its lease; its result was dropped", job.id, job.kind);
    } catch (const store::StoreUnavailable&) {
      // Whether the outcome committed is unknown (a COMMIT whose answer the outage cut off may
      // have taken effect): if it did not, the lease runs out and the job is taken again.
      count("store_unavailable");
      throw;
    } catch (const std::exception& e) {
      count("failed");
      int attempts = job.attempts + 1;
      milliseconds delay = BackoffDelay(settings_.failure_backoff, attempts, jitter_);
      spdlog::warn("job {} ({}) for order {} failed (attempt {}), retry in {} ms: {}", job.id,
                   job.kind, job.order_id, attempts, delay.count(), e.what());
      reschedule(delay, attempts, e.what());
    }
  } catch (const std::exception& e) {
    spdlog::error("job {} ({}): could not record its outcome: {}", job.id, job.kind, e.what());
  }
}

void JobRunner::WorkerLoop(int index) {
  const std::string owner = settings_.owner_prefix + "-" + std::to_string(index) + "-" + instance_;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::uint64_t seen = wakes_;
    lock.unlock();
    bool ran = false;
    milliseconds idle = settings_.idle_poll;
    try {
      ran = RunOne(owner);
      if (!ran) {
        if (auto next = store_.NextJobDue()) {
          auto until = std::chrono::duration_cast<milliseconds>(*next - clock_.Now());
          idle = std::clamp(until, milliseconds(0), settings_.idle_poll);
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("job worker {}: {}", index, e.what());
    }
    lock.lock();
    if (!ran && idle > milliseconds(0)) {
      wake_.wait_for(lock, idle, [&] { return stopping_ || wakes_ != seen; });
    }
  }
}

}  // namespace lab_orders::workflow
