// The order's second half (issue 17) in the workflow, on a real SqliteStore with Junction mocked
// and time faked: Junction's news of results (a completion, partial results, a correction, a
// critical notice) queue the results step, which fetches the result and keeps each new version
// sealed; the brand hears of each through its events, a critical result ahead of the rest; a
// failed sample carries its reason in words.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/encoding.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/workflow/junction_event.h"
#include "lab_orders/workflow/order_workflow.h"
#include "mocks/mock_junction_client.h"
#include "support/fakes.h"
#include "support/junction_fixtures.h"
#include "support/store_fixtures.h"

namespace lab_orders::workflow {
namespace {

using namespace std::chrono_literals;
using lab_orders::testing::CallFailure;
using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;
using lab_orders::testing::MockJunctionClient;
using store::Job;
using store::JobOutcome;
using store::TimePoint;
using ::testing::ElementsAre;
using ::testing::Return;
using ::testing::StrictMock;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 6 / 3} + 9h;
constexpr char kBrand[] = "brand-1";
constexpr char kOrderId[] = "order-r";
constexpr char kJunctionOrderId[] = "jo-order-r";

junction::ResultMarker Marker(const std::string& name, const std::string& value,
                              const std::string& interpretation = "normal") {
  junction::ResultMarker marker;
  marker.name = name;
  marker.slug = name + "-slug";
  marker.loinc = "2986-8";
  marker.result = value;
  marker.type = "numeric";
  marker.unit = "ng/dL";
  marker.reference_range = "8-60";
  marker.min_range_value = 8;
  marker.max_range_value = 60;
  marker.is_above_max_range = false;
  marker.is_below_min_range = false;
  marker.interpretation = interpretation;
  marker.notes = "Final";
  return marker;
}

junction::LabResult Result(const std::string& status, std::vector<junction::ResultMarker> markers,
                           std::optional<std::string> interpretation = "normal") {
  junction::LabResult result;
  result.status = status;
  result.interpretation = std::move(interpretation);
  result.sample_id = "4400112233";
  result.reported_at = "2024-06-05T14:00:00+00:00";
  result.markers = std::move(markers);
  return result;
}

class OrderResultsTest : public ::testing::Test {
 protected:
  OrderResultsTest()
      : store_(":memory:", store::PhiCipher(RandomBytes(32))),
        clock_(kT0),
        workflow_(store_, junction_, clock_, ids_, Settings(), [] { return 0.0; }) {
    store_.Migrate();
    // Every event type, so the deliveries show what the brand hears and in which order.
    store_.CreateWebhookEndpoint({"ep-1",
                                  kBrand,
                                  "https://brand.example/hooks",
                                  {},
                                  "whsec_x",
                                  std::nullopt,
                                  std::nullopt,
                                  false,
                                  kT0});
    testing::AddJunctionOrder(store_, kBrand, kOrderId, kT0);
  }

  static WorkflowSettings Settings() {
    WorkflowSettings settings;
    settings.results_poll = {1000ms, 60000ms, 2.0};
    settings.reconcile_interval = 6h;
    return settings;
  }

  // A labtest.order.updated for status, as the webhook receiver queues it.
  void OrderNews(const std::string& id, const std::string& status, std::int64_t event_id,
                 std::optional<std::string> status_detail = std::nullopt,
                 std::optional<std::string> sample_id = std::nullopt) {
    JunctionEvent event;
    event.event_type = "labtest.order.updated";
    event.junction_order_id = kJunctionOrderId;
    event.order_status = status;
    event.order_event_id = event_id;
    event.order_status_at = "2024-06-05T15:30:00+00:00";
    event.status_detail = std::move(status_detail);
    event.sample_id = std::move(sample_id);
    Queue(id, event);
  }

  void CriticalNotice(const std::string& id, const std::string& result_status) {
    JunctionEvent event;
    event.event_type = "labtest.result.critical";
    event.junction_order_id = kJunctionOrderId;
    event.critical_result_status = result_status;
    event.sample_id = "4400112233";
    Queue(id, event);
  }

  void Queue(const std::string& id, const JunctionEvent& event) {
    ASSERT_TRUE(store_.RecordJunctionWebhook(
        "svix-" + id, clock_.Now(),
        {id, store::kJobJunctionEvent, kOrderId, JunctionEventToJson(event).dump(), clock_.Now()}));
  }

  // Runs every job due now, as workers would, until none is.
  std::vector<JobOutcome> RunDue() {
    std::vector<JobOutcome> outcomes;
    for (int guard = 0; guard < 20; ++guard) {
      std::vector<Job> jobs = store_.ClaimDueJobs(clock_.Now(), clock_.Now() + 2min, "worker", 1);
      if (jobs.empty()) break;
      outcomes.push_back(workflow_.Run(jobs[0]));
      store_.CompleteJob(jobs[0], outcomes.back());
    }
    return outcomes;
  }

  // Every event the brand's endpoint is sent, in the order the dispatcher sends them.
  std::vector<std::string> Delivered() {
    std::vector<std::string> types;
    for (int guard = 0; guard < 50; ++guard) {
      std::vector<store::WebhookDelivery> due =
          store_.ClaimDueDeliveries(clock_.Now(), clock_.Now() + 1min, "dispatcher", 10);
      if (due.empty()) break;
      for (const store::WebhookDelivery& delivery : due) {
        types.push_back(delivery.event_type);
        store::DeliveryOutcome delivered;
        delivered.next = store::DeliveryOutcome::Next::kDelivered;
        delivered.attempted_at = clock_.Now();
        delivered.status = 200;
        store_.FinishDeliveryAttempt(delivery, delivered);
      }
    }
    return types;
  }

  model::LabOrder Order() { return *store_.GetOrderById(kOrderId); }

  store::SqliteStore store_;
  FakeClock clock_;
  CountingIdGenerator ids_;
  StrictMock<MockJunctionClient> junction_;
  OrderWorkflow workflow_;
};

TEST_F(OrderResultsTest, ACompletedOrderFetchesItsResultOnceAndShowsJunctionsTimeOfCompletion) {
  EXPECT_EQ(Delivered(), std::vector<std::string>{"lab_order.created"});
  OrderNews("e-1", "completed.at_home_phlebotomy.completed", 7, std::nullopt, "4400112233");
  EXPECT_CALL(junction_, GetResult(kJunctionOrderId))
      .WillOnce(
          Return(Result("final", {Marker("Testosterone", "72", "abnormal"), Marker("SHBG", "30.4")},
                        "abnormal")));
  RunDue();

  const model::LabOrder order = Order();
  EXPECT_EQ(order.status, "completed");
  EXPECT_EQ(order.completed_at, "2024-06-05T15:30:00+00:00");  // Junction's, not the clock's
  ASSERT_TRUE(order.workflow.result.has_value());
  EXPECT_EQ(order.workflow.result->version, 1);
  EXPECT_EQ(order.workflow.result->status, "final");
  EXPECT_EQ(order.workflow.result->interpretation, "abnormal");
  EXPECT_FALSE(order.workflow.results_pending);
  EXPECT_EQ(store_.CountResultVersions(kOrderId), 1);

  std::optional<model::OrderResult> stored = store_.LatestResult(kBrand, kOrderId);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->id, order.workflow.result->id);
  ASSERT_EQ(stored->markers.size(), 2u);
  EXPECT_EQ(stored->markers[0].value, "72");
  EXPECT_EQ(stored->markers[0].flag, "high");  // abnormal, above its range's 60
  EXPECT_EQ(stored->markers[1].flag, "normal");
  EXPECT_EQ(stored->sample_id, "4400112233");
  EXPECT_FALSE(store_.LatestResult("brand-2", kOrderId).has_value());  // another brand's

  EXPECT_EQ(Delivered(),
            (std::vector<std::string>{"lab_order.sample_received", "lab_order.updated",
                                      "lab_order.completed", "lab_order.results_ready"}));
  EXPECT_EQ(store_.NextJobDue(), std::nullopt);  // the workflow is over
}

TEST_F(OrderResultsTest, PartialThenFinalThenCorrectedAreThreeVersionsAndThreeEvents) {
  Delivered();
  OrderNews("e-1", "sample_with_lab.at_home_phlebotomy.partial_results", 5);
  EXPECT_CALL(junction_, GetResult(kJunctionOrderId))
      .WillOnce(Return(Result("partial", {Marker("Testosterone", "41")})))
      .WillOnce(Return(Result("final", {Marker("Testosterone", "41"), Marker("SHBG", "30.4")})))
      .WillOnce(Return(Result("final", {Marker("Testosterone", "44"), Marker("SHBG", "30.4")})));
  RunDue();
  EXPECT_EQ(Order().workflow.result->status, "partial");
  EXPECT_EQ(Order().status, "sample_with_lab");

  OrderNews("e-2", "completed.at_home_phlebotomy.completed", 6);
  RunDue();
  EXPECT_EQ(Order().workflow.result->status, "final");
  EXPECT_EQ(Order().status, "completed");
  EXPECT_EQ(store_.NextJobDue(), std::nullopt);

  // After completion the workflow had ended: the correction starts its results step again.
  OrderNews("e-3", "completed.at_home_phlebotomy.corrected", 9);
  RunDue();
  const model::LabOrder order = Order();
  EXPECT_EQ(order.workflow.result->status, "corrected");
  EXPECT_EQ(order.workflow.result->version, 3);
  EXPECT_EQ(store_.CountResultVersions(kOrderId), 3);
  EXPECT_EQ(store_.LatestResult(kBrand, kOrderId)->markers[0].value, "44");

  std::vector<std::string> ready;
  for (const std::string& type : Delivered()) {
    if (type == "lab_order.results_ready") ready.push_back(type);
  }
  EXPECT_EQ(ready.size(), 3u);
}

TEST_F(OrderResultsTest, AResultJunctionDoesNotServeYetIsAskedForAgainLater) {
  OrderNews("e-1", "completed.at_home_phlebotomy.completed", 7);
  EXPECT_CALL(junction_, GetResult(kJunctionOrderId))
      .WillOnce(Return(CallFailure(junction::Outcome::kNotFound, "get_result")))
      .WillOnce(Return(Result("final", {Marker("TSH", "2.1")})));
  std::vector<JobOutcome> outcomes = RunDue();
  ASSERT_FALSE(outcomes.empty());
  EXPECT_FALSE(outcomes.back().done);
  EXPECT_EQ(outcomes.back().retry_at, kT0 + 500ms);  // 1 s, first attempt, jitter 0
  EXPECT_FALSE(Order().workflow.result.has_value());

  clock_.Advance(500ms);
  RunDue();
  EXPECT_EQ(Order().workflow.result->version, 1);
}

TEST_F(OrderResultsTest, AResultBehindJunctionsOwnStatusIsAskedForAgain) {
  OrderNews("e-2", "completed.at_home_phlebotomy.completed", 6);
  EXPECT_CALL(junction_, GetResult(kJunctionOrderId))
      // Completed, but the partial result is still what Junction serves: not taken as final.
      .WillOnce(Return(Result("partial", {Marker("Testosterone", "41")})))
      .WillOnce(Return(Result("final", {Marker("Testosterone", "41"), Marker("SHBG", "30.4")})))
      // Corrected, but the report it corrects is still what Junction serves.
      .WillOnce(Return(Result("final", {Marker("Testosterone", "41"), Marker("SHBG", "30.4")})))
      .WillOnce(Return(Result("final", {Marker("Testosterone", "44"), Marker("SHBG", "30.4")})));
  std::vector<JobOutcome> outcomes = RunDue();
  ASSERT_FALSE(outcomes.empty());
  EXPECT_FALSE(outcomes.back().done);
  EXPECT_FALSE(Order().workflow.result.has_value());
  EXPECT_TRUE(Order().workflow.results_pending);
  clock_.Advance(500ms);
  RunDue();
  EXPECT_EQ(Order().workflow.result->status, "final");
  EXPECT_EQ(Order().workflow.result->version, 1);

  OrderNews("e-3", "completed.at_home_phlebotomy.corrected", 9);
  RunDue();
  EXPECT_EQ(Order().workflow.result->version, 1);  // nothing corrected yet
  clock_.Advance(500ms);
  RunDue();
  EXPECT_EQ(Order().workflow.result->status, "corrected");
  EXPECT_EQ(Order().workflow.result->version, 2);
  EXPECT_EQ(store_.LatestResult(kBrand, kOrderId)->markers[0].value, "44");
}

TEST_F(OrderResultsTest, ACriticalResultReachesTheBrandAheadOfItsOtherEventsAndIsKeptOnce) {
  Delivered();
  // Pending events for the brand: the order's updates, not yet delivered.
  OrderNews("e-1", "sample_with_lab.at_home_phlebotomy.partial_results", 5, std::nullopt,
            "4400112233");
  CriticalNotice("e-2", "partial");
  const junction::LabResult critical =
      Result("partial", {Marker("Potassium", "6.9", "critical")}, "critical");
  EXPECT_CALL(junction_, GetResult(kJunctionOrderId)).WillRepeatedly(Return(critical));
  RunDue();
  EXPECT_EQ(Order().workflow.critical_reported_for, "partial");
  EXPECT_EQ(store_.CountResultVersions(kOrderId), 1);  // the same report, fetched once or twice
  EXPECT_EQ(store_.LatestResult(kBrand, kOrderId)->interpretation, "critical");
  EXPECT_EQ(store_.LatestResult(kBrand, kOrderId)->markers[0].flag, "critical");

  std::vector<std::string> delivered = Delivered();
  ASSERT_FALSE(delivered.empty());
  EXPECT_EQ(delivered.front(), "lab_order.result_critical");
  EXPECT_EQ(std::count(delivered.begin(), delivered.end(), "lab_order.result_critical"), 1);

  // The same notice again (Junction repeats itself) tells the brand nothing new.
  CriticalNotice("e-3", "partial");
  RunDue();
  EXPECT_EQ(Delivered(), std::vector<std::string>{});
}

TEST_F(OrderResultsTest, ACriticalResultIsCountedOnceItsRunCommitsNotForARunRetried) {
  metrics::Registry registry;
  workflow_.UseMetrics(registry);
  const std::string counted = "lab_orders_critical_results_total{result_status=\"partial\"} 1";
  CriticalNotice("e-1", "partial");
  std::vector<Job> jobs = store_.ClaimDueJobs(clock_.Now(), clock_.Now() + 2min, "worker", 1);
  ASSERT_EQ(jobs.size(), 1u);
  // A run whose outcome never commits (the order changed meanwhile: VersionConflict) counts
  // nothing; the run that commits counts once.
  JobOutcome lost = workflow_.Run(jobs[0]);
  JobOutcome kept = workflow_.Run(jobs[0]);
  EXPECT_EQ(registry.RenderPrometheus().find(counted), std::string::npos);
  store_.CompleteJob(jobs[0], kept);
  ASSERT_TRUE(kept.after_commit);
  kept.after_commit();
  EXPECT_NE(registry.RenderPrometheus().find(counted), std::string::npos);
  EXPECT_EQ(registry.RenderPrometheus().find("result_status=\"partial\"} 2"), std::string::npos);
}

TEST_F(OrderResultsTest, AFailedSampleCarriesItsReasonInWords) {
  Delivered();
  OrderNews("e-1", "failed.at_home_phlebotomy.sample_error", 8, "sample_hemolyzed");
  RunDue();
  const model::LabOrder order = Order();
  EXPECT_EQ(order.status, "failed");
  ASSERT_TRUE(order.workflow.failure_reason.has_value());
  EXPECT_THAT(*order.workflow.failure_reason, ::testing::HasSubstr("hemolyzed"));
  EXPECT_THAT(*order.workflow.failure_reason, ::testing::HasSubstr("new draw"));
  EXPECT_EQ(order.workflow.status_detail, "sample_hemolyzed");
  EXPECT_THAT(Delivered(), ElementsAre("lab_order.updated", "lab_order.failed"));
}

}  // namespace
}  // namespace lab_orders::workflow
