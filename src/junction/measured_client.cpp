#include "lab_orders/junction/measured_client.h"

namespace lab_orders::junction {
namespace {

std::vector<std::string> OutcomeNames() {
  std::vector<std::string> names;
  for (int outcome = int(Outcome::kSuccess); outcome <= int(Outcome::kTlsFailure); ++outcome) {
    names.push_back(OutcomeName(Outcome(outcome)));
  }
  return names;
}

}  // namespace

const std::vector<std::string>& JunctionOperationNames() {
  static const std::vector<std::string> names = {"create_user",
                                                 "resolve_user",
                                                 "list_lab_tests",
                                                 "create_order",
                                                 "get_order",
                                                 "cancel_order",
                                                 "area_info",
                                                 "availability",
                                                 "book_appointment",
                                                 "get_appointment",
                                                 "reschedule_appointment",
                                                 "cancel_appointment",
                                                 "cancellation_reasons"};
  return names;
}

MeasuredJunctionClient::MeasuredJunctionClient(JunctionClient& inner, metrics::Registry& registry)
    : inner_(inner),
      calls_(registry.Counter(
          "lab_orders_junction_calls_total", "Calls to Junction by operation and outcome.",
          {{"operation", JunctionOperationNames()}, {"outcome", OutcomeNames()}})),
      durations_(registry.Histogram("lab_orders_junction_call_duration_seconds",
                                    "Time to a Junction call's outcome, in seconds.",
                                    {{"operation", JunctionOperationNames()}})) {}

template <typename Call>
auto MeasuredJunctionClient::Measure(const char* operation, Call&& call) -> decltype(call()) {
  auto started = std::chrono::steady_clock::now();
  auto result = call();
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  calls_.Inc({operation, OutcomeName(result.outcome())});
  durations_.Observe({operation}, elapsed.count());
  return result;
}

Result<User> MeasuredJunctionClient::CreateUser(const CreateUserRequest& request) {
  return Measure("create_user", [&] { return inner_.CreateUser(request); });
}

Result<User> MeasuredJunctionClient::ResolveUser(const std::string& client_user_id) {
  return Measure("resolve_user", [&] { return inner_.ResolveUser(client_user_id); });
}

Result<std::vector<LabTest>> MeasuredJunctionClient::ListLabTests() {
  return Measure("list_lab_tests", [&] { return inner_.ListLabTests(); });
}

Result<OrderResponse> MeasuredJunctionClient::CreateOrder(const CreateOrderRequest& request) {
  return Measure("create_order", [&] { return inner_.CreateOrder(request); });
}

Result<Order> MeasuredJunctionClient::GetOrder(const std::string& order_id) {
  return Measure("get_order", [&] { return inner_.GetOrder(order_id); });
}

Result<OrderResponse> MeasuredJunctionClient::CancelOrder(const std::string& order_id) {
  return Measure("cancel_order", [&] { return inner_.CancelOrder(order_id); });
}

Result<AreaInfo> MeasuredJunctionClient::GetAreaInfo(const std::string& zip_code) {
  return Measure("area_info", [&] { return inner_.GetAreaInfo(zip_code); });
}

Result<Availability> MeasuredJunctionClient::GetAvailability(
    const USAddress& address, const std::optional<std::string>& start_date) {
  return Measure("availability", [&] { return inner_.GetAvailability(address, start_date); });
}

Result<Appointment> MeasuredJunctionClient::BookAppointment(const std::string& order_id,
                                                            const BookingRequest& request) {
  return Measure("book_appointment", [&] { return inner_.BookAppointment(order_id, request); });
}

Result<Appointment> MeasuredJunctionClient::GetAppointment(const std::string& order_id) {
  return Measure("get_appointment", [&] { return inner_.GetAppointment(order_id); });
}

Result<Appointment> MeasuredJunctionClient::RescheduleAppointment(
    const std::string& order_id, const RescheduleRequest& request) {
  return Measure("reschedule_appointment",
                 [&] { return inner_.RescheduleAppointment(order_id, request); });
}

Result<Appointment> MeasuredJunctionClient::CancelAppointment(
    const std::string& order_id, const CancelAppointmentRequest& request) {
  return Measure("cancel_appointment", [&] { return inner_.CancelAppointment(order_id, request); });
}

Result<std::vector<CancellationReason>> MeasuredJunctionClient::ListCancellationReasons() {
  return Measure("cancellation_reasons", [&] { return inner_.ListCancellationReasons(); });
}

}  // namespace lab_orders::junction
