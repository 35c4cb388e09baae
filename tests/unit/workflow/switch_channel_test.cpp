// The switch_channel step (the brand's walk-in fallback after the provider's last allowed
// cancellation of a home visit) on a real SqliteStore, with Junction mocked and time faked: a new
// walk-in Junction order under a key of its own, recorded before the home visit's order is
// cancelled, then followed; never a second new order after a crash; Junction refusing it fails the
// order as it would have failed without the fallback.

#include "unit/workflow/order_workflow_fixture.h"

namespace lab_orders::workflow {
namespace {

constexpr char kWalkInOrder[] = "jo-walk-in";

junction::OrderResponse JunctionOrderMade(const std::string& id, const std::string& status) {
  junction::OrderResponse response;
  response.order.id = id;
  response.order.user_id = "ju-1";
  response.order.status = status;
  response.order.low_level_status = LowLevelStatus(status);
  return response;
}

class SwitchChannelTest : public OrderWorkflowTest {
 protected:
  void SetUp() override {
    // A home visit the provider has cancelled three times, whose brand asked for walk_in.
    ChangeOrder([](model::LabOrder& order) {
      order.workflow.fallback = model::kWalkIn;
      order.workflow.junction_status = kAppointmentCancelled;
      model::AppointmentView cancelled;
      cancelled.id = "appt-3";
      cancelled.status = "cancelled";
      cancelled.provider = "getlabs";
      order.workflow.appointment = cancelled;
      order.workflow.appointment_cancelled_by = "junction";
      order.workflow.provider_cancellations = 3;
      EXPECT_FALSE(CheckRebookLimit(order.workflow, 3));
    });
  }
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
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId))
        .WillOnce(
            Return(JunctionOrderMade(kJunctionOrderId, "cancelled.at_home_phlebotomy.cancelled")));
  }
  RunNext(store::kJobSwitchChannel);

  EXPECT_EQ(sent.collection_method, "walk_in_test");
  EXPECT_EQ(sent.idempotency_key, "lab-orders:order-1:walk_in");
  EXPECT_EQ(sent.lab_test_ids, (std::vector<std::string>{"lt-1", "lt-2"}));
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
  EXPECT_FALSE(store_.FindOrderByJunctionId(kJunctionOrderId).has_value());
  // A walk-in order then waits for its requisition, and books nothing itself.
  EXPECT_EQ(store_.QueuedJobCounts(),
            (std::vector<std::pair<std::string, int>>{{store::kJobAwaitRequisition, 1}}));
}

TEST_F(SwitchChannelTest, ARunThatStopsAfterTheNewOrderIsMadeNeverMakesAnother) {
  RunNext(store::kJobAwaitRequisition);
  EXPECT_CALL(junction_, CreateOrder(_))
      .WillOnce(Return(JunctionOrderMade(kWalkInOrder, "received.walk_in_test.ordered")));
  EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId))
      .WillOnce(Return(CallFailure(junction::Outcome::kTimeout, "cancel_order")))
      .WillOnce(
          Return(JunctionOrderMade(kJunctionOrderId, "cancelled.at_home_phlebotomy.cancelled")));
  JobOutcome first = RunNext(store::kJobSwitchChannel);
  EXPECT_FALSE(first.done);
  // Recorded before the cancel went out: the next run cancels, and makes nothing new.
  EXPECT_EQ(Order().workflow.switched_junction_order_id, kWalkInOrder);
  EXPECT_EQ(Order().junction_order_id, kJunctionOrderId);

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
  EXPECT_EQ(order.junction_order_id, kJunctionOrderId);
  EXPECT_EQ(order.workflow.collection_method, model::kAtHome);
}

TEST_F(SwitchChannelTest, AHomeVisitJunctionWillNotCancelIsKeptAndTheNewOrderCancelled) {
  RunNext(store::kJobAwaitRequisition);
  junction::Order drawn;
  drawn.id = kJunctionOrderId;
  drawn.status = "collecting_sample.at_home_phlebotomy.draw_completed";
  drawn.low_level_status = "draw_completed";
  drawn.events.push_back({9, FormatRfc3339(kT0), drawn.status});
  {
    InSequence in_order;
    EXPECT_CALL(junction_, CreateOrder(_))
        .WillOnce(Return(JunctionOrderMade(kWalkInOrder, "received.walk_in_test.ordered")));
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId))
        .WillOnce(Return(CallFailure(junction::Outcome::kRejected, "cancel_order", 400)));
    EXPECT_CALL(junction_, GetOrder(kJunctionOrderId)).WillOnce(Return(drawn));
    EXPECT_CALL(junction_, CancelOrder(kWalkInOrder))
        .WillOnce(Return(JunctionOrderMade(kWalkInOrder, "cancelled.walk_in_test.cancelled")));
  }
  RunNext(store::kJobSwitchChannel);
  const model::LabOrder order = Order();
  EXPECT_EQ(order.junction_order_id, kJunctionOrderId);
  EXPECT_EQ(order.status, "draw_completed");
  EXPECT_EQ(order.workflow.collection_method, model::kAtHome);
  EXPECT_FALSE(order.workflow.channel_switch_to.has_value());
}

}  // namespace
}  // namespace lab_orders::workflow
