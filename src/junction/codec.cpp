#include "codec.h"

#include "json_fields.h"

namespace lab_orders::junction {
namespace {

using nlohmann::json;

void PutOptional(json& object, const char* key, const std::optional<std::string>& value) {
  if (value) object[key] = *value;
}

USAddress DecodeUSAddress(const json& in) {
  USAddress address;
  address.first_line = String(in, "first_line");
  address.second_line = OptionalString(in, "second_line");
  address.city = String(in, "city");
  address.state = String(in, "state");
  address.zip_code = String(in, "zip_code");
  address.access_notes = OptionalString(in, "access_notes");
  return address;
}

}  // namespace

json EncodeCreateUser(const CreateUserRequest& request) {
  return {{"client_user_id", request.client_user_id}};
}

json EncodeCreateOrder(const CreateOrderRequest& request) {
  const PatientDetails& patient = request.patient_details;
  const PatientAddress& address = request.patient_address;
  json patient_address = {{"first_line", address.first_line},
                          {"city", address.city},
                          {"state", address.state},
                          {"zip", address.zip},
                          {"country", address.country}};
  PutOptional(patient_address, "second_line", address.second_line);
  PutOptional(patient_address, "access_notes", address.access_notes);
  return {{"user_id", request.user_id},
          {"patient_details",
           {{"first_name", patient.first_name},
            {"last_name", patient.last_name},
            {"dob", patient.dob},
            {"gender", patient.gender},
            {"phone_number", patient.phone_number},
            {"email", patient.email}}},
          {"patient_address", patient_address},
          {"order_set", {{"lab_test_ids", request.lab_test_ids}}},
          {"collection_method", request.collection_method}};
}

json EncodeUSAddress(const USAddress& address) {
  json out = {{"first_line", address.first_line},
              {"city", address.city},
              {"state", address.state},
              {"zip_code", address.zip_code}};
  PutOptional(out, "second_line", address.second_line);
  PutOptional(out, "access_notes", address.access_notes);
  return out;
}

json EncodeBooking(const BookingRequest& request) {
  json out = {{"booking_key", request.booking_key},
              {"async_confirmation", request.async_confirmation}};
  PutOptional(out, "appointment_notes", request.appointment_notes);
  if (request.sync_confirmation_timeout_ms) {
    out["sync_confirmation_timeout_millisecond"] = *request.sync_confirmation_timeout_ms;
  }
  if (request.async_confirmation_timeout_ms) {
    out["async_confirmation_timeout_millisecond"] = *request.async_confirmation_timeout_ms;
  }
  return out;
}

json EncodeReschedule(const RescheduleRequest& request) {
  json out = {{"booking_key", request.booking_key}};
  PutOptional(out, "appointment_notes", request.appointment_notes);
  return out;
}

json EncodeCancelAppointment(const CancelAppointmentRequest& request) {
  json out = {{"cancellation_reason_id", request.cancellation_reason_id}};
  PutOptional(out, "notes", request.notes);
  return out;
}

json EncodeServiceCenterCancel(const CancelAppointmentRequest& request) {
  json out = {{"cancellationReasonId", request.cancellation_reason_id}};
  PutOptional(out, "note", request.notes);
  return out;
}

User DecodeUser(const json& in) {
  return User{String(in, "user_id"), String(in, "team_id"), String(in, "client_user_id"),
              String(in, "created_on")};
}

std::vector<LabTest> DecodeLabTests(const json& in) {
  std::vector<LabTest> tests;
  for (const auto& entry : Array(in, "lab test list")) {
    LabTest test;
    test.id = String(entry, "id");
    test.slug = String(entry, "slug");
    test.name = String(entry, "name");
    test.sample_type = String(entry, "sample_type");
    test.method = String(entry, "method");
    test.status = String(entry, "status");
    test.fasting = Bool(entry, "fasting", false);
    tests.push_back(std::move(test));
  }
  return tests;
}

Order DecodeOrder(const json& in) {
  Order order;
  order.id = String(in, "id");
  order.user_id = String(in, "user_id");
  order.team_id = String(in, "team_id");
  for (const auto& entry : Array(Field(in, "events"), "events")) {
    const auto& id = Field(entry, "id");
    if (!id.is_number_integer()) throw MalformedJunctionJson("field events[].id is not an integer");
    order.events.push_back(
        OrderEvent{id.get<std::int64_t>(), String(entry, "created_at"), String(entry, "status")});
  }
  order.status = String(Field(in, "last_event"), "status");
  order.status_detail = OptionalString(Field(in, "last_event"), "status_detail");
  order.sample_id = OptionalString(in, "sample_id");
  size_t dot = order.status.rfind('.');
  order.low_level_status = dot == std::string::npos ? order.status : order.status.substr(dot + 1);
  if (auto details = in.find("details"); details != in.end() && details->is_object()) {
    if (auto data = details->find("data"); data != details->end() && data->is_object()) {
      order.appointment_id = OptionalString(*data, "appointment_id");
      if (auto shipment = data->find("shipment");
          shipment != data->end() && shipment->is_object()) {
        order.outbound_tracking_number = OptionalString(*shipment, "outbound_tracking_number");
        order.inbound_tracking_number = OptionalString(*shipment, "inbound_tracking_number");
      }
    }
  }
  if (auto transaction = in.find("order_transaction");
      transaction != in.end() && transaction->is_object()) {
    order.order_transaction_id = OptionalString(*transaction, "id");
  }
  order.created_at = String(in, "created_at");
  order.updated_at = String(in, "updated_at");
  return order;
}

OrderResponse DecodeOrderResponse(const json& in) {
  return OrderResponse{DecodeOrder(Field(in, "order")), String(in, "status"),
                       String(in, "message")};
}

AreaInfo DecodeAreaInfo(const json& in) {
  AreaInfo info;
  info.zip_code = String(in, "zip_code");
  const auto& phlebotomy = Field(in, "phlebotomy");
  info.phlebotomy_served = Bool(phlebotomy, "is_served");
  for (const auto& entry : Array(Field(phlebotomy, "providers"), "providers")) {
    PhlebotomyProvider provider;
    provider.name = String(entry, "name");
    for (const auto& type : Array(Field(entry, "service_types"), "service_types")) {
      if (type.is_string()) provider.service_types.push_back(type.get<std::string>());
    }
    info.providers.push_back(std::move(provider));
  }
  // {lab: PSCAreaInfo}: a lab counts when it has service centers within the radius.
  if (auto labs = in.find("central_labs"); labs != in.end() && labs->is_object()) {
    for (const auto& [lab, area] : labs->items()) {
      if (!area.is_object()) continue;
      auto centers = area.find("patient_service_centers");
      if (centers == area.end() || !centers->is_object()) continue;
      auto within = centers->find("within_radius");
      if (within != centers->end() && within->is_number_integer() && within->get<long long>() > 0) {
        info.labs_with_service_centers.push_back(lab);
        if (auto id = area.find("lab_id"); id != area.end() && id->is_number_integer()) {
          info.service_center_lab_ids[lab] = id->get<int>();
        }
      }
    }
  }
  return info;
}

ServiceCenters DecodeServiceCenters(const json& in) {
  ServiceCenters found;
  const auto& lab_id = Field(in, "lab_id");
  if (!lab_id.is_number_integer()) throw MalformedJunctionJson("field lab_id is not an integer");
  found.lab_id = lab_id.get<int>();
  found.lab = String(in, "slug");
  for (const auto& entry : Array(Field(in, "patient_service_centers"), "patient_service_centers")) {
    ServiceCenter center;
    center.site_code = String(entry, "site_code");
    const auto& distance = Field(entry, "distance");
    if (!distance.is_number()) throw MalformedJunctionJson("field distance is not a number");
    center.distance_miles = int(distance.get<double>() + 0.5);
    for (const auto& capability : Array(Field(entry, "capabilities"), "capabilities")) {
      if (capability.is_string()) center.capabilities.push_back(capability.get<std::string>());
    }
    const auto& metadata = Field(entry, "metadata");
    center.name = String(metadata, "name");
    center.first_line = String(metadata, "first_line");
    center.second_line = OptionalString(metadata, "second_line");
    center.city = String(metadata, "city");
    center.state = String(metadata, "state");
    center.zip_code = String(metadata, "zip_code");
    center.phone_number = OptionalString(metadata, "phone_number");
    if (auto hours = metadata.find("hours"); hours != metadata.end() && hours->is_object()) {
      center.hours_json = hours->dump();
    }
    found.centers.push_back(std::move(center));
  }
  return found;
}

Availability DecodeAvailability(const json& in) {
  Availability availability;
  availability.timezone = OptionalString(in, "timezone");
  for (const auto& day : Array(Field(in, "slots"), "slots")) {
    DaySlots day_slots;
    day_slots.date = String(day, "date");
    if (day.contains("location") && !day["location"].is_null()) {
      const json& location = day["location"];
      SlotLocation site;
      site.code = String(location, "code");
      site.name = String(location, "name");
      site.address = DecodeUSAddress(Field(location, "address"));
      if (location.contains("distance") && location["distance"].is_number_integer()) {
        site.distance_miles = location["distance"].get<int>();
      }
      site.iana_timezone = OptionalString(location, "iana_timezone");
      day_slots.location = std::move(site);
    }
    for (const auto& entry : Array(Field(day, "slots"), "slots[].slots")) {
      TimeSlot slot;
      slot.booking_key = OptionalString(entry, "booking_key");
      slot.start = String(entry, "start");
      slot.end = String(entry, "end");
      slot.expires_at = OptionalString(entry, "expires_at");
      const auto& price = Field(entry, "price");
      if (!price.is_number()) throw MalformedJunctionJson("field price is not a number");
      slot.price = price.get<double>();
      slot.is_priority = Bool(entry, "is_priority");
      const auto& available = Field(entry, "num_appointments_available");
      if (!available.is_number_integer()) {
        throw MalformedJunctionJson("field num_appointments_available is not an integer");
      }
      slot.num_appointments_available = available.get<int>();
      day_slots.slots.push_back(std::move(slot));
    }
    availability.days.push_back(std::move(day_slots));
  }
  return availability;
}

Appointment DecodeAppointment(const json& in) {
  Appointment appointment;
  appointment.id = String(in, "id");
  appointment.user_id = String(in, "user_id");
  appointment.order_id = String(in, "order_id");
  appointment.address = DecodeUSAddress(Field(in, "address"));
  appointment.start_at = OptionalString(in, "start_at");
  appointment.end_at = OptionalString(in, "end_at");
  appointment.iana_timezone = OptionalString(in, "iana_timezone");
  appointment.type = String(in, "type");
  appointment.provider = String(in, "provider");
  appointment.status = String(in, "status");
  appointment.provider_id = String(in, "provider_id");
  appointment.can_reschedule = Bool(in, "can_reschedule");
  appointment.event_status = String(in, "event_status");
  for (const auto& entry : Array(Field(in, "events"), "events")) {
    appointment.events.push_back(
        AppointmentEvent{String(entry, "created_at"), String(entry, "status")});
  }
  appointment.external_id = OptionalString(in, "external_id");
  return appointment;
}

std::vector<CancellationReason> DecodeCancellationReasons(const json& in) {
  std::vector<CancellationReason> reasons;
  for (const auto& entry : Array(in, "cancellation reasons")) {
    reasons.push_back(CancellationReason{String(entry, "id"), String(entry, "name"),
                                         Bool(entry, "is_refundable")});
  }
  return reasons;
}

}  // namespace lab_orders::junction
