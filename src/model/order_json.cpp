#include "lab_orders/model/order_json.h"

namespace lab_orders::model {

using nlohmann::json;

json OptionalJson(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

json SiteAddressJson(const std::string& line1, const std::optional<std::string>& line2,
                     const std::string& city, const std::string& state, const std::string& zip) {
  return {{"line1", line1},
          {"line2", OptionalJson(line2)},
          {"city", city},
          {"state", state},
          {"zip", zip}};
}

std::optional<std::string> SiteAddressLine(const std::string& line1,
                                           const std::optional<std::string>& line2,
                                           const std::string& city, const std::string& state,
                                           const std::string& zip) {
  if (line1.empty()) return std::nullopt;
  std::string line = line1;
  if (line2 && !line2->empty()) line += ", " + *line2;
  return line + ", " + city + ", " + state + " " + zip;
}

namespace {

json AppointmentJson(const WorkflowState& state) {
  const std::optional<AppointmentView>& appointment = state.appointment;
  if (!appointment) return nullptr;
  // Who cancelled it: the brand (no rebook follows) or Junction (the provider or the patient).
  json cancelled_by = nullptr;
  if (appointment->status == "cancelled") {
    cancelled_by = state.appointment_cancelled_by.value_or("junction");
  }
  return {{"id", appointment->id},
          {"status", appointment->status},
          {"start_at", OptionalJson(appointment->start_at)},
          {"end_at", OptionalJson(appointment->end_at)},
          {"timezone", OptionalJson(appointment->timezone)},
          {"provider", appointment->provider},
          {"can_reschedule", appointment->can_reschedule},
          {"confirmation_code", OptionalJson(appointment->confirmation_code)},
          {"site_address", OptionalJson(appointment->site_address)},
          {"booked_by", state.booked_by.value_or(kBookedByLabOrders)},
          {"cancelled_by", std::move(cancelled_by)}};
}

}  // namespace

json OrderJson(const LabOrder& order) {
  return {{"id", order.id},
          {"brand_id", order.brand_id},
          {"user_id", order.user_id},
          {"patient_id", OptionalJson(order.patient_id)},
          {"panel_slug", order.panel_slug},
          {"collection_method", order.workflow.collection_method},
          {"fasting", order.workflow.fasting},
          {"auto_book", order.workflow.auto_book},
          {"junction_order_id", order.junction_order_id.value_or("")},
          {"status", order.status},
          {"total_cents", order.total_cents ? json(*order.total_cents) : json(nullptr)},
          {"currency", OptionalJson(order.currency)},
          {"tracking_number", OptionalJson(order.workflow.tracking_number)},
          {"return_tracking_number", OptionalJson(order.workflow.return_tracking_number)},
          {"result_bloodwork_id", order.workflow.result ? json(order.workflow.result->id) : json()},
          {"sample_id", OptionalJson(order.workflow.sample_id)},
          {"result_status",
           order.workflow.result ? json(order.workflow.result->status) : json(nullptr)},
          {"created_at", order.created_at},
          {"updated_at", order.updated_at},
          {"completed_at", OptionalJson(order.completed_at)},
          {"appointment", AppointmentJson(order.workflow)},
          {"failure_reason", OptionalJson(order.workflow.failure_reason)},
          {"external_order_id", OptionalJson(order.external_order_id)},
          {"metadata", order.metadata}};
}

}  // namespace lab_orders::model
