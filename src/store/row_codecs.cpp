#include "store/row_codecs.h"

#include <map>
#include <stdexcept>
#include <vector>

#include "lab_orders/common/clock.h"

namespace lab_orders::store {

using std::chrono::system_clock;

namespace {

constexpr RecoveryPoint kAllRecoveryPoints[] = {
    RecoveryPoint::kStarted, RecoveryPoint::kOrderRecorded, RecoveryPoint::kUserEnsured,
    RecoveryPoint::kJunctionOrderCreated, RecoveryPoint::kFinished};

nlohmann::json OptionalToJson(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<std::string> OptionalFromJson(const nlohmann::json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end() || found->is_null()) return std::nullopt;
  return found->get<std::string>();
}

void ReadPhiDocument(const std::string& text, model::LabOrder* order) {
  try {
    nlohmann::json document = nlohmann::json::parse(text);
    const nlohmann::json& patient = document.at("patient");
    order->patient.first_name = patient.at("first_name").get<std::string>();
    order->patient.last_name = patient.at("last_name").get<std::string>();
    order->patient.dob = patient.at("dob").get<std::string>();
    order->patient.email = patient.at("email").get<std::string>();
    order->patient.phone = OptionalFromJson(patient, "phone");
    order->patient.sex = OptionalFromJson(patient, "sex");
    const nlohmann::json& address = document.at("address");
    order->address.line1 = address.at("line1").get<std::string>();
    order->address.line2 = OptionalFromJson(address, "line2");
    order->address.city = address.at("city").get<std::string>();
    order->address.state = address.at("state").get<std::string>();
    order->address.zip = address.at("zip").get<std::string>();
    order->address.country = address.at("country").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    // nlohmann's messages can quote the input, which is PHI: say only that it is malformed.
    throw std::runtime_error("store: the order's patient data is malformed");
  }
}

template <typename T>
T FieldOr(const nlohmann::json& object, const char* name, T fallback) {
  auto found = object.find(name);
  if (found == object.end() || found->is_null()) return fallback;
  return found->get<T>();
}

// The brand's metadata: a JSON object of strings. nlohmann's messages quote input, which is the
// brand's data: say only that it is malformed.
std::map<std::string, std::string> ReadMetadataDocument(const std::string& text) {
  try {
    return nlohmann::json::parse(text).get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error("store: the order's metadata is malformed");
  }
}

}  // namespace

std::int64_t EpochMillis(TimePoint time) {
  return std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

TimePoint FromEpochMillis(std::int64_t millis) {
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(millis)));
}

// Stored order timestamps must share one fixed-width form, or text order stops being time order.
std::string CanonicalTimestamp(const std::string& text, const char* field) {
  system_clock::time_point parsed;
  if (!ParseRfc3339(text, &parsed)) {
    throw std::invalid_argument(std::string("order ") + field + " is not an RFC 3339 timestamp");
  }
  return FormatRfc3339(parsed);
}

std::optional<std::string> CanonicalTimestamp(const std::optional<std::string>& text,
                                              const char* field) {
  if (!text) return std::nullopt;
  return CanonicalTimestamp(*text, field);
}

RecoveryPoint ParseRecoveryPoint(std::string_view name) {
  for (RecoveryPoint point : kAllRecoveryPoints) {
    if (name == RecoveryPointName(point)) return point;
  }
  throw std::runtime_error("store: unknown recovery point in idempotency_keys");
}

// Binds a sealed value to the row it belongs to, so it cannot be moved to another row.
std::string PhiAssociatedData(const std::string& order_id) { return order_id; }

std::string ResultAssociatedData(const std::string& result_id, const std::string& order_id,
                                 std::int64_t version) {
  return "lab_results:" + std::to_string(version) + ":" + std::to_string(result_id.size()) + ":" +
         result_id + ":" + order_id;
}

void InsertResultRow(SqlSession& connection, const PhiCipher& cipher,
                     const model::OrderResult& result) {
  const std::string sealed =
      cipher.Encrypt(model::ResultJson(result).dump(),
                     ResultAssociatedData(result.id, result.order_id, result.version));
  Statement insert = connection.Query(
      "INSERT INTO lab_results (id, order_id, version, status, received_at, document) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  insert.Bind(1, result.id)
      .Bind(2, result.order_id)
      .Bind(3, std::int64_t{result.version})
      .Bind(4, result.status)
      .Bind(5, result.received_at)
      .Bind(6, sealed)
      .Defer();
}

// The length prefix keeps (brand "a:b", key "c") apart from (brand "a", key ":bc"); the label
// keeps these values apart from order PHI.
std::string ResponseAssociatedData(const std::string& brand_id, const std::string& key) {
  return "idempotency_keys.response_body:" + std::to_string(brand_id.size()) + ":" + brand_id + key;
}

// Every PHI field of an order in one document, so one seal covers them all.
std::string PhiDocument(const model::LabOrder& order) {
  const model::Patient& patient = order.patient;
  const model::Address& address = order.address;
  nlohmann::json document = {
      {"patient",
       {{"first_name", patient.first_name},
        {"last_name", patient.last_name},
        {"dob", patient.dob},
        {"email", patient.email},
        {"phone", OptionalToJson(patient.phone)},
        {"sex", OptionalToJson(patient.sex)}}},
      {"address",
       {{"line1", address.line1},
        {"line2", OptionalToJson(address.line2)},
        {"city", address.city},
        {"state", address.state},
        {"zip", address.zip},
        {"country", address.country}}},
  };
  return document.dump();
}

// The workflow state as JSON: every field, absent optionals as null.
std::string WorkflowDocument(const model::WorkflowState& state) {
  nlohmann::json appointment = nullptr;
  if (state.appointment) {
    const model::AppointmentView& view = *state.appointment;
    appointment = {
        {"id", view.id},
        {"status", view.status},
        {"start_at", OptionalToJson(view.start_at)},
        {"end_at", OptionalToJson(view.end_at)},
        {"timezone", OptionalToJson(view.timezone)},
        {"provider", view.provider},
        {"can_reschedule", view.can_reschedule},
        {"confirmation_code", OptionalToJson(view.confirmation_code)},
        {"site_address", OptionalToJson(view.site_address)},
        {"event_count", view.event_count},
    };
  }
  nlohmann::json document = {
      {"junction_status", state.junction_status},
      {"junction_event_id", state.junction_event_id},
      {"appointment", appointment},
      {"past_appointment_ids", state.past_appointment_ids},
      {"provider_cancellations", state.provider_cancellations},
      {"booking_sent", state.booking_sent},
      {"booking_sent_by", OptionalToJson(state.booking_sent_by)},
      {"booking_sent_for", OptionalToJson(state.booking_sent_for)},
      {"booking_sent_at", OptionalToJson(state.booking_sent_at)},
      {"lost_booking_adopted_for", OptionalToJson(state.lost_booking_adopted_for)},
      {"booking_refusals", state.booking_refusals},
      {"failure_reason", OptionalToJson(state.failure_reason)},
      {"status_detail", OptionalToJson(state.status_detail)},
      {"sample_id", OptionalToJson(state.sample_id)},
      {"completed_at", OptionalToJson(state.completed_at)},
      {"results_pending", state.results_pending},
      {"critical_reported_for", OptionalToJson(state.critical_reported_for)},
      {"rescheduled_by", OptionalToJson(state.rescheduled_by)},
      {"reschedule_sent_at", OptionalToJson(state.reschedule_sent_at)},
      {"appointment_cancelled_by", OptionalToJson(state.appointment_cancelled_by)},
      {"tracking_number", OptionalToJson(state.tracking_number)},
      {"return_tracking_number", OptionalToJson(state.return_tracking_number)},
      {"appointment_cancel_sent_at", OptionalToJson(state.appointment_cancel_sent_at)},
      {"collection_method", state.collection_method},
      {"fasting", state.fasting},
      {"channel_changed_from", OptionalToJson(state.channel_changed_from)},
      {"channel_change_reason", OptionalToJson(state.channel_change_reason)},
      {"fallback", OptionalToJson(state.fallback)},
      {"channel_switch_to", OptionalToJson(state.channel_switch_to)},
      {"switched_junction_order_id", OptionalToJson(state.switched_junction_order_id)},
      {"auto_book", state.auto_book},
      {"booked_by", OptionalToJson(state.booked_by)},
      {"result", nullptr},
  };
  if (state.result) {
    document["result"] = {{"id", state.result->id},
                          {"version", state.result->version},
                          {"status", state.result->status},
                          {"interpretation", state.result->interpretation}};
  }
  return document.dump();
}

// A missing or null field reads as its default: rows written before a field existed (and the
// migration's '{}') stay readable.
model::WorkflowState ReadWorkflowDocument(const std::string& text) {
  try {
    nlohmann::json document = nlohmann::json::parse(text);
    if (!document.is_object()) throw std::runtime_error("store: the order's workflow is malformed");
    model::WorkflowState state;
    state.junction_status = FieldOr<std::string>(document, "junction_status", "");
    state.junction_event_id = FieldOr<std::int64_t>(document, "junction_event_id", 0);
    if (auto found = document.find("appointment"); found != document.end() && !found->is_null()) {
      if (!found->is_object()) {
        throw std::runtime_error("store: the order's workflow is malformed");
      }
      model::AppointmentView view;
      view.id = FieldOr<std::string>(*found, "id", "");
      view.status = FieldOr<std::string>(*found, "status", "");
      view.start_at = OptionalFromJson(*found, "start_at");
      view.end_at = OptionalFromJson(*found, "end_at");
      view.timezone = OptionalFromJson(*found, "timezone");
      view.provider = FieldOr<std::string>(*found, "provider", "");
      view.can_reschedule = FieldOr<bool>(*found, "can_reschedule", false);
      view.confirmation_code = OptionalFromJson(*found, "confirmation_code");
      view.site_address = OptionalFromJson(*found, "site_address");
      view.event_count = FieldOr<int>(*found, "event_count", 0);
      state.appointment = std::move(view);
    }
    state.past_appointment_ids =
        FieldOr<std::vector<std::string>>(document, "past_appointment_ids", {});
    state.provider_cancellations = FieldOr<int>(document, "provider_cancellations", 0);
    state.booking_sent = FieldOr<bool>(document, "booking_sent", false);
    state.booking_sent_by = OptionalFromJson(document, "booking_sent_by");
    state.booking_sent_for = OptionalFromJson(document, "booking_sent_for");
    state.booking_sent_at = OptionalFromJson(document, "booking_sent_at");
    state.lost_booking_adopted_for = OptionalFromJson(document, "lost_booking_adopted_for");
    state.booking_refusals = FieldOr<int>(document, "booking_refusals", 0);
    state.failure_reason = OptionalFromJson(document, "failure_reason");
    state.status_detail = OptionalFromJson(document, "status_detail");
    state.sample_id = OptionalFromJson(document, "sample_id");
    state.completed_at = OptionalFromJson(document, "completed_at");
    state.results_pending = FieldOr<bool>(document, "results_pending", false);
    state.critical_reported_for = OptionalFromJson(document, "critical_reported_for");
    state.rescheduled_by = OptionalFromJson(document, "rescheduled_by");
    state.reschedule_sent_at = OptionalFromJson(document, "reschedule_sent_at");
    state.appointment_cancelled_by = OptionalFromJson(document, "appointment_cancelled_by");
    state.tracking_number = OptionalFromJson(document, "tracking_number");
    state.return_tracking_number = OptionalFromJson(document, "return_tracking_number");
    state.appointment_cancel_sent_at = OptionalFromJson(document, "appointment_cancel_sent_at");
    state.collection_method = FieldOr<std::string>(document, "collection_method", model::kAtHome);
    state.fasting = FieldOr<bool>(document, "fasting", false);
    state.channel_changed_from = OptionalFromJson(document, "channel_changed_from");
    state.channel_change_reason = OptionalFromJson(document, "channel_change_reason");
    state.fallback = OptionalFromJson(document, "fallback");
    state.channel_switch_to = OptionalFromJson(document, "channel_switch_to");
    state.switched_junction_order_id = OptionalFromJson(document, "switched_junction_order_id");
    state.auto_book = FieldOr<bool>(document, "auto_book", true);
    state.booked_by = OptionalFromJson(document, "booked_by");
    if (auto found = document.find("result"); found != document.end() && !found->is_null()) {
      if (!found->is_object()) throw std::runtime_error("store: the order's workflow is malformed");
      model::ResultSummary summary;
      summary.id = FieldOr<std::string>(*found, "id", "");
      summary.version = FieldOr<int>(*found, "version", 0);
      summary.status = FieldOr<std::string>(*found, "status", "");
      summary.interpretation = FieldOr<std::string>(*found, "interpretation", "");
      state.result = std::move(summary);
    }
    return state;
  } catch (const nlohmann::json::exception&) {
    // Not PHI, but the message stays as plain as the PHI reader's.
    throw std::runtime_error("store: the order's workflow is malformed");
  }
}

const char* RecoveryPointName(RecoveryPoint point) {
  switch (point) {
    case RecoveryPoint::kStarted:
      return "started";
    case RecoveryPoint::kOrderRecorded:
      return "order_recorded";
    case RecoveryPoint::kUserEnsured:
      return "user_ensured";
    case RecoveryPoint::kJunctionOrderCreated:
      return "junction_order_created";
    case RecoveryPoint::kFinished:
      return "finished";
  }
  return "unknown";
}

model::LabOrder ReadOrderRow(const Statement& row, const PhiCipher& cipher) {
  model::LabOrder order;
  order.id = row.Text(0);
  order.brand_id = row.Text(1);
  order.user_id = row.Text(2);
  order.patient_id = row.OptionalText(3);
  order.panel_slug = row.Text(4);
  order.status = row.Text(5);
  order.total_cents = row.OptionalInteger(6);
  order.currency = row.OptionalText(7);
  order.junction_user_id = row.OptionalText(8);
  order.junction_order_id = row.OptionalText(9);
  order.created_at = row.Text(10);
  order.updated_at = row.Text(11);
  order.completed_at = row.OptionalText(12);
  // Throws std::runtime_error when the PHI key is not the one the row was written with.
  ReadPhiDocument(cipher.Decrypt(row.Text(13), PhiAssociatedData(order.id)), &order);
  order.workflow = ReadWorkflowDocument(row.Text(14));
  order.version = row.Integer(15);
  order.external_order_id = row.OptionalText(16);
  order.metadata = ReadMetadataDocument(row.Text(17));
  return order;
}

std::string SecretAssociatedData(const std::string& endpoint_id, const char* column) {
  return std::string("webhook_endpoints.") + column + ":" + endpoint_id;
}

// Reads kEndpointColumns from column `first` on.
WebhookEndpoint ReadEndpointRow(const Statement& row, const PhiCipher& cipher, int first) {
  WebhookEndpoint endpoint;
  endpoint.id = row.Text(first);
  endpoint.brand_id = row.Text(first + 1);
  endpoint.url = row.Text(first + 2);
  endpoint.event_types = nlohmann::json::parse(row.Text(first + 3)).get<std::vector<std::string>>();
  endpoint.secret =
      cipher.Decrypt(row.Text(first + 4), SecretAssociatedData(endpoint.id, "secret"));
  if (auto previous = row.OptionalText(first + 5)) {
    endpoint.previous_secret =
        cipher.Decrypt(*previous, SecretAssociatedData(endpoint.id, "previous_secret"));
  }
  if (auto expires = row.OptionalInteger(first + 6)) {
    endpoint.previous_secret_expires_at = FromEpochMillis(*expires);
  }
  endpoint.disabled = row.Integer(first + 7) != 0;
  endpoint.created_at = FromEpochMillis(row.Integer(first + 8));
  return endpoint;
}

// A delivery's record for the brand's log: the delivery row with its event's type, and its
// latest attempts. No payload, no secret.

void InsertJob(SqlSession& connection, const NewJob& job, TimePoint created_at) {
  Statement insert = connection.Query(
      "INSERT INTO jobs (id, kind, order_id, payload, state, attempts, due_at, created_at, "
      "updated_at) VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?6, ?6)");
  insert.Bind(1, job.id)
      .Bind(2, job.kind)
      .Bind(3, job.order_id)
      .Bind(4, job.payload)
      .Bind(5, EpochMillis(job.due_at))
      .Bind(6, EpochMillis(created_at))
      .Defer();
}

IdempotencyRecord InsertedKeyRecord(const std::string& brand_id, const std::string& key,
                                    const RequestIdentity& request, RecoveryPoint point,
                                    TimePoint now) {
  IdempotencyRecord record;
  record.brand_id = brand_id;
  record.key = key;
  record.fingerprint = request.fingerprint;
  record.body_digest = request.body_digest;
  record.recovery_point = point;
  record.created_at = FromEpochMillis(EpochMillis(now));  // as stored: whole milliseconds
  return record;
}

IdempotencyRecord ReadKeyRow(const Statement& row, const PhiCipher& cipher) {
  IdempotencyRecord record;
  record.brand_id = row.Text(0);
  record.key = row.Text(1);
  record.fingerprint = row.Text(2);
  record.recovery_point = ParseRecoveryPoint(row.Text(3));
  record.order_id = row.OptionalText(4);
  if (auto status = row.OptionalInteger(5)) record.response_status = static_cast<int>(*status);
  if (auto sealed = row.OptionalText(6)) {
    record.response_body =
        cipher.Decrypt(*sealed, ResponseAssociatedData(record.brand_id, record.key));
  }
  record.created_at = FromEpochMillis(row.Integer(7));
  record.body_digest = row.OptionalText(8).value_or("");
  return record;
}

}  // namespace lab_orders::store
