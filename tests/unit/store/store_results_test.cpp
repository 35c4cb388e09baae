// An order's lab results in the store, on every backend (support/store_backends.h): each version
// kept and sealed (no marker value in the clear in the database), read for the order's own brand
// only, committed with the order update that names it; a step queued again for an order whose
// workflow had ended; a critical result's delivery ahead of the brand's other pending ones.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/model/order_events.h"
#include "lab_orders/store/sql_store.h"
#include "support/store_backends.h"
#include "support/store_fixtures.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using testing::StoreBackend;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 6 / 3} + 9h;
constexpr char kBrand[] = "brand-1";
constexpr char kOrder[] = "order-1";
// A marker value nothing else in the database could hold by chance.
constexpr char kValue[] = "731.97531";

model::OrderResult Version(int version, const std::string& status) {
  model::OrderResult result;
  result.id = "result-" + std::to_string(version);
  result.order_id = kOrder;
  result.version = version;
  result.status = status;
  result.interpretation = "abnormal";
  result.sample_id = "4400112233";
  result.received_at = FormatRfc3339(kT0);
  result.markers.push_back({"Testosterone, Total", "testosterone", "2986-8", kValue, "numeric",
                            "ng/dL", "8-60", "high", "Final"});
  result.missing.push_back({"Insulin", std::nullopt, "20448-7", "quantity_not_sufficient_failure"});
  return result;
}

class StoreResultsTest : public testing::StoreDatabaseTest,
                         public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend Backend() const override { return GetParam(); }

  void SetUp() override {
    testing::StoreDatabaseTest::SetUp();
    if (!database_) return;
    store_ = database().OpenMigrated(PhiCipher(std::string(32, 'k')));
    store_->CreateWebhookEndpoint(
        {"ep-1", kBrand, "https://brand.example/hooks", {}, "whsec_x", {}, {}, false, kT0});
    testing::AddJunctionOrder(*store_, kBrand, kOrder, kT0);
  }

  void TearDown() override {
    store_.reset();
    testing::StoreDatabaseTest::TearDown();
  }

  // Claims the order's queued step and commits outcome for it (the order's result, say).
  void Commit(JobOutcome outcome, const std::function<void(model::LabOrder&)>& change) {
    std::vector<Job> jobs = store_->ClaimDueJobs(kT0 + 1h, kT0 + 2h, "worker", 1);
    ASSERT_EQ(jobs.size(), 1u);
    model::LabOrder order = *store_->GetOrderById(kOrder);
    outcome.expected_order_version = order.version;
    change(order);
    outcome.order_update = order;
    store_->CompleteJob(jobs[0], outcome);
  }

  std::unique_ptr<SqlStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreResultsTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

TEST_P(StoreResultsTest, EveryVersionIsKeptSealedAndReadByItsOwnBrandOnly) {
  if (!database_) return;
  for (int version = 1; version <= 3; ++version) {
    JobOutcome outcome;
    outcome.retry_at = kT0;  // stays queued for the next version
    outcome.new_result = Version(version, version == 1 ? "partial" : "final");
    Commit(outcome, [&](model::LabOrder& order) {
      order.workflow.result =
          model::ResultSummary{"result-" + std::to_string(version), version, "final", "abnormal"};
    });
  }
  EXPECT_EQ(store_->CountResultVersions(kOrder), 3);
  std::optional<model::OrderResult> latest = store_->LatestResult(kBrand, kOrder);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, Version(3, "final"));
  EXPECT_EQ(store_->GetOrderById(kOrder)->workflow.result->id, "result-3");
  EXPECT_FALSE(store_->LatestResult("brand-2", kOrder).has_value());
  // The workers' read, for any brand's order.
  ASSERT_TRUE(store_->LatestResultOfOrder(kOrder).has_value());
  EXPECT_EQ(store_->LatestResultOfOrder(kOrder)->id, "result-3");
  EXPECT_FALSE(store_->LatestResultOfOrder("order-2").has_value());
  EXPECT_FALSE(store_->LatestResult(kBrand, "order-2").has_value());

  // Results are PHI: no marker value or name in the clear.
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM lab_results"), "3");
  EXPECT_EQ(database().QueryText(std::string("SELECT COUNT(*) FROM lab_results WHERE document "
                                             "LIKE '%") +
                                 kValue + "%' OR document LIKE '%Testosterone%'"),
            "0");
  // A sealed document moved to another row does not open there.
  database().Exec(
      "UPDATE lab_results SET document = (SELECT document FROM lab_results WHERE version = 1) "
      "WHERE version = 3");
  EXPECT_ANY_THROW(store_->LatestResult(kBrand, kOrder));
}

TEST_P(StoreResultsTest, AStepForAnOrderWithoutOneIsQueuedAndOneQueuedIsWoken) {
  if (!database_) return;
  // The order's step (await_requisition, due at kT0) is woken, not doubled.
  ASSERT_TRUE(store_->RecordJunctionWebhook("svix-1", kT0,
                                            {"ev-1", kJobJunctionEvent, kOrder, "{}", kT0 - 1h}));
  std::vector<Job> jobs = store_->ClaimDueJobs(kT0 - 1h, kT0, "worker", 1);
  ASSERT_EQ(jobs.size(), 1u);
  JobOutcome woken;
  woken.done = true;
  woken.order_step_if_none = NewJob{"fetch-1", kJobFetchResults, kOrder, "", kT0 + 1h};
  store_->CompleteJob(jobs[0], woken);
  EXPECT_EQ(store_->QueuedJobCounts(),
            (std::vector<std::pair<std::string, int>>{{kJobAwaitRequisition, 1}}));
  EXPECT_EQ(store_->NextJobDue(), TimePoint{});  // due now

  // Its workflow ends; a later event queues the step again.
  JobOutcome ended;
  ended.done = true;
  Commit(ended, [](model::LabOrder&) {});
  EXPECT_TRUE(store_->QueuedJobCounts().empty());
  ASSERT_TRUE(store_->RecordJunctionWebhook("svix-2", kT0,
                                            {"ev-2", kJobJunctionEvent, kOrder, "{}", kT0 - 1h}));
  jobs = store_->ClaimDueJobs(kT0, kT0 + 1h, "worker", 1);
  ASSERT_EQ(jobs.size(), 1u);
  store_->CompleteJob(jobs[0], woken);
  EXPECT_EQ(store_->QueuedJobCounts(),
            (std::vector<std::pair<std::string, int>>{{kJobFetchResults, 1}}));
}

TEST_P(StoreResultsTest, ACriticalResultIsDeliveredAheadOfTheBrandsOtherPendingEvents) {
  if (!database_) return;
  // lab_order.created is pending; the order then changes twice more, the last time with a
  // critical result.
  JobOutcome stays;
  stays.retry_at = kT0;
  Commit(stays, [](model::LabOrder& order) {
    order.status = "sample_with_lab";
    order.workflow.sample_id = "4400112233";
    order.updated_at = FormatRfc3339(kT0 + 1h);
  });
  Commit(stays, [](model::LabOrder& order) {
    order.workflow.critical_reported_for = "partial";
    order.updated_at = FormatRfc3339(kT0 + 2h);
  });
  std::vector<std::string> order_of_delivery;
  for (int round = 0; round < 10; ++round) {
    std::vector<WebhookDelivery> due = store_->ClaimDueDeliveries(kT0 + 3h, kT0 + 4h, "d", 1);
    if (due.empty()) break;
    order_of_delivery.push_back(due[0].event_type);
    DeliveryOutcome delivered;
    delivered.next = DeliveryOutcome::Next::kDelivered;
    delivered.attempted_at = kT0 + 3h;
    delivered.status = 200;
    store_->FinishDeliveryAttempt(due[0], delivered);
  }
  ASSERT_FALSE(order_of_delivery.empty());
  EXPECT_EQ(order_of_delivery.front(), model::kEventResultCritical);
  EXPECT_EQ(order_of_delivery,
            (std::vector<std::string>{model::kEventResultCritical, model::kEventOrderCreated,
                                      model::kEventSampleReceived, model::kEventOrderUpdated}));
}

}  // namespace
}  // namespace lab_orders::store
