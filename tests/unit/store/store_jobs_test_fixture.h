#pragma once

// The fixture of the Store's jobs tests (store_jobs_test.cpp, store_jobs_upkeep_test.cpp): one
// database of a backend and the store on it, with orders, jobs and workflow states to put there.
// StoreJobsTest runs on every backend; its suite is instantiated once, in store_jobs_test.cpp.

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

namespace lab_orders::store::jobs_test_support {

using namespace std::chrono_literals;
using model::LabOrder;
using Counts = std::vector<std::pair<std::string, int>>;
using testing::ExpectNoErrors;
using testing::RunTogether;
using testing::StoreBackend;

inline const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
inline const TimePoint kEpoch{};
inline const std::string kPhiKey(32, 'p');
inline constexpr char kFingerprint[] = "f1f1f1";

inline NewJob StepJob(const std::string& id, const std::string& order_id, TimePoint due_at,
                      const char* kind = kJobAwaitRequisition) {
  return NewJob{id, kind, order_id, "", due_at};
}

inline NewJob EventJob(const std::string& id, const std::string& order_id, TimePoint due_at) {
  return NewJob{id, kJobJunctionEvent, order_id, R"({"event":")" + id + R"("})", due_at};
}

inline std::vector<std::string> Ids(const std::vector<Job>& jobs) {
  std::vector<std::string> ids;
  for (const Job& job : jobs) ids.push_back(job.id);
  return ids;
}

inline model::WorkflowState SampleWorkflow() {
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

inline void ExpectSameWorkflow(const model::WorkflowState& actual,
                               const model::WorkflowState& expected) {
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

inline std::string Millis(TimePoint time) {
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

class SqliteStoreJobsTest : public StoreJobsFixture {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kSqlite; }
};

class PostgresStoreJobsTest : public StoreJobsFixture {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kPostgres; }
};

}  // namespace lab_orders::store::jobs_test_support
