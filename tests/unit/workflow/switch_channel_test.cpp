// The switch_channel step (the brand's walk-in fallback after the provider's last allowed
// cancellation of a home visit) on a real SqliteStore, with Junction mocked and time faked: a new
// walk-in Junction order under a key of its own, recorded before the home visit's order is
// cancelled, then followed; never a second new order after a crash; Junction refusing it fails the
// order as it would have failed without the fallback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "lab_orders/common/encoding.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/workflow/order_workflow.h"
#include "lab_orders/workflow/state.h"
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
using ::testing::_;
using ::testing::DoAll;
using ::testing::InSequence;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
constexpr char kOrderId[] = "order-1";
constexpr char kHomeVisitOrder[] = "jo-order-1";  // store_fixtures' AddJunctionOrder names it
constexpr char kWalkInOrder[] = "jo-walk-in";

junction::OrderResponse JunctionOrderMade(const std::string& id, const std::string& status) {
  junction::OrderResponse response;
  response.order.id = id;
  response.order.user_id = "ju-1";
  response.order.status = status;
  response.order.low_level_status = status.substr(status.rfind('.') + 1);
  return response;
}

class SwitchChannelTest : public ::testing::Test {
 protected:
  SwitchChannelTest()
      : store_(":memory:", store::PhiCipher(RandomBytes(32))),
        clock_(kT0),
        workflow_(store_, junction_, clock_, ids_, Settings(), [] { return 0.0; }) {
    store_.Migrate();
    // A home visit the provider has cancelled three times, whose brand asked for walk_in.
    model::LabOrder order = testing::ExampleOrder(kOrderId, "brand-1", kT0);
    order.panel_slug = "pcos";
    order.junction_user_id = "ju-1";
    order.workflow.fallback = model::kWalkIn;
    order.workflow.junction_status = "collecting_sample.at_home_phlebotomy.appointment_cancelled";
    model::AppointmentView cancelled;
    cancelled.id = "appt-3";
    cancelled.status = "cancelled";
    cancelled.provider = "getlabs";
    order.workflow.appointment = cancelled;
    order.workflow.appointment_cancelled_by = "junction";
    order.workflow.provider_cancellations = 3;
    EXPECT_FALSE(CheckRebookLimit(order.workflow, 3));
    testing::AddJunctionOrder(store_, "brand-1", kOrderId, kT0, &order);
  }

  static WorkflowSettings Settings() {
    WorkflowSettings settings;
    settings.upstream_retry = {1000ms, 60000ms, 2.0};
    settings.lab_test_ids["pcos"] = {"lt-pcos-1", "lt-pcos-2"};
    return settings;
  }

  // Claims the one job due now (of kind), runs it and commits the outcome, as a worker does.
  JobOutcome RunNext(const std::string& kind) {
    std::vector<Job> jobs = store_.ClaimDueJobs(clock_.Now(), clock_.Now() + 2min, "worker", 1);
    EXPECT_EQ(jobs.size(), 1u) << "nothing due (expected " << kind << ")";
    if (jobs.empty()) return {};
    EXPECT_EQ(jobs[0].kind, kind);
    JobOutcome outcome = workflow_.Run(jobs[0]);
    store_.CompleteJob(jobs[0], outcome);
    return outcome;
  }

  model::LabOrder Order() { return *store_.GetOrderById(kOrderId); }

  store::SqliteStore store_;
  FakeClock clock_;
  CountingIdGenerator ids_;
  StrictMock<MockJunctionClient> junction_;
  OrderWorkflow workflow_;
};

TEST(RebookLimitTest, AFallbackMovesTheOrderInsteadOfFailingIt) {
  model::WorkflowState state;
  model::AppointmentView cancelled;
  cancelled.id = "appt-3";
  cancelled.status = "cancelled";
  state.appointment = cancelled;
  state.appointment_cancelled_by = "junction";
  state.provider_cancellations = 3;

  model::WorkflowState without = state;
  EXPECT_TRUE(CheckRebookLimit(without, 3));
  EXPECT_TRUE(without.failure_reason.has_value());
  EXPECT_FALSE(without.channel_switch_to.has_value());

  state.fallback = model::kWalkIn;
  EXPECT_FALSE(CheckRebookLimit(state, 3));
  EXPECT_FALSE(state.failure_reason.has_value());
  EXPECT_EQ(state.channel_switch_to, model::kWalkIn);

  // Below the limit nothing moves; and a walk-in order is never moved (nor failed) this way.
  model::WorkflowState earlier = state;
  earlier.channel_switch_to.reset();
  earlier.provider_cancellations = 2;
  EXPECT_FALSE(CheckRebookLimit(earlier, 3));
  EXPECT_FALSE(earlier.channel_switch_to.has_value());
}

TEST_F(SwitchChannelTest, MakesAWalkInOrderCancelsTheHomeVisitsAndFollowsTheNewOne) {
  RunNext(store::kJobAwaitRequisition);  // the step the order is in hands over to the switch
  junction::CreateOrderRequest sent;
  {
    InSequence in_order;
    EXPECT_CALL(junction_, CreateOrder(_))
        .WillOnce(DoAll(SaveArg<0>(&sent),
                        Return(JunctionOrderMade(kWalkInOrder, "received.walk_in_test.ordered"))));
    EXPECT_CALL(junction_, CancelOrder(kHomeVisitOrder))
        .WillOnce(
            Return(JunctionOrderMade(kHomeVisitOrder, "cancelled.at_home_phlebotomy.cancelled")));
  }
  RunNext(store::kJobSwitchChannel);

  EXPECT_EQ(sent.collection_method, "walk_in_test");
  EXPECT_EQ(sent.idempotency_key, "lab-orders:order-1:walk_in");
  EXPECT_EQ(sent.lab_test_ids, (std::vector<std::string>{"lt-pcos-1", "lt-pcos-2"}));
  EXPECT_EQ(sent.user_id, "ju-1");
  EXPECT_EQ(sent.patient_details.first_name, "Ann");

  const model::LabOrder order = Order();
  EXPECT_EQ(order.junction_order_id, kWalkInOrder);
  EXPECT_EQ(order.status, "ordered");
  EXPECT_FALSE(order.workflow.failure_reason.has_value());
  EXPECT_EQ(order.workflow.collection_method, model::kWalkIn);
  EXPECT_EQ(order.workflow.channel_changed_from, model::kAtHome);
  EXPECT_EQ(order.workflow.channel_change_reason, "provider_cancelled");
  EXPECT_FALSE(order.workflow.appointment.has_value());
  EXPECT_EQ(order.workflow.past_appointment_ids, std::vector<std::string>{"appt-3"});
  EXPECT_FALSE(order.workflow.channel_switch_to.has_value());
  // Junction's news finds the order by its new Junction order, no longer by the old one.
  ASSERT_TRUE(store_.FindOrderByJunctionId(kWalkInOrder).has_value());
  EXPECT_FALSE(store_.FindOrderByJunctionId(kHomeVisitOrder).has_value());
  // A walk-in order then waits for its requisition, and books nothing itself.
  EXPECT_EQ(store_.QueuedJobCounts(),
            (std::vector<std::pair<std::string, int>>{{store::kJobAwaitRequisition, 1}}));
}

TEST_F(SwitchChannelTest, ARunThatStopsAfterTheNewOrderIsMadeNeverMakesAnother) {
  RunNext(store::kJobAwaitRequisition);
  EXPECT_CALL(junction_, CreateOrder(_))
      .WillOnce(Return(JunctionOrderMade(kWalkInOrder, "received.walk_in_test.ordered")));
  EXPECT_CALL(junction_, CancelOrder(kHomeVisitOrder))
      .WillOnce(Return(CallFailure(junction::Outcome::kTimeout, "cancel_order")))
      .WillOnce(
          Return(JunctionOrderMade(kHomeVisitOrder, "cancelled.at_home_phlebotomy.cancelled")));
  JobOutcome first = RunNext(store::kJobSwitchChannel);
  EXPECT_FALSE(first.done);
  // Recorded before the cancel went out: the next run cancels, and makes nothing new.
  EXPECT_EQ(Order().workflow.switched_junction_order_id, kWalkInOrder);
  EXPECT_EQ(Order().junction_order_id, kHomeVisitOrder);

  clock_.Advance(std::chrono::milliseconds(2000));
  RunNext(store::kJobSwitchChannel);
  EXPECT_EQ(Order().junction_order_id, kWalkInOrder);
  EXPECT_EQ(Order().workflow.collection_method, model::kWalkIn);
}

TEST_F(SwitchChannelTest, JunctionRefusingTheWalkInOrderFailsTheOrderAsWithoutAFallback) {
  RunNext(store::kJobAwaitRequisition);
  EXPECT_CALL(junction_, CreateOrder(_))
      .WillOnce(Return(CallFailure(junction::Outcome::kValidation, "create_order", 422)));
  RunNext(store::kJobSwitchChannel);
  const model::LabOrder order = Order();
  EXPECT_EQ(order.status, "failed");
  ASSERT_TRUE(order.workflow.failure_reason.has_value());
  EXPECT_NE(order.workflow.failure_reason->find("cancelled 3 bookings"), std::string::npos);
  EXPECT_EQ(order.junction_order_id, kHomeVisitOrder);
  EXPECT_EQ(order.workflow.collection_method, model::kAtHome);
}

TEST_F(SwitchChannelTest, AHomeVisitJunctionWillNotCancelIsKeptAndTheNewOrderCancelled) {
  RunNext(store::kJobAwaitRequisition);
  junction::Order drawn;
  drawn.id = kHomeVisitOrder;
  drawn.status = "collecting_sample.at_home_phlebotomy.draw_completed";
  drawn.low_level_status = "draw_completed";
  drawn.events.push_back({9, FormatRfc3339(kT0), drawn.status});
  {
    InSequence in_order;
    EXPECT_CALL(junction_, CreateOrder(_))
        .WillOnce(Return(JunctionOrderMade(kWalkInOrder, "received.walk_in_test.ordered")));
    EXPECT_CALL(junction_, CancelOrder(kHomeVisitOrder))
        .WillOnce(Return(CallFailure(junction::Outcome::kRejected, "cancel_order", 400)));
    EXPECT_CALL(junction_, GetOrder(kHomeVisitOrder)).WillOnce(Return(drawn));
    EXPECT_CALL(junction_, CancelOrder(kWalkInOrder))
        .WillOnce(Return(JunctionOrderMade(kWalkInOrder, "cancelled.walk_in_test.cancelled")));
  }
  RunNext(store::kJobSwitchChannel);
  const model::LabOrder order = Order();
  EXPECT_EQ(order.junction_order_id, kHomeVisitOrder);
  EXPECT_EQ(order.status, "draw_completed");
  EXPECT_EQ(order.workflow.collection_method, model::kAtHome);
  EXPECT_FALSE(order.workflow.channel_switch_to.has_value());
}

}  // namespace
}  // namespace lab_orders::workflow
