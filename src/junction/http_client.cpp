#include "lab_orders/junction/http_client.h"

#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include "classify.h"
#include "codec.h"
#include "lab_orders/junction/transport.h"

namespace lab_orders::junction {
namespace {

using nlohmann::json;

std::string PathSegment(const std::string& value) {
  std::string encoded;
  Poco::URI::encode(value, "/?#%&=+:@", encoded);
  return encoded;
}

std::string QueryValue(const std::string& value) {
  std::string encoded;
  Poco::URI::encode(value, "/?#%&=+:@ ", encoded);
  return encoded;
}

RawRequest Get(std::string path) { return RawRequest{"GET", std::move(path), "", {}, true}; }

RawRequest WithBody(const char* method, std::string path, const json& body, bool safe_to_repeat) {
  return RawRequest{method, std::move(path), body.dump(), {}, safe_to_repeat};
}

CallError Malformed(const char* operation, int status, const std::string& what) {
  CallError error;
  error.outcome = Outcome::kMalformedResponse;
  error.operation = operation;
  error.http_status = status;
  error.may_have_reached_junction = true;
  error.summary = std::string("Junction ") + operation + " answered " + std::to_string(status) +
                  " with an unreadable body: " + what;
  spdlog::warn("{}", error.summary);
  return error;
}

// Sends one call; a transport failure or a non-2xx answer is the CallError it means. Logs ids
// and outcomes only.
Result<RawResponse> Exchange(Transport& transport, const char* operation,
                             const RawRequest& request) {
  auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
  };
  auto sent = transport.Send(request);
  if (auto* failure = std::get_if<TransportFailure>(&sent)) {
    CallError error;
    error.outcome = failure->outcome;
    error.operation = operation;
    error.may_have_reached_junction = failure->may_have_reached_junction;
    error.summary = std::string("Junction ") + operation + ": " + failure->summary;
    spdlog::warn("junction {} failed after {} ms: {} ({})", operation, elapsed_ms(),
                 OutcomeName(error.outcome), failure->summary);
    return error;
  }
  RawResponse& response = std::get<RawResponse>(sent);
  if (response.status < 200 || response.status >= 300) {
    CallError error = ClassifyFailure(operation, response, std::chrono::system_clock::now());
    spdlog::info("junction {} answered {} in {} ms: {}", operation, response.status, elapsed_ms(),
                 OutcomeName(error.outcome));
    return error;
  }
  spdlog::debug("junction {} answered {} in {} ms", operation, response.status, elapsed_ms());
  return std::move(response);
}

// Exchange, then the JSON body decoded into a T.
template <typename T, typename Decode>
Result<T> Call(Transport& transport, const char* operation, const RawRequest& request,
               Decode decode) {
  Result<RawResponse> answered = Exchange(transport, operation, request);
  if (!answered.ok()) return answered.error();
  const RawResponse& response = *answered;
  try {
    json body = json::parse(response.body);
    return T(decode(body));
  } catch (const json::parse_error& e) {
    // Its message quotes the bytes it read, which may be patient data: keep only the position.
    return Malformed(operation, response.status,
                     "not JSON (parse error at byte " + std::to_string(e.byte) + ")");
  } catch (const MalformedJunctionJson& e) {
    return Malformed(operation, response.status, e.what());  // names a field, never a value
  } catch (const json::exception& e) {
    return Malformed(operation, response.status,
                     "unexpected JSON (error " + std::to_string(e.id) + ")");
  }
}

}  // namespace

HttpJunctionClient::HttpJunctionClient(HttpClientOptions options)
    : transport_(std::make_unique<Transport>(options)) {}

HttpJunctionClient::~HttpJunctionClient() = default;

Result<User> HttpJunctionClient::CreateUser(const CreateUserRequest& request) {
  // Repeating it is safe: a second create answers with the conflict that names the user.
  return Call<User>(*transport_, "create_user",
                    WithBody("POST", "/v2/user", EncodeCreateUser(request), true), DecodeUser);
}

Result<User> HttpJunctionClient::ResolveUser(const std::string& client_user_id) {
  return Call<User>(*transport_, "resolve_user",
                    Get("/v2/user/resolve/" + PathSegment(client_user_id)), DecodeUser);
}

Result<std::vector<LabTest>> HttpJunctionClient::ListLabTests() {
  return Call<std::vector<LabTest>>(*transport_, "list_lab_tests", Get("/v3/lab_tests"),
                                    DecodeLabTests);
}

Result<OrderResponse> HttpJunctionClient::CreateOrder(const CreateOrderRequest& request) {
  RawRequest raw = WithBody("POST", "/v3/order", EncodeCreateOrder(request),
                            request.idempotency_key.has_value());
  if (request.idempotency_key) raw.headers["X-Idempotency-Key"] = *request.idempotency_key;
  return Call<OrderResponse>(*transport_, "create_order", raw, DecodeOrderResponse);
}

Result<Order> HttpJunctionClient::GetOrder(const std::string& order_id) {
  return Call<Order>(*transport_, "get_order", Get("/v3/order/" + PathSegment(order_id)),
                     DecodeOrder);
}

Result<OrderResponse> HttpJunctionClient::CancelOrder(const std::string& order_id) {
  return Call<OrderResponse>(
      *transport_, "cancel_order",
      RawRequest{"POST", "/v3/order/" + PathSegment(order_id) + "/cancel", "", {}, false},
      DecodeOrderResponse);
}

Result<AreaInfo> HttpJunctionClient::GetAreaInfo(const std::string& zip_code) {
  return Call<AreaInfo>(*transport_, "area_info",
                        Get("/v3/order/area/info?zip_code=" + QueryValue(zip_code)),
                        DecodeAreaInfo);
}

Result<ServiceCenters> HttpJunctionClient::GetServiceCenters(const std::string& zip_code,
                                                             int lab_id, int radius_miles) {
  return Call<ServiceCenters>(
      *transport_, "psc_info",
      Get("/v3/order/psc/info?zip_code=" + QueryValue(zip_code) +
          "&lab_id=" + std::to_string(lab_id) + "&radius=" + std::to_string(radius_miles)),
      DecodeServiceCenters);
}

Result<Availability> HttpJunctionClient::GetAvailability(
    const USAddress& address, const std::optional<std::string>& start_date) {
  std::string path = "/v3/order/phlebotomy/appointment/availability";
  if (start_date) path += "?start_date=" + QueryValue(*start_date);
  return Call<Availability>(*transport_, "availability",
                            WithBody("POST", path, EncodeUSAddress(address), true),
                            DecodeAvailability);
}

Result<Appointment> HttpJunctionClient::BookAppointment(const std::string& order_id,
                                                        const BookingRequest& request) {
  // Junction offers no idempotency key here: never resend it blindly.
  return Call<Appointment>(
      *transport_, "book_appointment",
      WithBody("POST", "/v3/order/" + PathSegment(order_id) + "/phlebotomy/appointment/book",
               EncodeBooking(request), false),
      DecodeAppointment);
}

Result<Appointment> HttpJunctionClient::GetAppointment(const std::string& order_id) {
  return Call<Appointment>(*transport_, "get_appointment",
                           Get("/v3/order/" + PathSegment(order_id) + "/phlebotomy/appointment"),
                           DecodeAppointment);
}

Result<Appointment> HttpJunctionClient::RescheduleAppointment(const std::string& order_id,
                                                              const RescheduleRequest& request) {
  return Call<Appointment>(
      *transport_, "reschedule_appointment",
      WithBody("PATCH", "/v3/order/" + PathSegment(order_id) + "/phlebotomy/appointment/reschedule",
               EncodeReschedule(request), false),
      DecodeAppointment);
}

Result<Appointment> HttpJunctionClient::CancelAppointment(const std::string& order_id,
                                                          const CancelAppointmentRequest& request) {
  return Call<Appointment>(
      *transport_, "cancel_appointment",
      WithBody("PATCH", "/v3/order/" + PathSegment(order_id) + "/phlebotomy/appointment/cancel",
               EncodeCancelAppointment(request), false),
      DecodeAppointment);
}

Result<std::vector<CancellationReason>> HttpJunctionClient::ListCancellationReasons() {
  return Call<std::vector<CancellationReason>>(
      *transport_, "cancellation_reasons",
      Get("/v3/order/phlebotomy/appointment/cancellation-reasons"), DecodeCancellationReasons);
}

Result<Availability> HttpJunctionClient::GetServiceCenterAvailability(
    const ServiceCenterSlotsQuery& query) {
  // No body: everything is in the query, and the sites as site_codes repeated.
  std::string path = "/v3/order/psc/appointment/availability?lab=" + QueryValue(query.lab);
  for (const std::string& site : query.site_codes) path += "&site_codes=" + QueryValue(site);
  if (query.zip_code) path += "&zip_code=" + QueryValue(*query.zip_code);
  if (query.radius_miles) path += "&radius=" + std::to_string(*query.radius_miles);
  if (query.start_date) path += "&start_date=" + QueryValue(*query.start_date);
  return Call<Availability>(*transport_, "psc_availability", RawRequest{"POST", path, "", {}, true},
                            DecodeAvailability);
}

Result<Appointment> HttpJunctionClient::BookServiceCenterAppointment(
    const std::string& order_id, const BookingRequest& request) {
  // Under its key the call is safe to resend: Junction answers with the first call's outcome.
  RawRequest raw = WithBody("POST", "/v3/order/" + PathSegment(order_id) + "/psc/appointment/book",
                            EncodeBooking(request), request.idempotency_key.has_value());
  if (request.idempotency_key) {
    raw.headers["x-idempotency-key"] = *request.idempotency_key;
    // Only a booking is kept under the key: a refusal (a slot taken) may be tried again with
    // another slot under the same key.
    raw.headers["x-idempotency-error"] = "no-cache";
  }
  return Call<Appointment>(*transport_, "psc_book_appointment", raw, DecodeAppointment);
}

Result<Appointment> HttpJunctionClient::GetServiceCenterAppointment(const std::string& order_id) {
  return Call<Appointment>(*transport_, "psc_get_appointment",
                           Get("/v3/order/" + PathSegment(order_id) + "/psc/appointment"),
                           DecodeAppointment);
}

Result<Appointment> HttpJunctionClient::RescheduleServiceCenterAppointment(
    const std::string& order_id, const RescheduleRequest& request) {
  return Call<Appointment>(
      *transport_, "psc_reschedule_appointment",
      WithBody("PATCH", "/v3/order/" + PathSegment(order_id) + "/psc/appointment/reschedule",
               EncodeReschedule(request), false),
      DecodeAppointment);
}

Result<Appointment> HttpJunctionClient::CancelServiceCenterAppointment(
    const std::string& order_id, const CancelAppointmentRequest& request) {
  return Call<Appointment>(
      *transport_, "psc_cancel_appointment",
      WithBody("PATCH", "/v3/order/" + PathSegment(order_id) + "/psc/appointment/cancel",
               EncodeServiceCenterCancel(request), false),
      DecodeAppointment);
}

Result<std::vector<CancellationReason>> HttpJunctionClient::ListServiceCenterCancellationReasons() {
  return Call<std::vector<CancellationReason>>(
      *transport_, "psc_cancellation_reasons",
      Get("/v3/order/psc/appointment/cancellation-reasons"), DecodeCancellationReasons);
}

Result<LabResult> HttpJunctionClient::GetResult(const std::string& order_id) {
  return Call<LabResult>(*transport_, "get_result",
                         Get("/v3/order/" + PathSegment(order_id) + "/result"), DecodeLabResult);
}

Result<ResultPdf> HttpJunctionClient::GetResultPdf(const std::string& order_id) {
  const char* operation = "get_result_pdf";
  RawRequest request = Get("/v3/order/" + PathSegment(order_id) + "/result/pdf");
  // The reference's curl example mixes up the headers: the PDF is asked for by Accept.
  request.headers["Accept"] = "application/pdf";
  Result<RawResponse> answered = Exchange(*transport_, operation, request);
  if (!answered.ok()) return answered.error();
  RawResponse response = std::move(answered).value();
  auto type = response.headers.find("content-type");
  const bool pdf_type =
      type != response.headers.end() && type->second.rfind("application/pdf", 0) == 0;
  // A PDF file starts with its header; anything else (a JSON error body with a 200, say) is not
  // passed on to a brand as a report.
  if (!pdf_type || response.body.rfind("%PDF-", 0) != 0) {
    return Malformed(operation, response.status, "not a PDF document");
  }
  return ResultPdf{std::move(response.body)};
}

}  // namespace lab_orders::junction
