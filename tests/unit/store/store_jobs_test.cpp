// The Store's jobs and the orders' workflow state and version, on every backend
// (support/store_backends.h): claiming due jobs, completing them, an order's step held and
// released, and what is queued. Webhook receipts, the reaper, the completer's claim on stale keys
// and concurrent claimers are in store_jobs_upkeep_test.cpp.

#include "unit/store/store_jobs_test_fixture.h"

namespace lab_orders::store {
namespace {

using namespace jobs_test_support;  // the fixture, its constants and helpers

// Once for every file of StoreJobsTest's tests (store_jobs_test_fixture.h).
INSTANTIATE_TEST_SUITE_P(Backends, StoreJobsTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

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

}  // namespace
}  // namespace lab_orders::store
