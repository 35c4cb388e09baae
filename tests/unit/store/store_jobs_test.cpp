// The Store's jobs, the orders' workflow state and version, webhook receipts and the completer's
// claim on stale keys, on every backend (support/store_backends.h).

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/sql_store.h"
#include "support/store_backends.h"
#include "support/store_fixtures.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using model::LabOrder;
using Counts = std::vector<std::pair<std::string, int>>;
using testing::ExpectNoErrors;
using testing::RunTogether;
using testing::StoreBackend;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
const TimePoint kEpoch{};
const std::string kPhiKey(32, 'p');
constexpr char kFingerprint[] = "f1f1f1";

NewJob StepJob(const std::string& id, const std::string& order_id, TimePoint due_at,
               const char* kind = kJobAwaitRequisition) {
  return NewJob{id, kind, order_id, "", due_at};
}

NewJob EventJob(const std::string& id, const std::string& order_id, TimePoint due_at) {
  return NewJob{id, kJobJunctionEvent, order_id, R"({"event":")" + id + R"("})", due_at};
}

std::vector<std::string> Ids(const std::vector<Job>& jobs) {
  std::vector<std::string> ids;
  for (const Job& job : jobs) ids.push_back(job.id);
  return ids;
}

model::WorkflowState SampleWorkflow() {
  model::WorkflowState workflow;
  workflow.junction_status = "received.at_home_phlebotomy.appointment_scheduled";
  workflow.junction_event_id = 41;
  workflow.appointment = model::AppointmentView{"appt-3",
                                                "confirmed",
                                                "2024-05-03T15:00:00+00:00",
                                                "2024-05-03T15:30:00+00:00",
                                                "America/Los_Angeles",
                                                "getlabs",
                                                true,
                                                6,
                                                "QC12345678"};
  workflow.past_appointment_ids = {"appt-1", "appt-2"};
  workflow.provider_cancellations = 2;
  workflow.booking_sent = false;
  workflow.failure_reason = std::nullopt;
  return workflow;
}

void ExpectSameWorkflow(const model::WorkflowState& actual, const model::WorkflowState& expected) {
  EXPECT_EQ(actual.junction_status, expected.junction_status);
  EXPECT_EQ(actual.junction_event_id, expected.junction_event_id);
  ASSERT_EQ(actual.appointment.has_value(), expected.appointment.has_value());
  if (expected.appointment) {
    EXPECT_EQ(actual.appointment->id, expected.appointment->id);
    EXPECT_EQ(actual.appointment->status, expected.appointment->status);
    EXPECT_EQ(actual.appointment->start_at, expected.appointment->start_at);
    EXPECT_EQ(actual.appointment->end_at, expected.appointment->end_at);
    EXPECT_EQ(actual.appointment->timezone, expected.appointment->timezone);
    EXPECT_EQ(actual.appointment->provider, expected.appointment->provider);
    EXPECT_EQ(actual.appointment->can_reschedule, expected.appointment->can_reschedule);
    EXPECT_EQ(actual.appointment->event_count, expected.appointment->event_count);
  }
  EXPECT_EQ(actual.past_appointment_ids, expected.past_appointment_ids);
  EXPECT_EQ(actual.provider_cancellations, expected.provider_cancellations);
  EXPECT_EQ(actual.booking_sent, expected.booking_sent);
  EXPECT_EQ(actual.failure_reason, expected.failure_reason);
}

std::string Millis(TimePoint time) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count());
}

// One database of the fixture's backend, and the store most tests use on it.
class StoreJobsFixture : public testing::StoreDatabaseTest {
 protected:
  void TearDown() override {
    store_.reset();
    testing::StoreDatabaseTest::TearDown();
  }

  // Another store on the same database: another process, as far as the store can tell.
  std::unique_ptr<SqlStore> OpenStore(const std::string& postgres_setting = "") {
    return database().Open(PhiCipher(kPhiKey), postgres_setting);
  }

  SqlStore& Store() {
    if (!store_) {
      store_ = OpenStore();
      store_->Migrate();
    }
    return *store_;
  }

  // Records an order (brand "b") through the phases, its key finished; with step_due, its
  // Junction order "jo-<id>" too, which queues the step job "step-<id>".
  void AddOrder(const std::string& order_id, std::optional<TimePoint> step_due = std::nullopt) {
    const std::string key = "key-" + order_id;
    LabOrder order = testing::ExampleOrder(order_id, "b", kT0);
    ASSERT_EQ(Store().ClaimKey("b", key, {kFingerprint}, kT0, kT0 + 30s, order).result,
              ClaimResult::kNew);
    if (step_due) {
      Store().SaveJunctionOrder(
          key, testing::OrderedAtJunction(order, "ju-" + order_id, "jo-" + order_id, kT0),
          StepJob("step-" + order_id, order_id, *step_due), 201, "{}");
    } else {
      Store().FinishKey("b", key, 201, "{}");
    }
  }

  // Queues a junction_event job through a webhook receipt "svix-<job id>".
  void AddEvent(const std::string& job_id, const std::string& order_id, TimePoint due_at) {
    ASSERT_TRUE(
        Store().RecordJunctionWebhook("svix-" + job_id, kT0, EventJob(job_id, order_id, due_at)));
  }

  // Claims exactly the job id (it must be the only one due at now).
  Job ClaimOnly(const std::string& id, TimePoint now, TimePoint lease_until,
                const std::string& owner = "w1") {
    std::vector<Job> jobs = Store().ClaimDueJobs(now, lease_until, owner, 10);
    EXPECT_EQ(Ids(jobs), std::vector<std::string>{id});
    return jobs.empty() ? Job{} : jobs[0];
  }

  std::string JobColumn(const std::string& job_id, const std::string& column) {
    return database().QueryText("SELECT " + column + " FROM jobs WHERE id = '" + job_id + "'");
  }

  std::unique_ptr<SqlStore> store_;
};

// The Store's behaviour: every test runs on SQLite and on PostgreSQL.
class StoreJobsTest : public StoreJobsFixture, public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend Backend() const override { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreJobsTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

class SqliteStoreJobsTest : public StoreJobsFixture {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kSqlite; }
};

class PostgresStoreJobsTest : public StoreJobsFixture {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kPostgres; }
};

// ---- migration
// -----------------------------------------------------------------------------------

constexpr const char* kWorkflowTables[] = {"jobs", "junction_webhooks"};
constexpr const char* kWorkflowIndexes[] = {"lab_orders_junction_order", "jobs_ready",
                                            "jobs_one_step_per_order",
                                            "junction_webhooks_received"};

TEST_F(SqliteStoreJobsTest, MigrationsCreateTheWorkflowSchema) {
  Store();
  testing::TestDatabase& raw = database();
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM schema_migrations WHERE version = 2"), "1");
  for (const char* table : kWorkflowTables) {
    EXPECT_EQ(raw.QueryText(std::string("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name = '") +
                            table + "'"),
              table);
  }
  for (const char* index : kWorkflowIndexes) {
    EXPECT_EQ(raw.QueryText(std::string("SELECT name FROM sqlite_master WHERE type = 'index' "
                                        "AND name = '") +
                            index + "'"),
              index);
  }
  // One queued step per order is the database's to enforce.
  const std::string one_step =
      raw.QueryText("SELECT sql FROM sqlite_master WHERE name = 'jobs_one_step_per_order'");
  EXPECT_NE(one_step.find("UNIQUE"), std::string::npos) << one_step;
  EXPECT_NE(one_step.find("WHERE"), std::string::npos) << one_step;
}

TEST_F(PostgresStoreJobsTest, MigrationsCreateTheWorkflowSchema) {
  Store();
  testing::TestDatabase& raw = database();
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM schema_migrations WHERE version = 2"), "1");
  for (const char* table : kWorkflowTables) {
    EXPECT_EQ(
        raw.QueryText(std::string("SELECT table_name FROM information_schema.tables "
                                  "WHERE table_schema = current_schema() AND table_name = '") +
                      table + "'"),
        table);
  }
  for (const char* index : kWorkflowIndexes) {
    EXPECT_EQ(raw.QueryText(std::string("SELECT indexname FROM pg_indexes "
                                        "WHERE schemaname = current_schema() AND indexname = '") +
                            index + "'"),
              index);
  }
  const std::string one_step =
      raw.QueryText("SELECT indexdef FROM pg_indexes WHERE indexname = 'jobs_one_step_per_order'");
  EXPECT_NE(one_step.find("UNIQUE"), std::string::npos) << one_step;
  EXPECT_NE(one_step.find("WHERE"), std::string::npos) << one_step;
}

// ---- ClaimDueJobs
// --------------------------------------------------------------------------------

TEST_P(StoreJobsTest, ClaimDueJobsTakesDueJobsByDueTimeThenIdUpToTheLimit) {
  AddOrder("order-a", kT0 + 3s);
  AddOrder("order-b", kT0 + 1s);
  AddOrder("order-c", kT0 + 10s);  // not due yet
  AddEvent("event-2", "order-a", kT0 + 2s);
  AddEvent("event-1", "order-a", kT0 + 2s);  // same due time: the smaller id first

  std::vector<Job> first = Store().ClaimDueJobs(kT0 + 5s, kT0 + 35s, "w1", 2);
  EXPECT_EQ(Ids(first), (std::vector<std::string>{"step-order-b", "event-1"}));
  for (const Job& job : first) EXPECT_EQ(job.lease_owner, "w1");
  std::vector<Job> rest = Store().ClaimDueJobs(kT0 + 5s, kT0 + 35s, "w2", 10);
  EXPECT_EQ(Ids(rest), (std::vector<std::string>{"event-2", "step-order-a"}));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].kind, kJobJunctionEvent);
  EXPECT_EQ(rest[0].order_id, "order-a");
  EXPECT_EQ(rest[0].payload, R"({"event":"event-2"})");
  EXPECT_EQ(rest[0].due_at, kT0 + 2s);
  EXPECT_EQ(rest[0].created_at, kT0);
  EXPECT_EQ(rest[0].attempts, 0);
  EXPECT_EQ(rest[0].lease_owner, "w2");
  EXPECT_TRUE(Store().ClaimDueJobs(kT0 + 5s, kT0 + 35s, "w3", 10).empty());
  // Due exactly at now counts.
  EXPECT_EQ(Ids(Store().ClaimDueJobs(kT0 + 10s, kT0 + 40s, "w3", 10)),
            std::vector<std::string>{"step-order-c"});
}

TEST_P(StoreJobsTest, ClaimedJobIsClaimedAgainOnlyWhenItsLeaseRunsOut) {
  AddOrder("order-1", kT0);
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);
  EXPECT_EQ(JobColumn(job.id, "lease_owner"), "w1");
  EXPECT_EQ(JobColumn(job.id, "locked_until"), Millis(kT0 + 30s));
  EXPECT_TRUE(Store().ClaimDueJobs(kT0 + 1s, kT0 + 31s, "w2", 10).empty());
  EXPECT_TRUE(Store().ClaimDueJobs(kT0 + 30s - 1ms, kT0 + 60s, "w2", 10).empty());
  // The worker died: from the lease's end on, the job is due again.
  Job again = ClaimOnly("step-order-1", kT0 + 30s, kT0 + 60s, "w2");
  EXPECT_EQ(again.lease_owner, "w2");
  EXPECT_TRUE(Store().ClaimDueJobs(kT0 + 59s, kT0 + 90s, "w3", 10).empty());
}

TEST_P(StoreJobsTest, ExpiredLeaseIsClaimableEvenBeforeTheJobIsDue) {
  AddOrder("order-1", kT0 + 1h);
  Job held;
  ASSERT_EQ(Store().ClaimOrderStep("order-1", kT0, kT0 + 30s, "api", &held),
            OrderJobClaim::kClaimed);
  EXPECT_TRUE(Store().ClaimDueJobs(kT0 + 29s, kT0 + 60s, "w1", 10).empty());
  Job job = ClaimOnly("step-order-1", kT0 + 30s, kT0 + 60s);
  EXPECT_EQ(job.due_at, kT0 + 1h);
}

TEST_P(StoreJobsTest, ClaimArgumentsAreChecked) {
  EXPECT_THROW(Store().ClaimDueJobs(kT0, kT0 + 30s, "w1", 0), std::invalid_argument);
  EXPECT_THROW(Store().ClaimDueJobs(kT0, kT0 + 30s, "", 1), std::invalid_argument);
  EXPECT_THROW(Store().ClaimOrderStep("order-1", kT0, kT0 + 30s, "", nullptr),
               std::invalid_argument);
  EXPECT_THROW(Store().ClaimStaleKeys(kT0, kT0, kT0 + 30s, 0), std::invalid_argument);
}

// ---- CompleteJob
// ---------------------------------------------------------------------------------

TEST_P(StoreJobsTest, CompleteJobDoneEndsTheJob) {
  AddOrder("order-1", kT0);
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);
  JobOutcome outcome;
  outcome.done = true;
  Store().CompleteJob(job, outcome);

  EXPECT_EQ(JobColumn(job.id, "state"), "done");
  EXPECT_EQ(JobColumn(job.id, "locked_until"), "");
  EXPECT_EQ(JobColumn(job.id, "lease_owner"), "");
  EXPECT_TRUE(Store().QueuedJobCounts().empty());
  EXPECT_FALSE(Store().NextJobDue().has_value());
  EXPECT_TRUE(Store().ClaimDueJobs(kT0 + 1h, kT0 + 2h, "w2", 10).empty());
  // Done is final: a second completion has no lease to complete under.
  EXPECT_THROW(Store().CompleteJob(job, outcome), LeaseLost);
  // The order was not touched.
  EXPECT_EQ(Store().GetOrderById("order-1")->version, 1);
}

TEST_P(StoreJobsTest, CompleteJobNotDoneReschedulesWithAttemptsAndError) {
  AddOrder("order-1", kT0);
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);
  JobOutcome outcome;
  outcome.retry_at = kT0 + 1min;
  outcome.attempts = 3;
  outcome.last_error = "junction 503";
  Store().CompleteJob(job, outcome);

  EXPECT_EQ(JobColumn(job.id, "state"), "queued");
  EXPECT_EQ(JobColumn(job.id, "due_at"), Millis(kT0 + 1min));
  EXPECT_EQ(JobColumn(job.id, "attempts"), "3");
  EXPECT_EQ(JobColumn(job.id, "last_error"), "junction 503");
  EXPECT_EQ(JobColumn(job.id, "locked_until"), "");
  EXPECT_EQ(JobColumn(job.id, "lease_owner"), "");
  EXPECT_EQ(Store().NextJobDue(), kT0 + 1min);
  EXPECT_TRUE(Store().ClaimDueJobs(kT0 + 1min - 1ms, kT0 + 2min, "w1", 10).empty());
  Job again = ClaimOnly("step-order-1", kT0 + 1min, kT0 + 2min);
  EXPECT_EQ(again.attempts, 3);
  EXPECT_EQ(again.due_at, kT0 + 1min);

  // A later success-with-retry clears the error.
  JobOutcome calmer;
  calmer.retry_at = kT0 + 5min;
  calmer.attempts = 0;
  Store().CompleteJob(again, calmer);
  EXPECT_EQ(JobColumn(job.id, "last_error"), "");
  EXPECT_EQ(JobColumn(job.id, "attempts"), "0");
}

TEST_P(StoreJobsTest, LeaseLostWhenAnotherOwnerTookTheJobAfterExpiry) {
  AddOrder("order-1", kT0);
  Job mine = ClaimOnly("step-order-1", kT0, kT0 + 30s, "w1");
  Job theirs = ClaimOnly("step-order-1", kT0 + 31s, kT0 + 61s, "w2");

  JobOutcome outcome;
  outcome.done = true;
  outcome.order_update = *Store().GetOrderById("order-1");
  outcome.order_update->status = "failed";
  EXPECT_THROW(Store().CompleteJob(mine, outcome), LeaseLost);
  EXPECT_EQ(Store().GetOrderById("order-1")->status, "ordered");  // nothing written
  EXPECT_EQ(JobColumn("step-order-1", "lease_owner"), "w2");
  // Giving back a job one no longer holds leaves the holder's lease alone.
  Store().ReleaseJob(mine);
  EXPECT_EQ(JobColumn("step-order-1", "lease_owner"), "w2");

  Store().CompleteJob(theirs, outcome);
  EXPECT_EQ(Store().GetOrderById("order-1")->status, "failed");
  // A job never claimed holds no lease.
  Job unclaimed = theirs;
  unclaimed.lease_owner = "";
  EXPECT_THROW(Store().CompleteJob(unclaimed, JobOutcome{}), LeaseLost);
}

TEST_P(StoreJobsTest, ExpiredLeaseNobodyTookOverStillCompletes) {
  AddOrder("order-1", kT0);
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);
  JobOutcome outcome;
  outcome.done = true;
  EXPECT_NO_THROW(Store().CompleteJob(job, outcome));  // long after kT0 + 30s; owner still w1
  EXPECT_EQ(JobColumn(job.id, "state"), "done");
}

TEST_P(StoreJobsTest, VersionConflictWritesNothing) {
  AddOrder("order-1", kT0);
  AddOrder("order-2");
  LabOrder before = *Store().GetOrderById("order-1");
  ASSERT_EQ(before.version, 1);
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);

  JobOutcome outcome;
  outcome.expected_order_version = 0;  // what the run read; the order is at 1 now
  outcome.order_update = before;
  outcome.order_update->status = "appointment_pending";
  outcome.order_update->workflow = SampleWorkflow();
  outcome.done = true;
  outcome.enqueue = {StepJob("next", "order-1", kT0, kJobBookAppointment),
                     StepJob("other", "order-2", kT0)};
  outcome.wake_order_step = true;
  EXPECT_THROW(Store().CompleteJob(job, outcome), VersionConflict);

  LabOrder after = *Store().GetOrderById("order-1");
  EXPECT_EQ(after.version, 1);
  EXPECT_EQ(after.status, "ordered");
  ExpectSameWorkflow(after.workflow, before.workflow);
  EXPECT_EQ(JobColumn(job.id, "state"), "queued");
  EXPECT_EQ(JobColumn(job.id, "lease_owner"), "w1");  // still held: the run may retry
  EXPECT_EQ(JobColumn(job.id, "due_at"), Millis(kT0));
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobAwaitRequisition, 1}}));

  // At the right version the same outcome commits.
  outcome.expected_order_version = 1;
  Store().CompleteJob(job, outcome);
  EXPECT_EQ(Store().GetOrderById("order-1")->version, 2);
  EXPECT_EQ(Store().QueuedJobCounts(),
            (Counts{{kJobAwaitRequisition, 1}, {kJobBookAppointment, 1}}));
}

TEST_P(StoreJobsTest, OrderUpdateBumpsTheVersionAndReadsBack) {
  AddOrder("order-1", kT0);
  LabOrder read = *Store().GetOrderById("order-1");
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);

  LabOrder update = read;
  update.status = "completed";
  update.updated_at = "2024-05-01T14:00:00.5+02:00";  // stored in the canonical form
  update.completed_at = "2024-05-01T12:00:00Z";
  update.workflow = SampleWorkflow();
  update.workflow.failure_reason = "none";
  update.workflow.booking_sent = true;
  // Only status, times and workflow are a run's to change.
  update.panel_slug = "something-else";
  update.patient.first_name = "Mallory";
  JobOutcome outcome;
  outcome.expected_order_version = read.version;
  outcome.order_update = update;
  outcome.done = true;
  Store().CompleteJob(job, outcome);

  LabOrder stored = *Store().GetOrderById("order-1");
  EXPECT_EQ(stored.version, read.version + 1);
  EXPECT_EQ(stored.status, "completed");
  EXPECT_EQ(stored.updated_at, "2024-05-01T12:00:00+00:00");
  EXPECT_EQ(stored.completed_at, "2024-05-01T12:00:00+00:00");
  ExpectSameWorkflow(stored.workflow, update.workflow);
  EXPECT_EQ(stored.panel_slug, "metabolic-basic");
  EXPECT_EQ(stored.patient.first_name, "Ann");
  EXPECT_EQ(stored.created_at, read.created_at);
  // The brand-scoped read sees the same.
  EXPECT_EQ(Store().GetOrder("b", "order-1")->version, stored.version);
}

TEST_P(StoreJobsTest, OrderUpdateForAnotherOrderIsALogicErrorAndWritesNothing) {
  AddOrder("order-1", kT0);
  AddOrder("order-2");
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);
  JobOutcome outcome;
  outcome.order_update = *Store().GetOrderById("order-2");
  outcome.order_update->status = "cancelled";
  outcome.done = true;
  EXPECT_THROW(Store().CompleteJob(job, outcome), std::logic_error);
  EXPECT_EQ(Store().GetOrderById("order-2")->status, "received");
  EXPECT_EQ(JobColumn(job.id, "state"), "queued");

  outcome.order_update = *Store().GetOrderById("order-1");
  outcome.order_update->updated_at = "not a time";
  EXPECT_THROW(Store().CompleteJob(job, outcome), std::invalid_argument);
  EXPECT_EQ(JobColumn(job.id, "state"), "queued");
}

TEST_P(StoreJobsTest, EnqueuedJobsCommitWithTheOutcome) {
  AddOrder("order-1", kT0);
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);
  JobOutcome outcome;
  outcome.done = true;
  // An event job may queue beside the step.
  outcome.enqueue = {StepJob("book", "order-1", kT0 + 1s, kJobBookAppointment),
                     EventJob("later", "order-1", kT0 + 1h)};
  Store().CompleteJob(job, outcome);

  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobBookAppointment, 1}, {kJobJunctionEvent, 1}}));
  Job book = ClaimOnly("book", kT0 + 1s, kT0 + 31s);
  EXPECT_EQ(book.kind, kJobBookAppointment);
  EXPECT_EQ(book.attempts, 0);
  // created_at: the earlier of its due time and the completing run's lease end.
  EXPECT_EQ(book.created_at, kT0 + 1s);
  EXPECT_EQ(JobColumn("later", "created_at"), Millis(kT0 + 30s));
  EXPECT_EQ(JobColumn("later", "state"), "queued");
}

TEST_P(StoreJobsTest, SecondQueuedStepJobForAnOrderIsRefusedAndNothingIsWritten) {
  AddOrder("order-1", kT0);
  LabOrder before = *Store().GetOrderById("order-1");
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);

  // Not done, so the step stays queued: a second step beside it breaks the invariant.
  JobOutcome outcome;
  outcome.retry_at = kT0 + 1min;
  outcome.attempts = 1;
  outcome.order_update = before;
  outcome.order_update->status = "appointment_pending";
  outcome.enqueue = {StepJob("second-step", "order-1", kT0, kJobBookAppointment)};
  EXPECT_THROW(Store().CompleteJob(job, outcome), std::logic_error);

  EXPECT_EQ(Store().GetOrderById("order-1")->version, before.version);
  EXPECT_EQ(Store().GetOrderById("order-1")->status, "ordered");
  EXPECT_EQ(JobColumn(job.id, "due_at"), Millis(kT0));
  EXPECT_EQ(JobColumn(job.id, "attempts"), "0");
  EXPECT_EQ(JobColumn(job.id, "lease_owner"), "w1");
  EXPECT_EQ(JobColumn("second-step", "id"), "");
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobAwaitRequisition, 1}}));

  // An event job queuing a step while one is queued is refused the same way.
  AddEvent("event-1", "order-1", kT0);
  Job event = ClaimOnly("event-1", kT0 + 1s, kT0 + 31s, "w2");
  JobOutcome from_event;
  from_event.done = true;
  from_event.enqueue = {StepJob("step-from-event", "order-1", kT0)};
  EXPECT_THROW(Store().CompleteJob(event, from_event), std::logic_error);
  EXPECT_EQ(JobColumn("event-1", "state"), "queued");
}

TEST_P(StoreJobsTest, WakeOrderStepMakesTheStepDueNow) {
  AddOrder("order-1", kT0 + 6h);
  AddOrder("order-2", kT0 + 6h);
  AddEvent("event-1", "order-1", kT0);
  Job event = ClaimOnly("event-1", kT0, kT0 + 30s);
  JobOutcome outcome;
  outcome.done = true;
  outcome.wake_order_step = true;
  Store().CompleteJob(event, outcome);

  // Due "now": before any now, so the next claim takes it; the other order's step still waits.
  EXPECT_EQ(Store().NextJobDue(), kEpoch);
  Job step = ClaimOnly("step-order-1", kT0 + 1s, kT0 + 31s);
  EXPECT_EQ(step.due_at, kEpoch);
  EXPECT_EQ(Store().NextJobDue(), kT0 + 31s);  // its lease's end; order-2's step is later
}

// ---- ClaimOrderStep, ReleaseJob
// ------------------------------------------------------------------

TEST_P(StoreJobsTest, ClaimOrderStepIsNoneBusyOrClaimed) {
  AddOrder("no-step");
  AddEvent("event-1", "no-step", kT0);  // an event job is not a step
  Job job;
  EXPECT_EQ(Store().ClaimOrderStep("no-step", kT0, kT0 + 30s, "api", &job), OrderJobClaim::kNone);
  EXPECT_EQ(Store().ClaimOrderStep("no-such-order", kT0, kT0 + 30s, "api", &job),
            OrderJobClaim::kNone);

  AddOrder("order-1", kT0 + 6h);  // not due: an API action takes it anyway
  ASSERT_EQ(Store().ClaimOrderStep("order-1", kT0, kT0 + 30s, "api", &job),
            OrderJobClaim::kClaimed);
  EXPECT_EQ(job.id, "step-order-1");
  EXPECT_EQ(job.kind, kJobAwaitRequisition);
  EXPECT_EQ(job.order_id, "order-1");
  EXPECT_EQ(job.due_at, kT0 + 6h);
  EXPECT_EQ(job.lease_owner, "api");
  EXPECT_EQ(JobColumn(job.id, "locked_until"), Millis(kT0 + 30s));

  Job other;
  EXPECT_EQ(Store().ClaimOrderStep("order-1", kT0 + 29s, kT0 + 60s, "api-2", &other),
            OrderJobClaim::kBusy);
  EXPECT_TRUE(other.id.empty());
  // Workers see the same lease: only the event job is theirs to take.
  EXPECT_EQ(Ids(Store().ClaimDueJobs(kT0 + 29s, kT0 + 60s, "w1", 10)),
            std::vector<std::string>{"event-1"});
  EXPECT_EQ(Store().ClaimOrderStep("order-1", kT0 + 30s, kT0 + 60s, "api-2", &other),
            OrderJobClaim::kClaimed);
  EXPECT_EQ(other.lease_owner, "api-2");
  EXPECT_THROW(Store().CompleteJob(job, JobOutcome{}), LeaseLost);

  JobOutcome done;
  done.done = true;
  Store().CompleteJob(other, done);
  EXPECT_EQ(Store().ClaimOrderStep("order-1", kT0 + 1h, kT0 + 2h, "api", &job),
            OrderJobClaim::kNone);
}

TEST_P(StoreJobsTest, ReleasedJobIsDueWhenItWas) {
  AddOrder("order-1", kT0);
  AddOrder("order-2", kT0 + 1h);
  Job due = ClaimOnly("step-order-1", kT0, kT0 + 30s);
  Store().ReleaseJob(due);
  EXPECT_EQ(JobColumn(due.id, "lease_owner"), "");
  EXPECT_EQ(JobColumn(due.id, "locked_until"), "");
  EXPECT_EQ(JobColumn(due.id, "due_at"), Millis(kT0));
  ClaimOnly("step-order-1", kT0 + 1s, kT0 + 31s, "w2");

  Job later;
  ASSERT_EQ(Store().ClaimOrderStep("order-2", kT0, kT0 + 30s, "api", &later),
            OrderJobClaim::kClaimed);
  Store().ReleaseJob(later);
  EXPECT_TRUE(Store().ClaimDueJobs(kT0 + 2s, kT0 + 32s, "w3", 10).empty());
  EXPECT_EQ(Store().ClaimOrderStep("order-2", kT0 + 2s, kT0 + 32s, "api", &later),
            OrderJobClaim::kClaimed);

  Job never_claimed;
  never_claimed.id = "step-order-2";
  Store().ReleaseJob(never_claimed);
  EXPECT_EQ(JobColumn("step-order-2", "lease_owner"), "api");
}

TEST_P(StoreJobsTest, CheckpointOrderWritesTheOrderAndKeepsTheJobHeld) {
  AddOrder("order-1", kT0);
  Job job = ClaimOnly("step-order-1", kT0, kT0 + 30s);
  LabOrder order = *Store().GetOrderById("order-1");
  order.workflow.booking_sent = true;
  order.updated_at = FormatRfc3339(kT0 + 1s);
  Store().CheckpointOrder(job, order, order.version);

  LabOrder stored = *Store().GetOrderById("order-1");
  EXPECT_EQ(stored.version, order.version + 1);
  EXPECT_TRUE(stored.workflow.booking_sent);
  EXPECT_EQ(JobColumn(job.id, "lease_owner"), "w1");
  EXPECT_EQ(JobColumn(job.id, "state"), "queued");

  EXPECT_THROW(Store().CheckpointOrder(job, order, order.version), VersionConflict);
  Job stolen = job;
  stolen.lease_owner = "w2";
  EXPECT_THROW(Store().CheckpointOrder(stolen, order, stored.version), LeaseLost);
  EXPECT_EQ(Store().GetOrderById("order-1")->version, stored.version);

  JobOutcome outcome;
  outcome.expected_order_version = stored.version;
  outcome.done = true;
  Store().CompleteJob(job, outcome);
  EXPECT_EQ(JobColumn(job.id, "state"), "done");
}

// ---- NextJobDue, QueuedJobCounts, ReleaseAllJobLeases
// --------------------------------------------

TEST_P(StoreJobsTest, NextJobDueIsTheEarliestDueTimeOrLeaseEnd) {
  EXPECT_FALSE(Store().NextJobDue().has_value());
  AddOrder("order-1", kT0 + 5s);
  EXPECT_EQ(Store().NextJobDue(), kT0 + 5s);
  AddOrder("order-2", kT0 + 40s);
  Job held = ClaimOnly("step-order-1", kT0 + 5s, kT0 + 30s);
  EXPECT_EQ(Store().NextJobDue(), kT0 + 30s);  // the lease ends before order-2 is due
  Job longer;
  ASSERT_EQ(Store().ClaimOrderStep("order-2", kT0, kT0 + 2min, "api", &longer),
            OrderJobClaim::kClaimed);
  EXPECT_EQ(Store().NextJobDue(), kT0 + 30s);
  JobOutcome done;
  done.done = true;
  Store().CompleteJob(held, done);
  EXPECT_EQ(Store().NextJobDue(), kT0 + 2min);  // a held job's own due time does not count
  Store().CompleteJob(longer, done);
  EXPECT_FALSE(Store().NextJobDue().has_value());
}

TEST_P(StoreJobsTest, QueuedJobCountsAreByKindInKindOrder) {
  EXPECT_TRUE(Store().QueuedJobCounts().empty());
  AddOrder("order-1", kT0);
  AddOrder("order-2", kT0);
  AddOrder("order-3");
  AddEvent("event-1", "order-3", kT0);
  AddEvent("event-2", "order-3", kT0);
  Job held;  // a held job is still queued
  ASSERT_EQ(Store().ClaimOrderStep("order-1", kT0, kT0 + 30s, "w1", &held),
            OrderJobClaim::kClaimed);
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobAwaitRequisition, 2}, {kJobJunctionEvent, 2}}));
}

TEST_P(StoreJobsTest, ReleaseAllJobLeasesFreesEveryHeldJob) {
  AddOrder("order-1", kT0);
  AddOrder("order-2", kT0);
  AddOrder("order-3", kT0 + 1h);
  ASSERT_EQ(Store().ClaimDueJobs(kT0, kT0 + 30s, "w1", 10).size(), 2u);
  EXPECT_EQ(Store().ReleaseAllJobLeases(), 2);
  EXPECT_EQ(Store().ReleaseAllJobLeases(), 0);
  EXPECT_EQ(Store().ClaimDueJobs(kT0 + 1s, kT0 + 31s, "w2", 10).size(), 2u);
}

// ---- webhooks and reaping
// ------------------------------------------------------------------------

TEST_P(StoreJobsTest, RecordJunctionWebhookRefusesADuplicateAndWritesNothing) {
  AddOrder("order-1");
  EXPECT_TRUE(Store().RecordJunctionWebhook("msg_1", kT0, EventJob("event-1", "order-1", kT0)));
  EXPECT_FALSE(
      Store().RecordJunctionWebhook("msg_1", kT0 + 1s, EventJob("event-2", "order-1", kT0)));
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobJunctionEvent, 1}}));
  EXPECT_EQ(JobColumn("event-2", "id"), "");
  testing::TestDatabase& raw = database();
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM junction_webhooks"), "1");
  EXPECT_EQ(raw.QueryText("SELECT received_at FROM junction_webhooks"), Millis(kT0));
  // A receipt whose job cannot be written is not kept either (unknown order: foreign key).
  EXPECT_THROW(
      Store().RecordJunctionWebhook("msg_2", kT0, EventJob("event-3", "no-such-order", kT0)),
      std::logic_error);
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM junction_webhooks"), "1");
}

TEST_P(StoreJobsTest, ReapKeysAlsoRemovesOldReceiptsAndFinishedJobs) {
  AddOrder("order-1");  // the keys are created at kT0
  AddOrder("order-2", kT0 + 10h);
  ASSERT_TRUE(Store().RecordJunctionWebhook("old", kT0, EventJob("event-old", "order-1", kT0)));
  ASSERT_TRUE(
      Store().RecordJunctionWebhook("new", kT0 + 2h, EventJob("event-new", "order-1", kT0)));
  JobOutcome done;
  done.done = true;
  // Finished at about kT0 + 30s (its lease's end).
  std::vector<Job> first = Store().ClaimDueJobs(kT0, kT0 + 30s, "w1", 2);
  ASSERT_EQ(Ids(first), (std::vector<std::string>{"event-new", "event-old"}));
  Store().CompleteJob(first[1], done);
  // Finished at about kT0 + 3h.
  Store().CompleteJob(ClaimOnly("event-new", kT0 + 3h - 30s, kT0 + 3h, "w2"), done);

  EXPECT_EQ(Store().ReapKeys(kT0 + 1h), 2);  // the two orders' keys
  testing::TestDatabase& raw = database();
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM junction_webhooks"), "1");
  EXPECT_EQ(raw.QueryText("SELECT svix_id FROM junction_webhooks"), "new");
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), "1");
  EXPECT_EQ(raw.QueryText("SELECT id FROM jobs WHERE state = 'done'"), "event-new");
  // Queued jobs stay however old.
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobAwaitRequisition, 1}}));
  EXPECT_EQ(Store().ReapKeys(kT0 + 1h), 0);
  // A reaped receipt no longer dedupes.
  EXPECT_TRUE(
      Store().RecordJunctionWebhook("old", kT0 + 4h, EventJob("event-again", "order-1", kT0)));
}

// ---- the completer's keys
// ------------------------------------------------------------------------

TEST_P(StoreJobsTest, ClaimStaleKeysLeasesUnfinishedKeysWithOrders) {
  SqlStore& store = Store();
  // Each key claimed with its order, as a request claims it.
  auto claim = [&](const std::string& key, const std::string& order_id, TimePoint at,
                   TimePoint lease_until) {
    LabOrder order;
    order.id = order_id;
    order.brand_id = "b";
    order.user_id = "u";
    order.panel_slug = "p";
    order.status = "received";
    order.created_at = order.updated_at = FormatRfc3339(kT0);
    ASSERT_EQ(store.ClaimKey("b", key, {kFingerprint}, at, lease_until, order).result,
              ClaimResult::kNew);
  };
  // Claimed by an older version, which recorded the order in a commit of its own: no order yet,
  // nothing to complete.
  database().Exec(
      "INSERT INTO idempotency_keys (brand_id, key, fingerprint, recovery_point, locked_until, "
      "created_at) VALUES ('b', 'started', '" +
      std::string(kFingerprint) + "', 'started', " + Millis(kT0 + 30s) + ", " + Millis(kT0) + ")");
  claim("recorded", "order-recorded", kT0 + 1s, kT0 + 30s);
  claim("user", "order-user", kT0 + 2s, kT0 + 30s);
  store.SaveJunctionUser("b", "user", "order-user", "b:u", "ju", kT0 + 2s);
  claim("live", "order-live", kT0 + 3s, kT0 + 1h);  // its request is still working on it
  claim("finished", "order-finished", kT0 + 4s, kT0 + 30s);
  store.FinishKey("b", "finished", 201, "{}");
  claim("young", "order-young", kT0 + 2min, kT0 + 3min);  // created after the cutoff

  const TimePoint now = kT0 + 5min;
  std::vector<IdempotencyRecord> stale = store.ClaimStaleKeys(kT0 + 1min, now, now + 30s, 10);
  ASSERT_EQ(stale.size(), 2u);
  EXPECT_EQ(stale[0].key, "recorded");  // oldest first
  EXPECT_EQ(stale[0].brand_id, "b");
  EXPECT_EQ(stale[0].fingerprint, kFingerprint);
  EXPECT_EQ(stale[0].recovery_point, RecoveryPoint::kOrderRecorded);
  EXPECT_EQ(stale[0].order_id, "order-recorded");
  EXPECT_EQ(stale[0].created_at, kT0 + 1s);
  EXPECT_FALSE(stale[0].response_body.has_value());
  EXPECT_EQ(stale[1].key, "user");
  EXPECT_EQ(stale[1].recovery_point, RecoveryPoint::kUserEnsured);

  // Leased to the completer: a retry of the request waits, and a second pass finds none.
  EXPECT_EQ(store
                .ClaimKey("b", "recorded", {kFingerprint}, now + 1s, now + 31s,
                          testing::ExampleOrder("order-retry", "b", now + 1s))
                .result,
            ClaimResult::kInProgress);
  EXPECT_TRUE(store.ClaimStaleKeys(kT0 + 1min, now + 29s, now + 60s, 10).empty());
  // When the lease ends they are claimable again; the limit holds.
  std::vector<IdempotencyRecord> again = store.ClaimStaleKeys(kT0 + 1min, now + 30s, now + 60s, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, "recorded");
}

// ---- reads for the workers
// -----------------------------------------------------------------------

TEST_P(StoreJobsTest, OrdersAreFoundByIdAndJunctionIdForAnyBrand) {
  AddOrder("order-1", kT0);
  std::optional<LabOrder> by_junction = Store().FindOrderByJunctionId("jo-order-1");
  ASSERT_TRUE(by_junction.has_value());
  EXPECT_EQ(by_junction->id, "order-1");
  EXPECT_EQ(by_junction->brand_id, "b");
  EXPECT_EQ(by_junction->patient.email, "ann@example.org");
  EXPECT_EQ(by_junction->version, 1);
  EXPECT_FALSE(Store().FindOrderByJunctionId("jo-unknown").has_value());

  std::optional<LabOrder> by_id = Store().GetOrderById("order-1");
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->junction_order_id, "jo-order-1");
  EXPECT_FALSE(Store().GetOrderById("no-such-order").has_value());
  EXPECT_FALSE(Store().GetOrder("other-brand", "order-1").has_value());
}

// ---- concurrency
// ---------------------------------------------------------------------------------

constexpr int kContendedJobs = 120;

// Each claimer claims small batches until none is left; returns every id handed out, per claimer.
std::vector<std::vector<std::string>> ClaimConcurrently(const std::vector<SqlStore*>& stores) {
  const int claimers = static_cast<int>(stores.size());
  std::vector<std::vector<std::string>> claimed(claimers);
  ExpectNoErrors(RunTogether(claimers, [&](int i) {
    const std::string owner = "w" + std::to_string(i);
    for (;;) {
      std::vector<Job> jobs = stores[i]->ClaimDueJobs(kT0 + 1s, kT0 + 1h, owner, 3);
      if (jobs.empty()) break;
      for (const Job& job : jobs) claimed[i].push_back(job.id);
    }
  }));
  return claimed;
}

void ExpectEachClaimedOnce(const std::vector<std::vector<std::string>>& claimed, int expected) {
  std::vector<std::string> all;
  for (const auto& ids : claimed) all.insert(all.end(), ids.begin(), ids.end());
  std::set<std::string> distinct(all.begin(), all.end());
  EXPECT_EQ(all.size(), distinct.size()) << "handed out twice";
  EXPECT_EQ(distinct.size(), static_cast<size_t>(expected));
}

TEST_P(StoreJobsTest, EightThreadsClaimingOnOneStoreNeverShareAJob) {
  AddOrder("order-1");
  for (int i = 0; i < kContendedJobs; ++i) {
    AddEvent("event-" + std::to_string(i), "order-1", kT0 + std::chrono::milliseconds(i % 7));
  }
  std::vector<SqlStore*> stores(8, &Store());
  ExpectEachClaimedOnce(ClaimConcurrently(stores), kContendedJobs);
}

// Eight processes: on SQLite eight connections to one file, on PostgreSQL eight pools, where
// claims pass over the rows another claimer has locked (SKIP LOCKED).
TEST_P(StoreJobsTest, EightStoresClaimingOneDatabaseNeverShareAJob) {
  AddOrder("order-1");
  for (int i = 0; i < kContendedJobs; ++i) {
    AddEvent("event-" + std::to_string(i), "order-1", kT0 + std::chrono::milliseconds(i % 7));
  }
  std::vector<std::unique_ptr<SqlStore>> owned;
  std::vector<SqlStore*> stores;
  for (int i = 0; i < 8; ++i) {
    owned.push_back(OpenStore());
    stores.push_back(owned.back().get());
  }
  ExpectEachClaimedOnce(ClaimConcurrently(stores), kContendedJobs);
  EXPECT_EQ(Store().NextJobDue(), kT0 + 1h);  // every one leased, to the lease's end
}

// Completers in several processes: no stale key is handed to two of them.
TEST_P(StoreJobsTest, StoresClaimingStaleKeysAtOnceNeverShareAKey) {
  constexpr int kKeys = 48;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "key-" + std::to_string(i);
    // Leases ran out at kT0 + 30s: the requests died after recording their orders.
    ASSERT_EQ(
        Store()
            .ClaimKey("b", key, {kFingerprint}, kT0 + std::chrono::milliseconds(i % 5), kT0 + 30s,
                      testing::ExampleOrder("order-" + std::to_string(i), "b", kT0))
            .result,
        ClaimResult::kNew);
  }
  constexpr int kStores = 4;
  std::vector<std::unique_ptr<SqlStore>> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(OpenStore());
  const TimePoint now = kT0 + 5min;
  std::vector<std::vector<std::string>> claimed(kStores);
  ExpectNoErrors(RunTogether(kStores, [&](int i) {
    for (;;) {
      std::vector<IdempotencyRecord> keys =
          stores[i]->ClaimStaleKeys(kT0 + 1min, now, now + 30s, 3);
      if (keys.empty()) break;
      for (const IdempotencyRecord& key : keys) claimed[i].push_back(key.key);
    }
  }));
  ExpectEachClaimedOnce(claimed, kKeys);
  // Each is leased to its completer now.
  EXPECT_EQ(Store()
                .ClaimKey("b", "key-0", {kFingerprint}, now + 1s, now + 31s,
                          testing::ExampleOrder("order-retry", "b", now + 1s))
                .result,
            ClaimResult::kInProgress);
}

// A webhook's event job waking the order's step while the step's own run commits, in two
// processes: both lock the order's row before any job row, so neither waits on the other in a
// cycle. Both commit.
//
// On PostgreSQL a deadlock would not show by itself: the server breaks it (after deadlock_timeout,
// 1 s) by aborting one transaction, which the store runs again. So these stores wait for a lock at
// most 900 ms (lock_timeout): a legitimate wait, for the other commit, takes milliseconds, while a
// deadlock now ends in a lock timeout, which the store reports (StoreUnavailable) and the test
// sees.
TEST_P(StoreJobsTest, EventWakingTheStepWhileTheStepCompletesBothCommit) {
  constexpr int kOrders = 12;
  for (int i = 0; i < kOrders; ++i) {
    const std::string id = "order-" + std::to_string(i);
    AddOrder(id, kT0);
    AddEvent("event-" + std::to_string(i), id, kT0);
  }
  // The workers' claims: the steps to one worker, the events to another.
  std::vector<Job> steps(kOrders);
  std::vector<Job> events;
  for (int i = 0; i < kOrders; ++i) {
    ASSERT_EQ(
        Store().ClaimOrderStep("order-" + std::to_string(i), kT0, kT0 + 30s, "w-step", &steps[i]),
        OrderJobClaim::kClaimed);
  }
  events = Store().ClaimDueJobs(kT0, kT0 + 30s, "w-event", kOrders);
  ASSERT_EQ(events.size(), static_cast<size_t>(kOrders));
  std::sort(events.begin(), events.end(),
            [](const Job& a, const Job& b) { return a.order_id < b.order_id; });
  std::sort(steps.begin(), steps.end(),
            [](const Job& a, const Job& b) { return a.order_id < b.order_id; });

  std::unique_ptr<SqlStore> step_store = OpenStore("lock_timeout=900ms");
  std::unique_ptr<SqlStore> event_store = OpenStore("lock_timeout=900ms");
  std::vector<LabOrder> read(kOrders);
  for (int i = 0; i < kOrders; ++i) read[i] = *Store().GetOrderById(steps[i].order_id);

  // Each round, both commits for one order start together. A throw is noted and the rounds go
  // on, so the other thread never waits at the barrier alone.
  std::barrier round(2);
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  ExpectNoErrors(RunTogether(2, [&](int worker) {
    for (int i = 0; i < kOrders; ++i) {
      round.arrive_and_wait();
      try {
        if (worker == 0) {
          JobOutcome woke;
          woke.done = true;
          woke.wake_order_step = true;
          event_store->CompleteJob(events[i], woke);
        } else {
          JobOutcome stepped;
          stepped.expected_order_version = read[i].version;
          stepped.order_update = read[i];
          stepped.order_update->status = "appointment_pending";
          stepped.retry_at = kT0 + 1h;
          stepped.attempts = 1;
          step_store->CompleteJob(steps[i], stepped);
        }
      } catch (const std::exception& error) {
        std::lock_guard lock(errors_mutex);
        errors.push_back((worker == 0 ? events[i].id : steps[i].id) + ": " + error.what());
      }
    }
  }));
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);

  for (int i = 0; i < kOrders; ++i) {
    const Job& step = steps[i];
    SCOPED_TRACE(step.order_id);
    LabOrder order = *Store().GetOrderById(step.order_id);
    EXPECT_EQ(order.status, "appointment_pending");
    EXPECT_EQ(order.version, read[i].version + 1);
    EXPECT_EQ(JobColumn(events[i].id, "state"), "done");
    EXPECT_EQ(JobColumn(step.id, "state"), "queued");
    EXPECT_EQ(JobColumn(step.id, "attempts"), "1");
    EXPECT_EQ(JobColumn(step.id, "lease_owner"), "");
    // Whichever committed last set its due time: the wake (now) or the run's retry.
    const std::string due_at = JobColumn(step.id, "due_at");
    EXPECT_TRUE(due_at == "0" || due_at == Millis(kT0 + 1h)) << due_at;
  }
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobAwaitRequisition, kOrders}}));
}

}  // namespace
}  // namespace lab_orders::store
