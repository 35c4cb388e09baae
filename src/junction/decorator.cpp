#include "lab_orders/junction/decorator.h"

namespace lab_orders::junction {

template <typename Call>
auto JunctionClientDecorator::Around(const char* operation, Call&& call) -> decltype(call()) {
  Before(operation);
  auto started = std::chrono::steady_clock::now();
  auto result = call();
  After(operation, result.outcome(), std::chrono::steady_clock::now() - started);
  return result;
}

Result<User> JunctionClientDecorator::CreateUser(const CreateUserRequest& request) {
  return Around("create_user", [&] { return inner_.CreateUser(request); });
}
Result<User> JunctionClientDecorator::ResolveUser(const std::string& client_user_id) {
  return Around("resolve_user", [&] { return inner_.ResolveUser(client_user_id); });
}
Result<std::vector<LabTest>> JunctionClientDecorator::ListLabTests() {
  return Around("list_lab_tests", [&] { return inner_.ListLabTests(); });
}
Result<OrderResponse> JunctionClientDecorator::CreateOrder(const CreateOrderRequest& request) {
  return Around("create_order", [&] { return inner_.CreateOrder(request); });
}
Result<Order> JunctionClientDecorator::GetOrder(const std::string& order_id) {
  return Around("get_order", [&] { return inner_.GetOrder(order_id); });
}
Result<OrderResponse> JunctionClientDecorator::CancelOrder(const std::string& order_id) {
  return Around("cancel_order", [&] { return inner_.CancelOrder(order_id); });
}
Result<AreaInfo> JunctionClientDecorator::GetAreaInfo(const std::string& zip_code) {
  return Around("area_info", [&] { return inner_.GetAreaInfo(zip_code); });
}

Result<ServiceCenters> JunctionClientDecorator::GetServiceCenters(const std::string& zip_code,
                                                                  int lab_id, int radius_miles) {
  return Around("psc_info",
                [&] { return inner_.GetServiceCenters(zip_code, lab_id, radius_miles); });
}
Result<Availability> JunctionClientDecorator::GetAvailability(
    const USAddress& address, const std::optional<std::string>& start_date) {
  return Around("availability", [&] { return inner_.GetAvailability(address, start_date); });
}
Result<Appointment> JunctionClientDecorator::BookAppointment(const std::string& order_id,
                                                             const BookingRequest& request) {
  return Around("book_appointment", [&] { return inner_.BookAppointment(order_id, request); });
}
Result<Appointment> JunctionClientDecorator::GetAppointment(const std::string& order_id) {
  return Around("get_appointment", [&] { return inner_.GetAppointment(order_id); });
}
Result<Appointment> JunctionClientDecorator::RescheduleAppointment(
    const std::string& order_id, const RescheduleRequest& request) {
  return Around("reschedule_appointment",
                [&] { return inner_.RescheduleAppointment(order_id, request); });
}
Result<Appointment> JunctionClientDecorator::CancelAppointment(
    const std::string& order_id, const CancelAppointmentRequest& request) {
  return Around("cancel_appointment", [&] { return inner_.CancelAppointment(order_id, request); });
}
Result<std::vector<CancellationReason>> JunctionClientDecorator::ListCancellationReasons() {
  return Around("cancellation_reasons", [&] { return inner_.ListCancellationReasons(); });
}

Result<Availability> JunctionClientDecorator::GetServiceCenterAvailability(
    const ServiceCenterSlotsQuery& query) {
  return Around("psc_availability", [&] { return inner_.GetServiceCenterAvailability(query); });
}
Result<Appointment> JunctionClientDecorator::BookServiceCenterAppointment(
    const std::string& order_id, const BookingRequest& request) {
  return Around("psc_book_appointment",
                [&] { return inner_.BookServiceCenterAppointment(order_id, request); });
}
Result<Appointment> JunctionClientDecorator::GetServiceCenterAppointment(
    const std::string& order_id) {
  return Around("psc_get_appointment",
                [&] { return inner_.GetServiceCenterAppointment(order_id); });
}
Result<Appointment> JunctionClientDecorator::RescheduleServiceCenterAppointment(
    const std::string& order_id, const RescheduleRequest& request) {
  return Around("psc_reschedule_appointment",
                [&] { return inner_.RescheduleServiceCenterAppointment(order_id, request); });
}
Result<Appointment> JunctionClientDecorator::CancelServiceCenterAppointment(
    const std::string& order_id, const CancelAppointmentRequest& request) {
  return Around("psc_cancel_appointment",
                [&] { return inner_.CancelServiceCenterAppointment(order_id, request); });
}
Result<std::vector<CancellationReason>>
JunctionClientDecorator::ListServiceCenterCancellationReasons() {
  return Around("psc_cancellation_reasons",
                [&] { return inner_.ListServiceCenterCancellationReasons(); });
}

Result<LabResult> JunctionClientDecorator::GetResult(const std::string& order_id) {
  return Around("get_result", [&] { return inner_.GetResult(order_id); });
}
Result<ResultPdf> JunctionClientDecorator::GetResultPdf(const std::string& order_id) {
  return Around("get_result_pdf", [&] { return inner_.GetResultPdf(order_id); });
}

}  // namespace lab_orders::junction
