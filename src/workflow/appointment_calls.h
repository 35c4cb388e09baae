#pragma once

// An order's appointment calls at Junction, by its channel: a home visit's (/phlebotomy/...) for
// an at-home order, a patient service center's (/psc/...) for a walk-in order. The two APIs are
// alike; what differs (the booking's idempotency key, the cancel body) is the client's to say.
// Private to src/workflow/.

#include <string>
#include <vector>

#include "lab_orders/junction/client.h"
#include "lab_orders/model/order.h"

namespace lab_orders::workflow {

class AppointmentCalls {
 public:
  AppointmentCalls(junction::JunctionClient& junction, const std::string& collection_method)
      : junction_(junction), at_site_(collection_method == model::kWalkIn) {}
  AppointmentCalls(junction::JunctionClient& junction, const model::WorkflowState& state)
      : AppointmentCalls(junction, state.collection_method) {}

  // A walk-in order's: a patient service center's appointment.
  bool at_service_center() const { return at_site_; }

  junction::Result<junction::Appointment> Book(const std::string& order_id,
                                               const junction::BookingRequest& request) {
    return at_site_ ? junction_.BookServiceCenterAppointment(order_id, request)
                    : junction_.BookAppointment(order_id, request);
  }
  junction::Result<junction::Appointment> Get(const std::string& order_id) {
    return at_site_ ? junction_.GetServiceCenterAppointment(order_id)
                    : junction_.GetAppointment(order_id);
  }
  junction::Result<junction::Appointment> Reschedule(const std::string& order_id,
                                                     const junction::RescheduleRequest& request) {
    return at_site_ ? junction_.RescheduleServiceCenterAppointment(order_id, request)
                    : junction_.RescheduleAppointment(order_id, request);
  }
  junction::Result<junction::Appointment> Cancel(
      const std::string& order_id, const junction::CancelAppointmentRequest& request) {
    return at_site_ ? junction_.CancelServiceCenterAppointment(order_id, request)
                    : junction_.CancelAppointment(order_id, request);
  }
  junction::Result<std::vector<junction::CancellationReason>> CancellationReasons() {
    return at_site_ ? junction_.ListServiceCenterCancellationReasons()
                    : junction_.ListCancellationReasons();
  }

 private:
  junction::JunctionClient& junction_;
  bool at_site_;
};

}  // namespace lab_orders::workflow
