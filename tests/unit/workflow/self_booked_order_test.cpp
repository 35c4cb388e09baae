// An at-home order the brand or the patient books (auto_book false, issue 19): the workflow waits
// for the requisition and then books nothing, first or after a provider's cancellation; it only
// looks at the order for what Junction says of it.

#include "unit/workflow/order_workflow_fixture.h"

namespace lab_orders::workflow {
namespace {

class SelfBookedOrderTest : public OrderWorkflowTest {
 protected:
  // The order as a POST with "auto_book": false leaves it.
  void NotAutoBooked() {
    std::vector<Job> jobs = store_.ClaimDueJobs(clock_.Now(), clock_.Now() + 2min, "setup", 1);
    ASSERT_EQ(jobs.size(), 1u);
    model::LabOrder order = Order();
    order.workflow.auto_book = false;
    store_.CheckpointOrder(jobs[0], order, order.version);
    store_.ReleaseJob(jobs[0]);
  }
};

TEST_F(SelfBookedOrderTest, TheRequisitionReadyIsLookedAtNotBooked) {
  NotAutoBooked();
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kRequisitionCreated, 2)));
  JobOutcome outcome = RunNext(store::kJobAwaitRequisition);
  EXPECT_EQ(Order().workflow.junction_status, kRequisitionCreated);
  // No availability asked, no booking (strict mocks): the order waits for the brand or the
  // patient, looked at for what Junction says of it.
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));
  EXPECT_EQ(Order().status, "ordered");
}

// Whoever booked the last appointment did not book the next: its booker is said as it is adopted
// (an action, or the webhook of one made at Junction), and the workflow's own says nothing.
TEST_F(SelfBookedOrderTest, ANewAppointmentForgetsWhoBookedTheLast) {
  model::LabOrder order = Order();
  order.workflow.booked_by = "patient";  // an earlier booking's
  AdoptAppointment(order.workflow, [] {
    model::AppointmentView view;
    view.id = "appt-9";
    view.status = "confirmed";
    return view;
  }());
  EXPECT_EQ(order.workflow.booked_by, std::nullopt) << "a new appointment is not the last booker's";
}

}  // namespace
}  // namespace lab_orders::workflow
