#pragma once

// A JunctionClient that counts every call by operation and outcome, and times it, for /metrics:
//   lab_orders_junction_calls_total{operation,outcome}
//   lab_orders_junction_call_duration_seconds{operation}
// Operation names are the client's own ("create_order", ...), outcomes OutcomeName's; no id or
// argument of a call ever becomes a label.

#include <chrono>

#include "lab_orders/common/metrics.h"
#include "lab_orders/junction/client.h"

namespace lab_orders::junction {

class MeasuredJunctionClient final : public JunctionClient {
 public:
  MeasuredJunctionClient(JunctionClient& inner, metrics::Registry& registry);

  Result<User> CreateUser(const CreateUserRequest& request) override;
  Result<User> ResolveUser(const std::string& client_user_id) override;
  Result<std::vector<LabTest>> ListLabTests() override;
  Result<OrderResponse> CreateOrder(const CreateOrderRequest& request) override;
  Result<Order> GetOrder(const std::string& order_id) override;
  Result<OrderResponse> CancelOrder(const std::string& order_id) override;
  Result<AreaInfo> GetAreaInfo(const std::string& zip_code) override;
  Result<Availability> GetAvailability(const USAddress& address,
                                       const std::optional<std::string>& start_date) override;
  Result<Appointment> BookAppointment(const std::string& order_id,
                                      const BookingRequest& request) override;
  Result<Appointment> GetAppointment(const std::string& order_id) override;
  Result<Appointment> RescheduleAppointment(const std::string& order_id,
                                            const RescheduleRequest& request) override;
  Result<Appointment> CancelAppointment(const std::string& order_id,
                                        const CancelAppointmentRequest& request) override;
  Result<std::vector<CancellationReason>> ListCancellationReasons() override;

 private:
  // Runs call() and records it under operation.
  template <typename Call>
  auto Measure(const char* operation, Call&& call) -> decltype(call());

  JunctionClient& inner_;
  metrics::CounterFamily& calls_;
  metrics::HistogramFamily& durations_;
};

// The operation names MeasuredJunctionClient labels calls with.
const std::vector<std::string>& JunctionOperationNames();

}  // namespace lab_orders::junction
