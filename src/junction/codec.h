#pragma once

// Junction's JSON to and from the typed forms. Decoders throw MalformedJunctionJson, whose
// message names a field but never holds a value.

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "lab_orders/junction/lab_result.h"
#include "lab_orders/junction/types.h"

namespace lab_orders::junction {

struct MalformedJunctionJson : std::runtime_error {
  using std::runtime_error::runtime_error;
};

nlohmann::json EncodeCreateUser(const CreateUserRequest& request);
nlohmann::json EncodeCreateOrder(const CreateOrderRequest& request);
nlohmann::json EncodeUSAddress(const USAddress& address);
nlohmann::json EncodeBooking(const BookingRequest& request);
nlohmann::json EncodeReschedule(const RescheduleRequest& request);
nlohmann::json EncodeCancelAppointment(const CancelAppointmentRequest& request);
// A service center's cancel body is camelCase: {cancellationReasonId, note}.
nlohmann::json EncodeServiceCenterCancel(const CancelAppointmentRequest& request);

User DecodeUser(const nlohmann::json& in);
std::vector<LabTest> DecodeLabTests(const nlohmann::json& in);
Order DecodeOrder(const nlohmann::json& in);
OrderResponse DecodeOrderResponse(const nlohmann::json& in);
AreaInfo DecodeAreaInfo(const nlohmann::json& in);
ServiceCenters DecodeServiceCenters(const nlohmann::json& in);
Availability DecodeAvailability(const nlohmann::json& in);
Appointment DecodeAppointment(const nlohmann::json& in);
std::vector<CancellationReason> DecodeCancellationReasons(const nlohmann::json& in);
// LabResultsRaw (result_codec.cpp). The metadata's patient fields are never read.
LabResult DecodeLabResult(const nlohmann::json& in);

}  // namespace lab_orders::junction
