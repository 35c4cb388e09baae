// The job runner on a real SqliteStore: which jobs run, how failures and conflicts are retried,
// leases of dead workers, and the worker pool (workflow/job_runner.h).

#include "lab_orders/workflow/job_runner.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/encoding.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/store/sqlite_store.h"
#include "support/fakes.h"
#include "support/store_fixtures.h"

namespace lab_orders::workflow {
namespace {

using namespace std::chrono_literals;
using lab_orders::testing::FakeClock;
using store::Job;
using store::JobOutcome;
using store::SqliteStore;
using store::TimePoint;
using Counts = std::vector<std::pair<std::string, int>>;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;

// A handler whose behaviour each test sets; it records every run.
class FakeHandler final : public JobHandler {
 public:
  std::function<JobOutcome(const Job&)> behaviour = [](const Job&) {
    JobOutcome done;
    done.done = true;
    return done;
  };

  JobOutcome Run(const Job& job) override {
    {
      std::lock_guard lock(mutex_);
      runs_.push_back(job);
    }
    JobOutcome outcome = behaviour(job);
    {
      std::lock_guard lock(mutex_);
      ++finished_;
    }
    changed_.notify_all();
    return outcome;
  }

  std::vector<Job> Runs() {
    std::lock_guard lock(mutex_);
    return runs_;
  }
  std::vector<std::string> RunIds() {
    std::vector<std::string> ids;
    for (const Job& job : Runs()) ids.push_back(job.id);
    return ids;
  }
  // Waits (up to timeout) until at least count runs have returned.
  bool WaitForFinished(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return finished_ >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Job> runs_;
  size_t finished_ = 0;
};

// A plain sqlite3 connection, to read job columns the Store interface does not return.
std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    throw std::runtime_error("cannot open test database");
  }
  sqlite3_stmt* statement = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0) != nullptr) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  }
  sqlite3_finalize(statement);
  sqlite3_close_v2(db);
  return result;
}

std::string Millis(TimePoint time) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count());
}

class JobRunnerTest : public ::testing::Test {
 protected:
  JobRunnerTest()
      : path_((std::filesystem::temp_directory_path() /
               ("lab-orders-job-runner-" + NewRandomUuid() + ".db"))
                  .string()),
        store_(std::make_unique<SqliteStore>(path_, store::PhiCipher(RandomBytes(32)))),
        clock_(kT0) {
    store_->Migrate();
    settings_.workers = 4;
    settings_.lease = 30s;
    settings_.idle_poll = 200ms;
    settings_.failure_backoff = BackoffPolicy{1000ms, 60000ms, 2.0};
  }
  ~JobRunnerTest() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_ + suffix);
    }
  }

  std::unique_ptr<JobRunner> Runner(const Clock& clock) {
    return std::make_unique<JobRunner>(*store_, handler_, clock, settings_, [] { return 0.0; });
  }
  std::unique_ptr<JobRunner> Runner() { return Runner(clock_); }

  // An order through the idempotency phases; with step_due, its Junction order and the first
  // workflow step "step-<id>" (an await_requisition job) too.
  void AddOrder(const std::string& order_id, std::optional<TimePoint> step_due = std::nullopt) {
    const std::string key = "key-" + order_id;
    model::LabOrder order = testing::ExampleOrder(order_id, "b", kT0);
    ASSERT_EQ(store_->ClaimKey("b", key, {"fp"}, kT0, kT0 + 30s, order).result,
              store::ClaimResult::kNew);
    store_->SaveJunctionUser("b", key, order_id, "b:user-1", "ju-1", kT0);
    ++order.version;  // as the user phase left it
    if (step_due) {
      store_->SaveJunctionOrder(
          key, testing::OrderedAtJunction(order, "ju-1", "jo-" + order_id, kT0),
          store::NewJob{"step-" + order_id, store::kJobAwaitRequisition, order_id, "", *step_due},
          201, "{}");
    } else {
      store_->FinishKey("b", key, 201, "{}");
    }
  }

  // A junction_event job (through a webhook receipt), any number per order.
  void AddEvent(const std::string& job_id, const std::string& order_id, TimePoint due_at,
                TimePoint received_at = kT0) {
    ASSERT_TRUE(store_->RecordJunctionWebhook(
        "svix-" + job_id, received_at,
        store::NewJob{job_id, store::kJobJunctionEvent, order_id, "{}", due_at}));
  }

  std::string JobColumn(const std::string& job_id, const std::string& column) {
    return QueryText(path_, "SELECT " + column + " FROM jobs WHERE id = '" + job_id + "'");
  }

  std::string path_;
  std::unique_ptr<SqliteStore> store_;
  FakeClock clock_;
  FakeHandler handler_;
  JobRunnerSettings settings_;
};

// ---- RunDueJobs
// ----------------------------------------------------------------------------------

TEST_F(JobRunnerTest, RunDueJobsRunsOnlyTheJobsDueNow) {
  AddOrder("order-a", kT0);
  AddOrder("order-b", kT0 + 1min);
  AddEvent("event-1", "order-b", kT0 - 1s);
  auto runner = Runner();

  EXPECT_EQ(runner->RunDueJobs(), 2);
  EXPECT_EQ(handler_.RunIds(), (std::vector<std::string>{"event-1", "step-order-a"}));
  EXPECT_EQ(store_->QueuedJobCounts(), (Counts{{store::kJobAwaitRequisition, 1}}));
  EXPECT_EQ(JobColumn("step-order-a", "state"), "done");

  EXPECT_EQ(runner->RunDueJobs(), 0);
  clock_.Advance(1min - 1ms);
  EXPECT_EQ(runner->RunDueJobs(), 0);
  clock_.Advance(1ms);
  EXPECT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(handler_.RunIds().back(), "step-order-b");
  EXPECT_TRUE(store_->QueuedJobCounts().empty());
}

TEST_F(JobRunnerTest, RunDueJobsWithNothingQueuedRunsNothing) {
  auto runner = Runner();
  EXPECT_EQ(runner->RunDueJobs(), 0);
  EXPECT_TRUE(handler_.Runs().empty());
}

TEST_F(JobRunnerTest, HandlerGetsTheClaimedJob) {
  AddOrder("order-a", kT0);
  auto runner = Runner();
  ASSERT_EQ(runner->RunDueJobs(), 1);
  Job job = handler_.Runs().at(0);
  EXPECT_EQ(job.id, "step-order-a");
  EXPECT_EQ(job.kind, store::kJobAwaitRequisition);
  EXPECT_EQ(job.order_id, "order-a");
  EXPECT_EQ(job.attempts, 0);
  EXPECT_EQ(job.due_at, kT0);
  EXPECT_FALSE(job.lease_owner.empty());
}

TEST_F(JobRunnerTest, OutcomeIsCommittedWithItsNewJobs) {
  AddOrder("order-a", kT0);
  handler_.behaviour = [](const Job& job) {
    JobOutcome outcome;
    outcome.done = true;
    outcome.enqueue.push_back({"next-1", store::kJobBookAppointment, job.order_id, "", kT0 + 5min});
    return outcome;
  };
  auto runner = Runner();
  ASSERT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(store_->QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));
  EXPECT_EQ(store_->NextJobDue(), kT0 + 5min);
}

// ---- failures
// ------------------------------------------------------------------------------------

TEST_F(JobRunnerTest, HandlerThrowReschedulesWithBackoffAndKeepsTheError) {
  AddOrder("order-a", kT0);
  handler_.behaviour = [](const Job&) -> JobOutcome {
    throw std::runtime_error("get_order: junction 503");
  };
  auto runner = Runner();

  EXPECT_EQ(runner->RunDueJobs(), 1);
  // Attempt 1 of 1000 ms doubling, jitter 0: half of 1000 ms.
  EXPECT_EQ(JobColumn("step-order-a", "state"), "queued");
  EXPECT_EQ(JobColumn("step-order-a", "attempts"), "1");
  EXPECT_EQ(JobColumn("step-order-a", "due_at"), Millis(kT0 + 500ms));
  EXPECT_EQ(JobColumn("step-order-a", "last_error"), "get_order: junction 503");
  EXPECT_EQ(JobColumn("step-order-a", "lease_owner"), "");

  clock_.Advance(499ms);
  EXPECT_EQ(runner->RunDueJobs(), 0);
  clock_.Advance(1ms);
  EXPECT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(handler_.Runs().back().attempts, 1);
  // Attempt 2: half of 2000 ms, from the time of this run.
  EXPECT_EQ(JobColumn("step-order-a", "attempts"), "2");
  EXPECT_EQ(JobColumn("step-order-a", "due_at"), Millis(kT0 + 500ms + 1000ms));

  clock_.Advance(1000ms);
  EXPECT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(JobColumn("step-order-a", "attempts"), "3");
  EXPECT_EQ(JobColumn("step-order-a", "due_at"), Millis(kT0 + 1500ms + 2000ms));
}

TEST_F(JobRunnerTest, FailureBackoffIsCapped) {
  AddOrder("order-a", kT0);
  settings_.failure_backoff = BackoffPolicy{1000ms, 3000ms, 2.0};
  handler_.behaviour = [](const Job&) -> JobOutcome { throw std::runtime_error("boom"); };
  auto runner = Runner();
  for (int run = 0; run < 6; ++run) {
    ASSERT_EQ(runner->RunDueJobs(), 1) << run;
    clock_.Advance(1500ms);  // the cap (3000 ms) halved by jitter 0
  }
  EXPECT_EQ(JobColumn("step-order-a", "attempts"), "6");
  EXPECT_EQ(JobColumn("step-order-a", "due_at"), Millis(kT0 + 5 * 1500ms + 1500ms));
}

TEST_F(JobRunnerTest, VersionConflictReschedulesSoonWithoutCountingAnAttempt) {
  AddOrder("order-a", kT0);
  const std::int64_t version = store_->GetOrderById("order-a")->version;
  int runs = 0;
  handler_.behaviour = [&](const Job& job) {
    JobOutcome outcome;
    outcome.done = true;
    // The first run read the order one version ago: something wrote it meanwhile.
    outcome.expected_order_version = ++runs == 1 ? version - 1 : version;
    outcome.order_update = *store_->GetOrderById(job.order_id);
    outcome.order_update->status = "failed";
    return outcome;
  };
  auto runner = Runner();

  EXPECT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(store_->GetOrderById("order-a")->status, "ordered");  // nothing committed
  EXPECT_EQ(store_->GetOrderById("order-a")->version, version);
  EXPECT_EQ(JobColumn("step-order-a", "state"), "queued");
  EXPECT_EQ(JobColumn("step-order-a", "attempts"), "0");
  EXPECT_EQ(JobColumn("step-order-a", "due_at"), Millis(kT0 + 50ms));
  EXPECT_FALSE(JobColumn("step-order-a", "last_error").empty());

  clock_.Advance(49ms);
  EXPECT_EQ(runner->RunDueJobs(), 0);
  clock_.Advance(1ms);
  EXPECT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(handler_.Runs().back().attempts, 0);
  EXPECT_EQ(store_->GetOrderById("order-a")->status, "failed");
  EXPECT_EQ(JobColumn("step-order-a", "state"), "done");
}

TEST_F(JobRunnerTest, AfterCommitRunsOnlyForTheRunThatCommitted) {
  AddOrder("order-a", kT0);
  const std::int64_t version = store_->GetOrderById("order-a")->version;
  int runs = 0;
  std::vector<int> after_commit;
  handler_.behaviour = [&](const Job& job) {
    JobOutcome outcome;
    outcome.done = true;
    const int run = ++runs;
    outcome.expected_order_version = run == 1 ? version - 1 : version;  // the first conflicts
    outcome.order_update = *store_->GetOrderById(job.order_id);
    outcome.after_commit = [&after_commit, run] { after_commit.push_back(run); };
    return outcome;
  };
  auto runner = Runner();
  EXPECT_EQ(runner->RunDueJobs(), 1);
  EXPECT_TRUE(after_commit.empty());
  clock_.Advance(50ms);
  EXPECT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(after_commit, std::vector<int>{2});
}

TEST_F(JobRunnerTest, VersionConflictKeepsTheAttemptsAlreadyCounted) {
  AddOrder("order-a", kT0);
  int runs = 0;
  handler_.behaviour = [&](const Job&) -> JobOutcome {
    if (++runs == 1) throw std::runtime_error("junction timeout");
    JobOutcome outcome;
    outcome.done = true;
    outcome.expected_order_version = 999;
    return outcome;
  };
  auto runner = Runner();
  ASSERT_EQ(runner->RunDueJobs(), 1);
  ASSERT_EQ(JobColumn("step-order-a", "attempts"), "1");
  clock_.Advance(500ms);
  ASSERT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(JobColumn("step-order-a", "attempts"), "1");
  EXPECT_EQ(JobColumn("step-order-a", "due_at"), Millis(kT0 + 550ms));
}

TEST_F(JobRunnerTest, JobOfADeadWorkerRunsAgainWhenItsLeaseRunsOut) {
  AddOrder("order-a", kT0);
  std::vector<Job> taken = store_->ClaimDueJobs(kT0, kT0 + 30s, "dead-worker", 10);
  ASSERT_EQ(taken.size(), 1u);
  auto runner = Runner();

  EXPECT_EQ(runner->RunDueJobs(), 0);  // still leased
  clock_.Advance(30s - 1ms);
  EXPECT_EQ(runner->RunDueJobs(), 0);
  clock_.Advance(1ms);
  EXPECT_EQ(runner->RunDueJobs(), 1);
  ASSERT_EQ(handler_.Runs().size(), 1u);
  EXPECT_EQ(handler_.Runs()[0].id, "step-order-a");
  EXPECT_NE(handler_.Runs()[0].lease_owner, "dead-worker");
  EXPECT_EQ(JobColumn("step-order-a", "state"), "done");

  // The dead worker's late answer commits nothing.
  JobOutcome late;
  late.retry_at = kT0 + 1h;
  EXPECT_THROW(store_->CompleteJob(taken[0], late), store::LeaseLost);
}

TEST_F(JobRunnerTest, RunThatOutlivesItsLeaseIsDroppedWithoutThrowing) {
  AddOrder("order-a", kT0);
  handler_.behaviour = [&](const Job&) {
    // The run takes longer than its lease and another worker takes the job over.
    clock_.Advance(31s);
    EXPECT_EQ(store_->ClaimDueJobs(clock_.Now(), clock_.Now() + 30s, "other", 10).size(), 1u);
    JobOutcome outcome;
    outcome.done = true;
    return outcome;
  };
  auto runner = Runner();
  EXPECT_EQ(runner->RunDueJobs(), 1);
  EXPECT_EQ(JobColumn("step-order-a", "state"), "queued");
  EXPECT_EQ(JobColumn("step-order-a", "lease_owner"), "other");
}

TEST_F(JobRunnerTest, UnavailableDatabaseLeavesTheJobToItsLeaseAndIsCountedApart) {
  AddOrder("order-a", kT0);
  metrics::Registry registry;
  auto runner = Runner();
  runner->UseMetrics(registry);
  handler_.behaviour = [](const Job&) -> JobOutcome {
    throw store::StoreUnavailable("store: CompleteJob: PostgreSQL is unavailable");
  };
  EXPECT_EQ(runner->RunDueJobs(), 1);
  // Not rescheduled as a failure (a cut-off commit may have taken effect): the lease decides.
  EXPECT_EQ(JobColumn("step-order-a", "state"), "queued");
  EXPECT_FALSE(JobColumn("step-order-a", "lease_owner").empty());
  EXPECT_EQ(JobColumn("step-order-a", "attempts"), "0");
  const std::string metrics = registry.RenderPrometheus();
  EXPECT_NE(metrics.find("lab_orders_jobs_total{kind=\"await_requisition\",result=\"store_"
                         "unavailable\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("result=\"failed\""), std::string::npos) << metrics;
}

// ---- the worker pool
// -----------------------------------------------------------------------------

TEST_F(JobRunnerTest, FourWorkersRunTwoHundredJobsExactlyOnceEach) {
  constexpr int kJobs = 200;
  AddOrder("order-a");
  for (int i = 0; i < kJobs; ++i) {
    AddEvent("event-" + std::to_string(i), "order-a", kT0 - std::chrono::milliseconds(i % 13));
  }
  std::mutex mutex;
  std::map<std::string, int> runs;
  handler_.behaviour = [&](const Job& job) {
    std::lock_guard lock(mutex);
    ++runs[job.id];
    JobOutcome done;
    done.done = true;
    return done;
  };
  auto runner = Runner();
  runner->Start();
  bool all = handler_.WaitForFinished(kJobs, 30s);
  runner->Stop();  // finishes runs in progress: a duplicate would show below

  ASSERT_TRUE(all) << "only " << handler_.Runs().size() << " runs";
  EXPECT_EQ(handler_.Runs().size(), static_cast<size_t>(kJobs));
  std::lock_guard lock(mutex);
  EXPECT_EQ(runs.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, count] : runs) EXPECT_EQ(count, 1) << id;
  EXPECT_TRUE(store_->QueuedJobCounts().empty());
}

TEST_F(JobRunnerTest, StopWithoutStartAndTwiceIsHarmless) {
  auto runner = Runner();
  runner->Stop();
  runner->Start();
  runner->Stop();
  runner->Stop();
  SUCCEED();
}

TEST_F(JobRunnerTest, StartedAgainAfterStopItRunsNewJobs) {
  AddOrder("order-a");
  auto runner = Runner();
  runner->Start();
  runner->Stop();
  AddEvent("event-1", "order-a", kT0);
  runner->Start();
  EXPECT_TRUE(handler_.WaitForFinished(1, 10s));
  runner->Stop();
  EXPECT_EQ(handler_.RunIds(), std::vector<std::string>{"event-1"});
}

// The system clock, telling when it has been read: a worker reads it once to claim, and once more
// after finding the next job's due time, just before it goes idle.
class ObservedClock final : public Clock {
 public:
  TimePoint Now() const override {
    {
      std::lock_guard lock(mutex_);
      ++reads_;
    }
    read_.notify_all();
    return std::chrono::system_clock::now();
  }
  bool WaitForReads(int count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return read_.wait_for(lock, timeout, [&] { return reads_ >= count; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable read_;
  mutable int reads_ = 0;
};

TEST_F(JobRunnerTest, WakeMakesAnIdleWorkerTakeANewJobAtOnce) {
  ObservedClock clock;
  settings_.workers = 1;
  settings_.idle_poll = std::chrono::minutes(10);  // without Wake, the worker sleeps this long
  AddOrder("order-a");
  // A job due in an hour: the worker finds nothing due and goes idle until then (or idle_poll).
  const TimePoint now = std::chrono::system_clock::now();  // not clock.Now(): it counts reads
  AddEvent("event-later", "order-a", now + 1h, now);
  auto runner = Runner(clock);
  runner->Start();
  // Read 1: its claim found nothing; read 2: it measured the wait and is going idle.
  ASSERT_TRUE(clock.WaitForReads(2, 10s));

  const auto start = std::chrono::steady_clock::now();
  AddEvent("event-now", "order-a", now, now);  // a webhook queued a job
  runner->Wake();
  bool ran = handler_.WaitForFinished(1, 10s);
  const auto waited = std::chrono::steady_clock::now() - start;
  runner->Stop();

  ASSERT_TRUE(ran) << "the idle worker was not woken";
  EXPECT_EQ(handler_.RunIds(), std::vector<std::string>{"event-now"});
  EXPECT_LT(waited, 5s);
}

}  // namespace
}  // namespace lab_orders::workflow
