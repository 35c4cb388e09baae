// A booking made by the patient through a booking link (issue 19): the same OrderActions::Book as
// the brand's, said in appointment.booked (booked_by), and never a move of the appointment the
// order has.

#include "unit/workflow/order_actions_fixture.h"

namespace lab_orders::workflow {
namespace {

class PatientBookingTest : public OrderActionsTest {
 protected:
  // Books k-1 as booker; returns the order committed.
  model::LabOrder BookAs(Booker booker) {
    JobOutcome committed;
    {
      InSequence in_order;
      ExpectHeld(ReadyOrder(4), ReadyOrder(5), store::kJobBookAppointment);
      EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5));
      EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
          .WillOnce(Return(JunctionAppointment("appt-1", "pending", kT0 + 24h, 1)));
      EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
    }
    actions_.Book(Caller(), kOrderId, BookBody("k-1"), nullptr, booker);
    EXPECT_TRUE(committed.order_update.has_value());
    return committed.order_update.value_or(model::LabOrder{});
  }
};

TEST_F(PatientBookingTest, APatientsBookingIsSaidToBeThePatients) {
  model::LabOrder booked = BookAs(Booker::kPatient);
  EXPECT_EQ(booked.workflow.booked_by, "patient");
  ASSERT_TRUE(booked.workflow.appointment.has_value());
  EXPECT_EQ(booked.workflow.appointment->id, "appt-1");
}

TEST_F(PatientBookingTest, ABrandsBookingIsSaidToBeTheBrands) {
  EXPECT_EQ(BookAs(Booker::kBrand).workflow.booked_by, "brand");
}

// The patient's page books only an order without an active appointment: a second form sent from
// an old page, after a booking, must not move it.
TEST_F(PatientBookingTest, APatientNeverMovesTheActiveAppointment) {
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));  // given back untouched; no Junction call
  }
  AppError error = ErrorFrom(
      [&] { actions_.Book(Caller(), kOrderId, BookBody("k-2"), nullptr, Booker::kPatient); });
  EXPECT_EQ(error.code(), ErrorCode::kOrderNotBookable);
  EXPECT_EQ(wakes_, 0);
}

}  // namespace
}  // namespace lab_orders::workflow
