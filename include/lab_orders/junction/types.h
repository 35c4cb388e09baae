#pragma once

// Typed forms of the Junction requests and answers this service uses. Enum-like fields stay
// strings: Junction marks its enums non-exhaustive, so an unknown value is data, not an error.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lab_orders::junction {

struct User {
  std::string user_id;
  std::string team_id;
  std::string client_user_id;
  std::string created_on;
};

struct CreateUserRequest {
  std::string client_user_id;  // ids only: never patient data
};

struct LabTest {
  std::string id;
  std::string slug;
  std::string name;
  std::string sample_type;
  std::string method;  // collection method, e.g. "at_home_phlebotomy"
  std::string status;
  bool fasting = false;
};

struct PatientDetails {
  std::string first_name;
  std::string last_name;
  std::string dob;     // YYYY-MM-DD
  std::string gender;  // female | male | other | unknown
  std::string phone_number;
  std::string email;
};

struct PatientAddress {  // Junction calls the postal code "zip" here
  std::string first_line;
  std::optional<std::string> second_line;
  std::string city;
  std::string state;
  std::string zip;
  std::string country;
  std::optional<std::string> access_notes;
};

struct CreateOrderRequest {
  std::string user_id;
  PatientDetails patient_details;
  PatientAddress patient_address;
  std::vector<std::string> lab_test_ids;
  std::string collection_method = "at_home_phlebotomy";
  std::optional<std::string> idempotency_key;  // sent as X-Idempotency-Key
};

struct OrderEvent {
  std::int64_t id = 0;
  std::string created_at;
  std::string status;  // full form: "received.at_home_phlebotomy.requisition_created"
};

struct Order {
  std::string id;
  std::string user_id;
  std::string team_id;
  std::string status;            // last_event.status, full form
  std::string low_level_status;  // its last part: "requisition_created"
  std::vector<OrderEvent> events;
  std::optional<std::string> appointment_id;
  std::optional<std::string> order_transaction_id;
  std::optional<std::string> status_detail;  // last_event.status_detail: a code
  std::optional<std::string> sample_id;      // the lab's specimen number, once it has one
  // A test kit's shipment (details.data.shipment of a testkit order), once Junction has one: the
  // courier's tracking numbers to the patient (outbound) and back to the lab (inbound).
  std::optional<std::string> outbound_tracking_number;
  std::optional<std::string> inbound_tracking_number;
  std::string created_at;
  std::string updated_at;
};

struct OrderResponse {  // PostOrderResponse
  Order order;
  std::string status;
  std::string message;
};

struct PhlebotomyProvider {
  std::string name;
  std::vector<std::string> service_types;
};

struct AreaInfo {
  std::string zip_code;
  bool phlebotomy_served = false;
  std::vector<PhlebotomyProvider> providers;
  // The central labs (quest, ...) with a patient service center within the radius asked about.
  std::vector<std::string> labs_with_service_centers;
  // Those labs' ids, by slug (what GET /v3/order/psc/info takes).
  std::map<std::string, int> service_center_lab_ids;
};

// A lab's patient service center (ClientFacingLabLocation): a business's public address and hours.
struct ServiceCenter {
  std::string site_code;
  std::string name;
  std::string first_line;
  std::optional<std::string> second_line;
  std::string city;
  std::string state;
  std::string zip_code;
  std::optional<std::string> phone_number;
  std::optional<std::string> hours_json;  // Junction's hours object, as JSON text
  int distance_miles = 0;
  std::vector<std::string> capabilities;  // stat, appointment_scheduling_via_junction, ...
};

struct ServiceCenters {  // PSCInfo
  int lab_id = 0;
  std::string lab;  // its slug: quest, ...
  std::vector<ServiceCenter> centers;
};

struct USAddress {  // the appointment address calls the postal code "zip_code"
  std::string first_line;
  std::optional<std::string> second_line;
  std::string city;
  std::string state;
  std::string zip_code;
  std::optional<std::string> access_notes;
};

struct TimeSlot {
  std::optional<std::string> booking_key;
  std::string start;  // UTC
  std::string end;
  std::optional<std::string> expires_at;
  double price = 0;
  bool is_priority = false;
  int num_appointments_available = 0;
};

// Where a day's slots are (AppointmentLocation): a patient service center's availability names
// its site; a home visit's has none.
struct SlotLocation {
  std::string code;  // the site code
  std::string name;
  USAddress address;
  std::optional<int> distance_miles;
  std::optional<std::string> iana_timezone;
};

struct DaySlots {
  std::string date;
  std::vector<TimeSlot> slots;
  std::optional<SlotLocation> location;
};

struct Availability {
  std::optional<std::string> timezone;
  std::vector<DaySlots> days;
};

struct BookingRequest {
  std::string booking_key;
  std::optional<std::string> appointment_notes;
  bool async_confirmation = false;
  std::optional<int> sync_confirmation_timeout_ms;   // 1000..10000
  std::optional<int> async_confirmation_timeout_ms;  // 60000..172800000
  // Sent as x-idempotency-key where Junction takes one (a service center's booking only): a
  // resend under it answers with the first call's appointment instead of booking again.
  std::optional<std::string> idempotency_key;
};

// A patient service center's slots (POST /v3/order/psc/appointment/availability): for up to three
// sites, or for those within radius_miles of a ZIP.
struct ServiceCenterSlotsQuery {
  std::string lab;  // quest | sonora_quest
  std::vector<std::string> site_codes;
  std::optional<std::string> zip_code;
  std::optional<int> radius_miles;  // with zip_code: 10, 20, 25, 50 or 100
  std::optional<std::string> start_date;
};

struct RescheduleRequest {
  std::string booking_key;
  std::optional<std::string> appointment_notes;
};

struct CancelAppointmentRequest {
  std::string cancellation_reason_id;
  std::optional<std::string> notes;
};

struct AppointmentEvent {
  std::string created_at;
  std::string status;
};

struct Appointment {
  std::string id;
  std::string user_id;
  std::string order_id;
  USAddress address;
  std::optional<std::string> start_at;
  std::optional<std::string> end_at;
  std::optional<std::string> iana_timezone;
  std::string type;
  std::string provider;
  std::string status;  // pending | reserved | confirmed | in_progress | completed | cancelled
  std::string provider_id;
  bool can_reschedule = false;
  std::string event_status;
  std::vector<AppointmentEvent> events;
  std::optional<std::string> external_id;
};

struct CancellationReason {
  std::string id;
  std::string name;
  bool is_refundable = false;
};

}  // namespace lab_orders::junction
