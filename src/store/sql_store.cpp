#include "lab_orders/store/sql_store.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/model/order_events.h"
#include "lab_orders/store/postgres_store.h"
#include "lab_orders/store/sqlite_store.h"
#include "store/postgres_database.h"
#include "store/sql_session.h"
#include "store/sqlite_database.h"

namespace lab_orders::store {
namespace {

using std::chrono::system_clock;

// ---- schema ------------------------------------------------------------------------------------

struct Migration {
  int version;
  const char* sql;  // constant DDL only: never values
};

// Append only: an applied migration is never edited, a change is a new version.
// Types stay within TEXT and INTEGER/BIGINT so the same DDL runs on PostgreSQL.
// Order timestamps are RFC 3339 UTC text of fixed width (FormatRfc3339), so they sort as text and
// read as the API writes them. Idempotency-key, job and webhook times are epoch milliseconds:
// leases need sub-second precision and are compared, never shown.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE lab_orders (
  id                TEXT PRIMARY KEY,
  brand_id          TEXT NOT NULL,
  user_id           TEXT NOT NULL,
  patient_id        TEXT,
  panel_slug        TEXT NOT NULL,
  status            TEXT NOT NULL,
  total_cents       BIGINT,
  currency          TEXT,
  junction_user_id  TEXT,
  junction_order_id TEXT,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  completed_at      TEXT,
  phi               TEXT NOT NULL
);
CREATE INDEX lab_orders_brand_created ON lab_orders (brand_id, created_at DESC, id DESC);
CREATE INDEX lab_orders_brand_status ON lab_orders (brand_id, status, created_at DESC, id DESC);

CREATE TABLE idempotency_keys (
  brand_id        TEXT NOT NULL,
  key             TEXT NOT NULL,
  fingerprint     TEXT NOT NULL,
  recovery_point  TEXT NOT NULL,
  order_id        TEXT REFERENCES lab_orders (id),
  response_status INTEGER,
  response_body   TEXT,
  locked_until    BIGINT,
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (brand_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE junction_users (
  client_user_id   TEXT PRIMARY KEY,
  junction_user_id TEXT NOT NULL,
  created_at       TEXT NOT NULL
);
)sql"},
    // The workflow: the order's workflow state (JSON, no PHI) and a version that guards job runs
    // against concurrent writes; durable jobs; Junction webhook receipts for deduplication.
    {2, R"sql(
ALTER TABLE lab_orders ADD COLUMN workflow TEXT NOT NULL DEFAULT '{}';
ALTER TABLE lab_orders ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX lab_orders_junction_order ON lab_orders (junction_order_id);

-- The completer's scan for unfinished keys skips the finished ones, which are most of them.
CREATE INDEX idempotency_keys_unfinished ON idempotency_keys (created_at)
  WHERE recovery_point <> 'finished';

CREATE TABLE jobs (
  id           TEXT PRIMARY KEY,
  kind         TEXT NOT NULL,
  order_id     TEXT NOT NULL REFERENCES lab_orders (id),
  payload      TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('queued', 'done')),
  attempts     INTEGER NOT NULL,
  due_at       BIGINT NOT NULL,
  locked_until BIGINT,
  lease_owner  TEXT,
  last_error   TEXT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, due_at);
-- Expired leases are due whatever their due_at: found by lease end, not by a scan.
CREATE INDEX jobs_lease_end ON jobs (state, locked_until);
CREATE INDEX jobs_done_updated ON jobs (updated_at) WHERE state = 'done';
-- At most one queued step job per order: two would run the order's workflow twice at once.
CREATE UNIQUE INDEX jobs_one_step_per_order ON jobs (order_id)
  WHERE state = 'queued' AND kind <> 'junction_event';

CREATE TABLE junction_webhooks (
  svix_id     TEXT PRIMARY KEY,
  received_at BIGINT NOT NULL
);
CREATE INDEX junction_webhooks_received ON junction_webhooks (received_at);
)sql"},
    // Brand webhooks: the brand's own order id and metadata (JSON object of strings), echoed on
    // every order response and event.
    {3, R"sql(
ALTER TABLE lab_orders ADD COLUMN external_order_id TEXT;
ALTER TABLE lab_orders ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- Where brands receive events. secret and previous_secret are sealed like PHI.
CREATE TABLE webhook_endpoints (
  id                         TEXT PRIMARY KEY,
  brand_id                   TEXT NOT NULL,
  url                        TEXT NOT NULL,
  event_types                TEXT NOT NULL,
  secret                     TEXT NOT NULL,
  previous_secret            TEXT,
  previous_secret_expires_at BIGINT,
  disabled                   INTEGER NOT NULL,
  created_at                 BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_brand ON webhook_endpoints (brand_id, created_at);

-- The outbox: each row commits with the order change that caused it. sequence orders an order's
-- events.
CREATE TABLE webhook_events (
  id         TEXT PRIMARY KEY,
  brand_id   TEXT NOT NULL,
  order_id   TEXT NOT NULL REFERENCES lab_orders (id),
  type       TEXT NOT NULL,
  payload    TEXT NOT NULL,
  sequence   BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (order_id, sequence)
);

-- One event to one endpoint. order_id and sequence are the event's, copied so the "no earlier
-- pending event of the order" check is one index range. schedule_from: the attempts made before
-- the retry schedule last started (0, or the count when the brand asked for a resend).
CREATE TABLE webhook_deliveries (
  id              TEXT PRIMARY KEY,
  endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
  event_id        TEXT NOT NULL REFERENCES webhook_events (id),
  order_id        TEXT NOT NULL,
  sequence        BIGINT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL,
  schedule_from   INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  locked_until    BIGINT,
  lease_owner     TEXT,
  last_status     INTEGER,
  last_latency_ms BIGINT,
  last_error      TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (endpoint_id, order_id, sequence);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at, sequence, id);

-- Every attempt: when, what the receiver answered, how long it took.
CREATE TABLE webhook_attempts (
  delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id),
  attempt      INTEGER NOT NULL,
  attempted_at BIGINT NOT NULL,
  status       INTEGER,
  latency_ms   BIGINT NOT NULL,
  error        TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
)sql"},
};

constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

constexpr const char* kOrderColumns =
    "id, brand_id, user_id, patient_id, panel_slug, status, total_cents, currency, "
    "junction_user_id, junction_order_id, created_at, updated_at, completed_at, phi, workflow, "
    "version, external_order_id, metadata";

constexpr const char* kKeyColumns =
    "brand_id, key, fingerprint, recovery_point, order_id, response_status, response_body, "
    "created_at";
constexpr int kKeyColumnCount = 8;  // the columns in kKeyColumns

constexpr const char* kJobColumns =
    "id, kind, order_id, payload, attempts, due_at, created_at, lease_owner";

// Job states ('queued', 'done') and the one kind that is not a step (kJobJunctionEvent) are
// literals in the SQL below: a partial index is used only when the query repeats its text.

// ---- conversions -------------------------------------------------------------------------------

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

constexpr RecoveryPoint kAllRecoveryPoints[] = {
    RecoveryPoint::kStarted, RecoveryPoint::kOrderRecorded, RecoveryPoint::kUserEnsured,
    RecoveryPoint::kJunctionOrderCreated, RecoveryPoint::kFinished};

RecoveryPoint ParseRecoveryPoint(std::string_view name) {
  for (RecoveryPoint point : kAllRecoveryPoints) {
    if (name == RecoveryPointName(point)) return point;
  }
  throw std::runtime_error("store: unknown recovery point in idempotency_keys");
}

// Binds a sealed value to the row it belongs to, so it cannot be moved to another row.
std::string PhiAssociatedData(const std::string& order_id) { return order_id; }

// The length prefix keeps (brand "a:b", key "c") apart from (brand "a", key ":bc"); the label
// keeps these values apart from order PHI.
std::string ResponseAssociatedData(const std::string& brand_id, const std::string& key) {
  return "idempotency_keys.response_body:" + std::to_string(brand_id.size()) + ":" + brand_id + key;
}

nlohmann::json OptionalToJson(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<std::string> OptionalFromJson(const nlohmann::json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end() || found->is_null()) return std::nullopt;
  return found->get<std::string>();
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
      {"booking_refusals", state.booking_refusals},
      {"failure_reason", OptionalToJson(state.failure_reason)},
  };
  return document.dump();
}

// A missing or null field reads as its default: rows written before a field existed (and the
// migration's '{}') stay readable.
template <typename T>
T FieldOr(const nlohmann::json& object, const char* name, T fallback) {
  auto found = object.find(name);
  if (found == object.end() || found->is_null()) return fallback;
  return found->get<T>();
}

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
      view.event_count = FieldOr<int>(*found, "event_count", 0);
      state.appointment = std::move(view);
    }
    state.past_appointment_ids =
        FieldOr<std::vector<std::string>>(document, "past_appointment_ids", {});
    state.provider_cancellations = FieldOr<int>(document, "provider_cancellations", 0);
    state.booking_sent = FieldOr<bool>(document, "booking_sent", false);
    state.booking_refusals = FieldOr<int>(document, "booking_refusals", 0);
    state.failure_reason = OptionalFromJson(document, "failure_reason");
    return state;
  } catch (const nlohmann::json::exception&) {
    // Not PHI, but the message stays as plain as the PHI reader's.
    throw std::runtime_error("store: the order's workflow is malformed");
  }
}

}  // namespace

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

// ---- the store ---------------------------------------------------------------------------------

namespace {

struct KeyState {
  RecoveryPoint recovery_point;
  std::optional<std::string> order_id;
};

// Reads (brand_id, key) for a phase that moves the recovery point to target. Recovery points only
// move forward: a phase for a missing key, a finished key or a key already past the phase is a bug
// in the caller, and committing it could lose track of a Junction order.
KeyState LoadKeyForPhase(SqlSession& connection, const std::string& brand_id,
                         const std::string& key, RecoveryPoint target) {
  Statement select = connection.Query(
      "SELECT recovery_point, order_id FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2" +
      std::string(connection.ForUpdate()));
  select.Bind(1, brand_id).Bind(2, key);
  if (!select.Step()) throw std::logic_error("store: no such idempotency key");
  KeyState state{ParseRecoveryPoint(select.Text(0)), select.OptionalText(1)};
  if (state.recovery_point == RecoveryPoint::kFinished) {
    throw std::logic_error("store: the idempotency key is already finished");
  }
  if (state.recovery_point > target) {
    throw std::logic_error("store: the recovery point would move backwards");
  }
  return state;
}

void RequireKeyOwnsOrder(const KeyState& state, const std::string& order_id) {
  if (state.order_id != order_id) {
    throw std::logic_error("store: no such order recorded under this idempotency key");
  }
}

// Reads kKeyColumns, the first columns of row.
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
  return record;
}

// Reads kJobColumns, the first columns of row.
Job ReadJobRow(const Statement& row) {
  Job job;
  job.id = row.Text(0);
  job.kind = row.Text(1);
  job.order_id = row.Text(2);
  job.payload = row.Text(3);
  job.attempts = static_cast<int>(row.Integer(4));
  job.due_at = FromEpochMillis(row.Integer(5));
  job.created_at = FromEpochMillis(row.Integer(6));
  job.lease_owner = row.OptionalText(7).value_or("");
  return job;
}

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
      .Run();
}

void LeaseJob(SqlSession& connection, const std::string& job_id, TimePoint now,
              TimePoint lease_until, const std::string& owner) {
  Statement update = connection.Query(
      "UPDATE jobs SET locked_until = ?2, lease_owner = ?3, updated_at = ?4 WHERE id = ?1");
  update.Bind(1, job_id).Bind(2, EpochMillis(lease_until)).Bind(3, owner).Bind(4, EpochMillis(now));
  update.Run();
}

// A job run's write to its order: the fields a run may change, checked and converted.
struct OrderWrite {
  std::string status;
  std::string updated_at;
  std::optional<std::string> completed_at;
  std::string workflow;
};

OrderWrite PrepareOrderWrite(const Job& job, const model::LabOrder& order) {
  if (order.id != job.order_id) {
    throw std::logic_error("store: a job's run updates another order than the job's");
  }
  return OrderWrite{order.status, CanonicalTimestamp(order.updated_at, "updated_at"),
                    CanonicalTimestamp(order.completed_at, "completed_at"),
                    WorkflowDocument(order.workflow)};
}

// Throws LeaseLost unless job is still queued under job.lease_owner; returns the lease's end.
// A lease that ran out but that nobody took over is still held: the run's result stays good until
// another claim replaces the owner.
std::int64_t RequireLease(SqlSession& connection, const Job& job) {
  Statement select = connection.Query(
      "SELECT locked_until FROM jobs WHERE id = ?1 AND state = 'queued' AND lease_owner = ?2 "
      "AND locked_until IS NOT NULL" +
      std::string(connection.ForUpdate()));
  select.Bind(1, job.id).Bind(2, job.lease_owner);
  if (job.lease_owner.empty() || !select.Step()) {
    throw LeaseLost("store: the job's lease was lost");
  }
  return select.Integer(0);
}

// Locks the order's row and returns its version. A job's commit locks its order before its job
// row, always in that order, so two commits touching both cannot deadlock.
std::int64_t LockOrder(SqlSession& connection, const std::string& order_id) {
  Statement select = connection.Query("SELECT version FROM lab_orders WHERE id = ?1" +
                                      std::string(connection.ForUpdate()));
  select.Bind(1, order_id);
  if (!select.Step()) throw std::logic_error("store: no such order");
  return select.Integer(0);
}

void RequireOrderVersion(std::int64_t version, std::optional<std::int64_t> expected_version) {
  if (expected_version && version != *expected_version) {
    throw VersionConflict("store: the order changed during the job's run");
  }
}

void WriteOrder(SqlSession& connection, const std::string& order_id, const OrderWrite& write) {
  Statement update = connection.Query(
      "UPDATE lab_orders SET status = ?2, updated_at = ?3, completed_at = ?4, workflow = ?5, "
      "version = version + 1 WHERE id = ?1");
  update.Bind(1, order_id)
      .Bind(2, write.status)
      .Bind(3, write.updated_at)
      .Bind(4, write.completed_at)
      .Bind(5, write.workflow)
      .Run();
  if (connection.ChangedRows() != 1) throw std::logic_error("store: no such order");
}

// ---- brand webhooks: the outbox ----

model::LabOrder ReadOrderRow(const Statement& row, const PhiCipher& cipher);  // below

constexpr const char* kEndpointColumns =
    "id, brand_id, url, event_types, secret, previous_secret, previous_secret_expires_at, "
    "disabled, created_at";

std::string SecretAssociatedData(const std::string& endpoint_id, const char* column) {
  return std::string("webhook_endpoints.") + column + ":" + endpoint_id;
}

// Reads kEndpointColumns from column `first` on.
WebhookEndpoint ReadEndpointRow(const Statement& row, const PhiCipher& cipher, int first = 0) {
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
constexpr const char* kDeliveryRecordColumns =
    "d.id, d.endpoint_id, d.event_id, v.type, d.order_id, d.state, d.attempts, "
    "d.next_attempt_at, d.created_at";

WebhookDeliveryRecord ReadDeliveryRecord(SqlSession& connection, const Statement& row) {
  WebhookDeliveryRecord record;
  record.id = row.Text(0);
  record.endpoint_id = row.Text(1);
  record.event_id = row.Text(2);
  record.event_type = row.Text(3);
  record.order_id = row.Text(4);
  record.state = row.Text(5);
  record.attempt_count = static_cast<int>(row.Integer(6));
  if (record.state == "pending") record.next_attempt_at = FromEpochMillis(row.Integer(7));
  record.created_at = FromEpochMillis(row.Integer(8));
  Statement select = connection.Query(
      "SELECT attempt, attempted_at, status, latency_ms, error FROM webhook_attempts "
      "WHERE delivery_id = ?1 AND attempt > ?2 ORDER BY attempt");
  select.Bind(1, record.id).Bind(2, std::int64_t{record.attempt_count - kListedAttempts});
  while (select.Step()) {
    WebhookAttempt attempt;
    attempt.attempt = static_cast<int>(select.Integer(0));
    attempt.attempted_at = FromEpochMillis(select.Integer(1));
    if (auto status = select.OptionalInteger(2)) attempt.status = static_cast<int>(*status);
    attempt.latency_ms = select.Integer(3);
    attempt.error = select.OptionalText(4).value_or("");
    record.attempts.push_back(std::move(attempt));
  }
  return record;
}

// The brand's delivery with this id, as its log shows it.
std::optional<WebhookDeliveryRecord> FindDeliveryRecord(SqlSession& connection,
                                                        const std::string& brand_id,
                                                        const std::string& id) {
  Statement select = connection.Query(
      std::string("SELECT ") + kDeliveryRecordColumns +
      " FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id "
      "JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?1 AND e.brand_id = ?2");
  select.Bind(1, id).Bind(2, brand_id);
  if (!select.Step()) return std::nullopt;
  return ReadDeliveryRecord(connection, select);
}

bool Subscribed(const std::vector<std::string>& event_types, const std::string& type) {
  return event_types.empty() ||
         std::find(event_types.begin(), event_types.end(), type) != event_types.end();
}

// The order's state before a change, as model::OrderEventsFor compares it.
model::OrderBefore ReadOrderBefore(SqlSession& connection, const std::string& order_id) {
  Statement select = connection.Query("SELECT status, workflow FROM lab_orders WHERE id = ?1");
  select.Bind(1, order_id);
  if (!select.Step()) throw std::logic_error("store: no such order");
  return {select.Text(0), ReadWorkflowDocument(select.Text(1)).appointment};
}

// Writes the events of a change into the outbox, each with a delivery per enabled endpoint of
// the brand that takes its type. The caller holds the order's row, so sequences do not collide.
void InsertOrderEvents(SqlSession& connection, const PhiCipher& cipher,
                       const std::optional<model::OrderBefore>& before,
                       const model::LabOrder& after) {
  std::vector<model::OrderEvent> events = model::OrderEventsFor(before, after);
  if (events.empty()) return;
  system_clock::time_point occurred_at;
  if (!ParseRfc3339(after.updated_at, &occurred_at)) {
    throw std::invalid_argument("order updated_at is not an RFC 3339 timestamp");
  }
  const std::int64_t created_at = EpochMillis(occurred_at);

  std::vector<WebhookEndpoint> endpoints;
  {
    Statement select =
        connection.Query(std::string("SELECT ") + kEndpointColumns +
                         " FROM webhook_endpoints WHERE brand_id = ?1 AND disabled = 0");
    select.Bind(1, after.brand_id);
    while (select.Step()) endpoints.push_back(ReadEndpointRow(select, cipher));
  }
  std::int64_t sequence = 0;
  {
    Statement select = connection.Query(
        "SELECT COALESCE(MAX(sequence), 0) FROM webhook_events WHERE order_id = ?1");
    select.Bind(1, after.id);
    if (select.Step()) sequence = select.Integer(0);
  }
  for (const model::OrderEvent& event : events) {
    ++sequence;
    const std::string event_id = "msg_" + NewRandomUuid();
    Statement insert = connection.Query(
        "INSERT INTO webhook_events (id, brand_id, order_id, type, payload, sequence, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    insert.Bind(1, event_id)
        .Bind(2, after.brand_id)
        .Bind(3, after.id)
        .Bind(4, event.type)
        .Bind(5, model::EventEnvelope(event, FormatRfc3339(occurred_at)).dump())
        .Bind(6, sequence)
        .Bind(7, created_at)
        .Run();
    for (const WebhookEndpoint& endpoint : endpoints) {
      if (!Subscribed(endpoint.event_types, event.type)) continue;
      Statement delivery = connection.Query(
          "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, order_id, sequence, state, "
          "attempts, next_attempt_at, created_at, updated_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6, ?6)");
      delivery.Bind(1, "dlv_" + NewRandomUuid())
          .Bind(2, endpoint.id)
          .Bind(3, event_id)
          .Bind(4, after.id)
          .Bind(5, sequence)
          .Bind(6, created_at)
          .Run();
    }
  }
}

void MoveRecoveryPoint(SqlSession& connection, const std::string& brand_id, const std::string& key,
                       RecoveryPoint point) {
  Statement update = connection.Query(
      "UPDATE idempotency_keys SET recovery_point = ?3 WHERE brand_id = ?1 AND key = ?2");
  update.Bind(1, brand_id).Bind(2, key).Bind(3, RecoveryPointName(point)).Run();
}

}  // namespace

SqlStore::SqlStore(std::unique_ptr<SqlDatabase> database, PhiCipher cipher)
    : database_(std::move(database)), cipher_(std::move(cipher)) {}

SqlStore::~SqlStore() = default;

template <typename Body>
auto SqlStore::Transact(const char* operation, TransactionKind kind, Body&& body)
    -> decltype(body(std::declval<SqlSession&>())) {
  using Result = decltype(body(std::declval<SqlSession&>()));
  if constexpr (std::is_void_v<Result>) {
    database_->Transaction(operation, kind, [&](SqlSession& session) { body(session); });
  } else {
    // Set on every run: a backend may run the body again after a transient conflict.
    std::optional<Result> result;
    database_->Transaction(operation, kind,
                           [&](SqlSession& session) { result.emplace(body(session)); });
    return std::move(*result);
  }
}

SqliteStore::SqliteStore(const std::string& path, PhiCipher cipher,
                         std::chrono::milliseconds busy_timeout)
    : SqlStore(std::make_unique<SqliteDatabase>(path, busy_timeout), std::move(cipher)) {}

PostgresStore::PostgresStore(const PostgresOptions& options, PhiCipher cipher)
    : SqlStore(std::make_unique<PostgresDatabase>(options), std::move(cipher)) {}

void SqlStore::Migrate() {
  Transact("Migrate", TransactionKind::kWrite, [&](SqlSession& db) {
    db.LockForMigration();
    db.ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
    std::set<int> applied;
    {
      Statement select = db.Query("SELECT version FROM schema_migrations");
      while (select.Step()) applied.insert(static_cast<int>(select.Integer(0)));
    }
    // Migrations have no Clock to ask; when they ran is for operators only.
    const std::string applied_at = FormatRfc3339(system_clock::now());
    for (const Migration& migration : kMigrations) {
      if (applied.contains(migration.version)) continue;
      db.ExecScript(migration.sql);
      Statement insert =
          db.Query("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)");
      insert.Bind(1, std::int64_t{migration.version}).Bind(2, applied_at).Run();
    }
  });
}

bool SqlStore::Ready() {
  try {
    return Transact("Ready", TransactionKind::kRead, [&](SqlSession& db) {
      Statement count = db.Query("SELECT COUNT(*) FROM schema_migrations WHERE version <= ?1");
      count.Bind(1, std::int64_t{kLatestVersion});
      return count.Step() && count.Integer(0) == static_cast<std::int64_t>(std::size(kMigrations));
    });
  } catch (const std::exception&) {
    return false;  // no schema_migrations table yet, or the database does not answer
  }
}

Claim SqlStore::ClaimKey(const std::string& brand_id, const std::string& key,
                         const std::string& fingerprint, TimePoint now, TimePoint lease_until) {
  return Transact("ClaimKey", TransactionKind::kWrite, [&](SqlSession& db) {
    // A finished key never changes again, so its replay (the common retry) is answered from a
    // plain read: on PostgreSQL no row lock that the commit would have to make durable.
    {
      Statement finished = db.Query(std::string("SELECT ") + kKeyColumns +
                                    " FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2 "
                                    "AND recovery_point = ?3");
      finished.Bind(1, brand_id).Bind(2, key).Bind(3, RecoveryPointName(RecoveryPoint::kFinished));
      if (finished.Step()) {
        IdempotencyRecord record = ReadKeyRow(finished, cipher_);
        const ClaimResult result = record.fingerprint == fingerprint
                                       ? ClaimResult::kFinished
                                       : ClaimResult::kFingerprintMismatch;
        return Claim{result, std::move(record)};
      }
    }
    struct StoredKey {
      IdempotencyRecord record;
      std::optional<std::int64_t> locked_until;
    };
    auto load = [&]() -> std::optional<StoredKey> {
      Statement select =
          db.Query(std::string("SELECT ") + kKeyColumns +
                   ", locked_until FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2" +
                   std::string(db.ForUpdate()));
      select.Bind(1, brand_id).Bind(2, key);
      if (!select.Step()) return std::nullopt;
      return StoredKey{ReadKeyRow(select, cipher_), select.OptionalInteger(kKeyColumnCount)};
    };

    // Insert first: of two callers racing on one new key (in two processes, perhaps), exactly one
    // inserts; the other waits for that row and reads it below.
    Statement insert = db.Query(
        "INSERT INTO idempotency_keys "
        "(brand_id, key, fingerprint, recovery_point, locked_until, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (brand_id, key) DO NOTHING");
    insert.Bind(1, brand_id)
        .Bind(2, key)
        .Bind(3, fingerprint)
        .Bind(4, RecoveryPointName(RecoveryPoint::kStarted))
        .Bind(5, EpochMillis(lease_until))
        .Bind(6, EpochMillis(now));
    const bool inserted = insert.Run() == 1;
    std::optional<StoredKey> stored = load();
    if (!stored) throw std::logic_error("store: an idempotency key vanished while claimed");
    if (inserted) return Claim{ClaimResult::kNew, stored->record};
    // A different request under a used key is refused whatever state the key is in.
    if (stored->record.fingerprint != fingerprint) {
      return Claim{ClaimResult::kFingerprintMismatch, stored->record};
    }
    if (stored->record.recovery_point == RecoveryPoint::kFinished) {
      return Claim{ClaimResult::kFinished, stored->record};
    }
    if (stored->locked_until && *stored->locked_until > EpochMillis(now)) {
      return Claim{ClaimResult::kInProgress, stored->record};
    }
    Statement update =
        db.Query("UPDATE idempotency_keys SET locked_until = ?3 WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, brand_id).Bind(2, key).Bind(3, EpochMillis(lease_until)).Run();
    return Claim{ClaimResult::kResumed, stored->record};
  });
}

void SqlStore::ReleaseKey(const std::string& brand_id, const std::string& key) {
  // A missing key is not an error here: this runs on failure paths, where a throw would hide the
  // failure being reported.
  Transact("ReleaseKey", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE idempotency_keys SET locked_until = NULL WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, brand_id).Bind(2, key).Run();
  });
}

void SqlStore::RecordOrder(const std::string& key, const model::LabOrder& order) {
  // Everything that can fail without the database is done before the transaction starts.
  const std::string created_at = CanonicalTimestamp(order.created_at, "created_at");
  const std::string updated_at = CanonicalTimestamp(order.updated_at, "updated_at");
  const std::optional<std::string> completed_at =
      CanonicalTimestamp(order.completed_at, "completed_at");
  const std::string sealed_phi = cipher_.Encrypt(PhiDocument(order), PhiAssociatedData(order.id));
  const std::string workflow = WorkflowDocument(order.workflow);
  const std::string metadata = nlohmann::json(order.metadata).dump();

  Transact("RecordOrder", TransactionKind::kWrite, [&](SqlSession& db) {
    KeyState state = LoadKeyForPhase(db, order.brand_id, key, RecoveryPoint::kOrderRecorded);
    // One key, one order: a second one would be a second Junction order on the next phase.
    if (state.order_id) throw std::logic_error("store: the idempotency key already has an order");

    Statement insert = db.Query(
        "INSERT INTO lab_orders (id, brand_id, user_id, patient_id, panel_slug, status, "
        "total_cents, currency, junction_user_id, junction_order_id, created_at, updated_at, "
        "completed_at, phi, workflow, version, external_order_id, metadata) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
    insert.Bind(1, order.id)
        .Bind(2, order.brand_id)
        .Bind(3, order.user_id)
        .Bind(4, order.patient_id)
        .Bind(5, order.panel_slug)
        .Bind(6, order.status)
        .Bind(7, order.total_cents)
        .Bind(8, order.currency)
        .Bind(9, order.junction_user_id)
        .Bind(10, order.junction_order_id)
        .Bind(11, created_at)
        .Bind(12, updated_at)
        .Bind(13, completed_at)
        .Bind(14, sealed_phi)
        .Bind(15, workflow)
        .Bind(16, order.version)
        .Bind(17, order.external_order_id)
        .Bind(18, metadata)
        .Run();

    Statement update = db.Query(
        "UPDATE idempotency_keys SET order_id = ?3, recovery_point = ?4 "
        "WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, order.brand_id)
        .Bind(2, key)
        .Bind(3, order.id)
        .Bind(4, RecoveryPointName(RecoveryPoint::kOrderRecorded))
        .Run();
  });
}

void SqlStore::SaveJunctionUser(const std::string& brand_id, const std::string& key,
                                const std::string& order_id, const std::string& client_user_id,
                                const std::string& junction_user_id, TimePoint now) {
  const std::string timestamp = FormatRfc3339(now);
  Transact("SaveJunctionUser", TransactionKind::kWrite, [&](SqlSession& db) {
    KeyState state = LoadKeyForPhase(db, brand_id, key, RecoveryPoint::kUserEnsured);
    RequireKeyOwnsOrder(state, order_id);

    Statement upsert = db.Query(
        "INSERT INTO junction_users (client_user_id, junction_user_id, created_at) "
        "VALUES (?1, ?2, ?3) "
        "ON CONFLICT (client_user_id) DO UPDATE SET junction_user_id = excluded.junction_user_id");
    upsert.Bind(1, client_user_id).Bind(2, junction_user_id).Bind(3, timestamp).Run();

    Statement update = db.Query(
        "UPDATE lab_orders SET junction_user_id = ?3, updated_at = ?4, version = version + 1 "
        "WHERE id = ?1 AND brand_id = ?2");
    update.Bind(1, order_id).Bind(2, brand_id).Bind(3, junction_user_id).Bind(4, timestamp).Run();
    if (db.ChangedRows() != 1) throw std::logic_error("store: no such order");

    MoveRecoveryPoint(db, brand_id, key, RecoveryPoint::kUserEnsured);
  });
}

void SqlStore::SaveJunctionOrder(const std::string& brand_id, const std::string& key,
                                 const std::string& order_id, const std::string& junction_order_id,
                                 const std::string& status, TimePoint now,
                                 const NewJob& first_step) {
  if (first_step.order_id != order_id) {
    throw std::logic_error("store: the first step belongs to another order");
  }
  const std::string timestamp = FormatRfc3339(now);
  Transact("SaveJunctionOrder", TransactionKind::kWrite, [&](SqlSession& db) {
    KeyState state = LoadKeyForPhase(db, brand_id, key, RecoveryPoint::kJunctionOrderCreated);
    RequireKeyOwnsOrder(state, order_id);
    if (state.recovery_point == RecoveryPoint::kJunctionOrderCreated) {
      // A repeat of this phase: it committed once, with the first step, and since then the order
      // and its jobs belong to the workflow. Writing again would queue a second workflow or
      // restart an ended one, and could put back a status the workflow moved on from.
      Statement select = db.Query("SELECT junction_order_id FROM lab_orders WHERE id = ?1");
      select.Bind(1, order_id);
      if (!select.Step() || select.OptionalText(0) != junction_order_id) {
        throw std::logic_error("store: the order already has another Junction order");
      }
      return;
    }

    Statement update = db.Query(
        "UPDATE lab_orders SET junction_order_id = ?3, status = ?4, updated_at = ?5, "
        "version = version + 1 WHERE id = ?1 AND brand_id = ?2");
    update.Bind(1, order_id)
        .Bind(2, brand_id)
        .Bind(3, junction_order_id)
        .Bind(4, status)
        .Bind(5, timestamp)
        .Run();
    if (db.ChangedRows() != 1) throw std::logic_error("store: no such order");
    InsertJob(db, first_step, now);
    // The brand hears of the order once it is made at Junction: the moment its 201 is real.
    Statement select =
        db.Query(std::string("SELECT ") + kOrderColumns + " FROM lab_orders WHERE id = ?1");
    select.Bind(1, order_id);
    if (!select.Step()) throw std::logic_error("store: no such order");
    InsertOrderEvents(db, cipher_, std::nullopt, ReadOrderRow(select, cipher_));

    MoveRecoveryPoint(db, brand_id, key, RecoveryPoint::kJunctionOrderCreated);
  });
}

void SqlStore::FinishKey(const std::string& brand_id, const std::string& key, int status,
                         const std::string& body) {
  // The body is sealed too: the store cannot know what a response carries.
  const std::string sealed_body = cipher_.Encrypt(body, ResponseAssociatedData(brand_id, key));
  Transact("FinishKey", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement select =
        db.Query("SELECT recovery_point FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2" +
                 std::string(db.ForUpdate()));
    select.Bind(1, brand_id).Bind(2, key);
    if (!select.Step()) throw std::logic_error("store: no such idempotency key");
    // The first answer wins: a replay must never change, and a late second finisher (a request
    // that outlived its lease while the completer finished it) has nothing left to do.
    if (ParseRecoveryPoint(select.Text(0)) == RecoveryPoint::kFinished) return;

    Statement update = db.Query(
        "UPDATE idempotency_keys SET response_status = ?3, response_body = ?4, "
        "recovery_point = ?5, locked_until = NULL WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, brand_id)
        .Bind(2, key)
        .Bind(3, std::int64_t{status})
        .Bind(4, sealed_body)
        .Bind(5, RecoveryPointName(RecoveryPoint::kFinished))
        .Run();
  });
}

std::optional<std::string> SqlStore::FindJunctionUser(const std::string& client_user_id) {
  return Transact("FindJunctionUser", TransactionKind::kRead,
                  [&](SqlSession& db) -> std::optional<std::string> {
                    Statement select = db.Query(
                        "SELECT junction_user_id FROM junction_users WHERE client_user_id = ?1");
                    select.Bind(1, client_user_id);
                    if (!select.Step()) return std::nullopt;
                    return select.Text(0);
                  });
}

namespace {

// The brand's metadata: a JSON object of strings. nlohmann's messages quote input, which is the
// brand's data: say only that it is malformed.
std::map<std::string, std::string> ReadMetadataDocument(const std::string& text) {
  try {
    return nlohmann::json::parse(text).get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error("store: the order's metadata is malformed");
  }
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

}  // namespace

std::optional<model::LabOrder> SqlStore::GetOrder(const std::string& brand_id,
                                                  const std::string& order_id) {
  return Transact("GetOrder", TransactionKind::kRead,
                  [&](SqlSession& db) -> std::optional<model::LabOrder> {
                    Statement select = db.Query(std::string("SELECT ") + kOrderColumns +
                                                " FROM lab_orders WHERE id = ?1 AND brand_id = ?2");
                    select.Bind(1, order_id).Bind(2, brand_id);
                    if (!select.Step()) return std::nullopt;
                    return ReadOrderRow(select, cipher_);
                  });
}

std::vector<model::LabOrder> SqlStore::ListOrders(const std::string& brand_id,
                                                  const std::optional<std::string>& status,
                                                  int limit,
                                                  const std::optional<std::string>& cursor) {
  if (limit < 1) throw std::invalid_argument("ListOrders: limit must be at least 1");
  return Transact("ListOrders", TransactionKind::kRead, [&](SqlSession& db) {
    std::vector<model::LabOrder> page;
    std::optional<std::pair<std::string, std::string>> after;  // (created_at, id) of the cursor
    if (cursor) {
      Statement select =
          db.Query("SELECT created_at, id FROM lab_orders WHERE id = ?1 AND brand_id = ?2");
      select.Bind(1, *cursor).Bind(2, brand_id);
      // Unknown here (or another brand's id): there is no "after" to continue from.
      if (!select.Step()) return page;
      after.emplace(select.Text(0), select.Text(1));
    }
    // Four constant variants, chosen by which filters are present; every value is bound. Keyset
    // pagination on (created_at, id): pages stay stable while new orders arrive and each page is
    // an index range scan, however deep.
    // Parameters are numbered in the order they appear, with no gaps: PostgreSQL cannot type a
    // parameter the statement never uses.
    std::vector<SqlValue> values = {brand_id};
    auto next = [&](SqlValue value) {
      values.push_back(std::move(value));
      // Appended, not "?" + ...: GCC 12 at -O3 warns falsely (-Wrestrict) on that insert.
      std::string placeholder(1, '?');
      placeholder.append(std::to_string(values.size()));
      return placeholder;
    };
    std::string sql =
        std::string("SELECT ") + kOrderColumns + " FROM lab_orders WHERE brand_id = ?1";
    if (status) sql += " AND status = " + next(*status);
    if (after) {
      const std::string created_at = next(after->first);
      sql += " AND (created_at, id) < (" + created_at + ", " + next(after->second) + ")";
    }
    sql += " ORDER BY created_at DESC, id DESC LIMIT " + next(std::int64_t{limit});

    Statement select = db.Query(sql);
    for (std::size_t i = 0; i < values.size(); ++i) select.Bind(int(i) + 1, values[i]);
    while (select.Step()) page.push_back(ReadOrderRow(select, cipher_));
    return page;
  });
}

std::optional<model::LabOrder> SqlStore::GetOrderById(const std::string& order_id) {
  return Transact("GetOrderById", TransactionKind::kRead,
                  [&](SqlSession& db) -> std::optional<model::LabOrder> {
                    Statement select = db.Query(std::string("SELECT ") + kOrderColumns +
                                                " FROM lab_orders WHERE id = ?1");
                    select.Bind(1, order_id);
                    if (!select.Step()) return std::nullopt;
                    return ReadOrderRow(select, cipher_);
                  });
}

std::optional<model::LabOrder> SqlStore::FindOrderByJunctionId(
    const std::string& junction_order_id) {
  return Transact(
      "FindOrderByJunctionId", TransactionKind::kRead,
      [&](SqlSession& db) -> std::optional<model::LabOrder> {
        // One Junction order per order; the ordering only makes a broken invariant deterministic.
        Statement select = db.Query(
            std::string("SELECT ") + kOrderColumns +
            " FROM lab_orders WHERE junction_order_id = ?1 ORDER BY created_at, id LIMIT 1");
        select.Bind(1, junction_order_id);
        if (!select.Step()) return std::nullopt;
        return ReadOrderRow(select, cipher_);
      });
}

int SqlStore::ReapKeys(TimePoint created_before) {
  return Transact("ReapKeys", TransactionKind::kWrite, [&](SqlSession& db) {
    const std::int64_t cutoff = EpochMillis(created_before);
    Statement remove_keys = db.Query("DELETE FROM idempotency_keys WHERE created_at < ?1");
    remove_keys.Bind(1, cutoff).Run();
    const int reaped = db.ChangedRows();
    // Past the cutoff Junction no longer retries a webhook, so its receipt has nothing to dedupe.
    Statement remove_webhooks = db.Query("DELETE FROM junction_webhooks WHERE received_at < ?1");
    remove_webhooks.Bind(1, cutoff).Run();
    Statement remove_jobs = db.Query("DELETE FROM jobs WHERE state = 'done' AND updated_at < ?1");
    remove_jobs.Bind(1, cutoff).Run();
    return reaped;
  });
}

std::vector<IdempotencyRecord> SqlStore::ClaimStaleKeys(TimePoint created_before, TimePoint now,
                                                        TimePoint lease_until, int limit) {
  if (limit < 1) throw std::invalid_argument("ClaimStaleKeys: limit must be at least 1");
  return Transact("ClaimStaleKeys", TransactionKind::kWrite, [&](SqlSession& db) {
    std::vector<IdempotencyRecord> records;
    {
      // The recovery point names are RecoveryPointName's, literal to match the partial index.
      Statement select =
          db.Query(std::string("SELECT ") + kKeyColumns +
                   " FROM idempotency_keys WHERE recovery_point <> 'finished' "
                   "AND recovery_point <> 'started' AND order_id IS NOT NULL AND created_at < ?1 "
                   "AND (locked_until IS NULL OR locked_until <= ?2) "
                   "ORDER BY created_at, brand_id, key LIMIT ?3" +
                   std::string(db.ForUpdateSkipLocked()));
      select.Bind(1, EpochMillis(created_before))
          .Bind(2, EpochMillis(now))
          .Bind(3, std::int64_t{limit});
      while (select.Step()) records.push_back(ReadKeyRow(select, cipher_));
    }
    for (const IdempotencyRecord& record : records) {
      Statement update = db.Query(
          "UPDATE idempotency_keys SET locked_until = ?3 WHERE brand_id = ?1 AND key = ?2");
      update.Bind(1, record.brand_id).Bind(2, record.key).Bind(3, EpochMillis(lease_until)).Run();
    }
    return records;
  });
}

// ---- jobs
// ----------------------------------------------------------------------------------------

std::vector<Job> SqlStore::ClaimDueJobs(TimePoint now, TimePoint lease_until,
                                        const std::string& owner, int limit) {
  if (limit < 1) throw std::invalid_argument("ClaimDueJobs: limit must be at least 1");
  // An empty owner could not be told apart from "no owner" when the run completes.
  if (owner.empty()) throw std::invalid_argument("ClaimDueJobs: owner must not be empty");
  // A write transaction from the start: the rows read are leased before any other claimer, in
  // this process or another, can read them.
  return Transact("ClaimDueJobs", TransactionKind::kWrite, [&](SqlSession& db) {
    // Due: not leased and due_at passed, or leased and the lease ran out (its worker died),
    // whatever its due_at. One query each, so each is an index range that stops at the limit,
    // rather than a scan of every queued job (most wait hours) on every poll. Rows another
    // claimer holds right now are passed over, not waited for.
    std::vector<Job> jobs;
    for (const char* condition : {"locked_until IS NULL AND due_at <= ?1", "locked_until <= ?1"}) {
      Statement select = db.Query(
          std::string("SELECT ") + kJobColumns + " FROM jobs WHERE state = 'queued' AND " +
          condition + " ORDER BY due_at, id LIMIT ?2" + std::string(db.ForUpdateSkipLocked()));
      select.Bind(1, EpochMillis(now)).Bind(2, std::int64_t{limit});
      while (select.Step()) jobs.push_back(ReadJobRow(select));
    }
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
      return std::tie(a.due_at, a.id) < std::tie(b.due_at, b.id);
    });
    if (jobs.size() > static_cast<std::size_t>(limit)) jobs.resize(limit);
    for (Job& job : jobs) {
      LeaseJob(db, job.id, now, lease_until, owner);
      job.lease_owner = owner;
    }
    return jobs;
  });
}

OrderJobClaim SqlStore::ClaimOrderStep(const std::string& order_id, TimePoint now,
                                       TimePoint lease_until, const std::string& owner, Job* job) {
  if (owner.empty()) throw std::invalid_argument("ClaimOrderStep: owner must not be empty");
  return Transact("ClaimOrderStep", TransactionKind::kWrite, [&](SqlSession& db) {
    Job step;
    {
      Statement select =
          db.Query(std::string("SELECT ") + kJobColumns +
                   ", locked_until FROM jobs WHERE order_id = ?1 AND state = 'queued' "
                   "AND kind <> 'junction_event'" +
                   std::string(db.ForUpdate()));
      select.Bind(1, order_id);
      if (!select.Step()) return OrderJobClaim::kNone;
      std::optional<std::int64_t> locked_until = select.OptionalInteger(8);
      if (locked_until && *locked_until > EpochMillis(now)) return OrderJobClaim::kBusy;
      step = ReadJobRow(select);
    }
    LeaseJob(db, step.id, now, lease_until, owner);
    step.lease_owner = owner;
    if (job != nullptr) *job = std::move(step);
    return OrderJobClaim::kClaimed;
  });
}

void SqlStore::CompleteJob(const Job& job, const JobOutcome& outcome) {
  // Everything that can fail without the database is done before the transaction starts.
  std::optional<OrderWrite> order_write;
  if (outcome.order_update) order_write = PrepareOrderWrite(job, *outcome.order_update);

  Transact("CompleteJob", TransactionKind::kWrite, [&](SqlSession& db) {
    const std::int64_t order_version = LockOrder(db, job.order_id);
    const std::int64_t lease_end = RequireLease(db, job);
    RequireOrderVersion(order_version, outcome.expected_order_version);
    if (order_write) {
      const model::OrderBefore before = ReadOrderBefore(db, job.order_id);
      WriteOrder(db, job.order_id, *order_write);
      InsertOrderEvents(db, cipher_, before, *outcome.order_update);
    }

    // The store reads no clock and the outcome carries no "now", so the lease's end stands in for
    // the time of this commit: within one lease of it, which is all reaping done jobs needs.
    if (outcome.done) {
      Statement update = db.Query(
          "UPDATE jobs SET state = 'done', locked_until = NULL, lease_owner = NULL, "
          "updated_at = ?2 WHERE id = ?1");
      update.Bind(1, job.id).Bind(2, lease_end).Run();
    } else {
      Statement update = db.Query(
          "UPDATE jobs SET due_at = ?2, attempts = ?3, last_error = ?4, locked_until = NULL, "
          "lease_owner = NULL, updated_at = ?5 WHERE id = ?1");
      update.Bind(1, job.id)
          .Bind(2, EpochMillis(outcome.retry_at))
          .Bind(3, std::int64_t{outcome.attempts})
          .Bind(4, outcome.last_error)
          .Bind(5, lease_end)
          .Run();
    }

    // A new job's created_at is the earlier of its due time and the lease's end: both are at or
    // after now while the run is on time, so the earlier is the closer.
    for (const NewJob& next : outcome.enqueue) {
      InsertJob(db, next, std::min(next.due_at, FromEpochMillis(lease_end)));
    }

    if (outcome.wake_order_step) {
      // "Due now" without reading a clock: epoch 0 is before any now, so the next claim takes the
      // step. A step a worker holds stays held; that worker's own outcome sets its next due time.
      Statement update = db.Query(
          "UPDATE jobs SET due_at = 0 WHERE order_id = ?1 AND state = 'queued' "
          "AND kind <> 'junction_event'");
      update.Bind(1, job.order_id).Run();
    }
  });
}

void SqlStore::CheckpointOrder(const Job& job, const model::LabOrder& order_update,
                               std::int64_t expected_order_version) {
  const OrderWrite order_write = PrepareOrderWrite(job, order_update);
  Transact("CheckpointOrder", TransactionKind::kWrite, [&](SqlSession& db) {
    const std::int64_t order_version = LockOrder(db, job.order_id);
    RequireLease(db, job);
    RequireOrderVersion(order_version, expected_order_version);
    const model::OrderBefore before = ReadOrderBefore(db, job.order_id);
    WriteOrder(db, job.order_id, order_write);
    InsertOrderEvents(db, cipher_, before, order_update);
  });
}

void SqlStore::ReleaseJob(const Job& job) {
  if (job.lease_owner.empty()) return;  // never claimed, so nothing to give back
  Transact("ReleaseJob", TransactionKind::kWrite, [&](SqlSession& db) {
    // Another owner's lease, or a finished job, is left alone: this caller no longer holds it.
    Statement update = db.Query(
        "UPDATE jobs SET locked_until = NULL, lease_owner = NULL "
        "WHERE id = ?1 AND state = 'queued' AND lease_owner = ?2");
    update.Bind(1, job.id).Bind(2, job.lease_owner).Run();
  });
}

std::optional<TimePoint> SqlStore::NextJobDue() {
  return Transact(
      "NextJobDue", TransactionKind::kRead, [&](SqlSession& db) -> std::optional<TimePoint> {
        // Two index lookups rather than MIN(COALESCE(...)) over every queued job.
        Statement select = db.Query(
            "SELECT (SELECT MIN(due_at) FROM jobs WHERE state = 'queued' AND locked_until IS "
            "NULL), "
            "(SELECT MIN(locked_until) FROM jobs WHERE state = 'queued')");
        if (!select.Step()) return std::nullopt;
        std::optional<std::int64_t> unleased = select.OptionalInteger(0);
        std::optional<std::int64_t> lease_end = select.OptionalInteger(1);
        if (!unleased && !lease_end) return std::nullopt;
        if (!unleased) return FromEpochMillis(*lease_end);
        if (!lease_end) return FromEpochMillis(*unleased);
        return FromEpochMillis(std::min(*unleased, *lease_end));
      });
}

std::vector<std::pair<std::string, int>> SqlStore::QueuedJobCounts() {
  return Transact("QueuedJobCounts", TransactionKind::kRead, [&](SqlSession& db) {
    std::vector<std::pair<std::string, int>> counts;
    Statement select = db.Query(
        "SELECT kind, COUNT(*) FROM jobs WHERE state = 'queued' GROUP BY kind ORDER BY kind");
    while (select.Step()) counts.emplace_back(select.Text(0), static_cast<int>(select.Integer(1)));
    return counts;
  });
}

bool SqlStore::RecordJunctionWebhook(const std::string& svix_id, TimePoint now, const NewJob& job) {
  return Transact("RecordJunctionWebhook", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement insert = db.Query(
        "INSERT INTO junction_webhooks (svix_id, received_at) VALUES (?1, ?2) "
        "ON CONFLICT (svix_id) DO NOTHING");
    insert.Bind(1, svix_id).Bind(2, EpochMillis(now)).Run();
    if (db.ChangedRows() == 0) return false;  // a redelivery: handled the first time
    InsertJob(db, job, now);
    return true;
  });
}

// ---- brand webhooks ----------------------------------------------------------------------------

void SqlStore::CreateWebhookEndpoint(const WebhookEndpoint& endpoint) {
  const std::string secret =
      cipher_.Encrypt(endpoint.secret, SecretAssociatedData(endpoint.id, "secret"));
  std::optional<std::string> previous;
  if (endpoint.previous_secret) {
    previous = cipher_.Encrypt(*endpoint.previous_secret,
                               SecretAssociatedData(endpoint.id, "previous_secret"));
  }
  std::optional<std::int64_t> expires;
  if (endpoint.previous_secret_expires_at) {
    expires = EpochMillis(*endpoint.previous_secret_expires_at);
  }
  Transact("CreateWebhookEndpoint", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement insert = db.Query(std::string("INSERT INTO webhook_endpoints (") + kEndpointColumns +
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    insert.Bind(1, endpoint.id)
        .Bind(2, endpoint.brand_id)
        .Bind(3, endpoint.url)
        .Bind(4, nlohmann::json(endpoint.event_types).dump())
        .Bind(5, secret)
        .Bind(6, previous)
        .Bind(7, expires)
        .Bind(8, std::int64_t{endpoint.disabled ? 1 : 0})
        .Bind(9, EpochMillis(endpoint.created_at))
        .Run();
  });
}

std::vector<WebhookEndpoint> SqlStore::ListWebhookEndpoints(const std::string& brand_id) {
  return Transact("ListWebhookEndpoints", TransactionKind::kRead, [&](SqlSession& db) {
    Statement select = db.Query(std::string("SELECT ") + kEndpointColumns +
                                " FROM webhook_endpoints WHERE brand_id = ?1 "
                                "ORDER BY created_at, id");
    select.Bind(1, brand_id);
    std::vector<WebhookEndpoint> endpoints;
    while (select.Step()) endpoints.push_back(ReadEndpointRow(select, cipher_));
    return endpoints;
  });
}

bool SqlStore::DeleteWebhookEndpoint(const std::string& brand_id, const std::string& id) {
  return Transact("DeleteWebhookEndpoint", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement select = db.Query("SELECT id FROM webhook_endpoints WHERE id = ?1 AND brand_id = ?2" +
                                std::string(db.ForUpdate()));
    select.Bind(1, id).Bind(2, brand_id);
    if (!select.Step()) return false;
    for (const char* sql : {"DELETE FROM webhook_attempts WHERE delivery_id IN "
                            "(SELECT id FROM webhook_deliveries WHERE endpoint_id = ?1)",
                            "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1",
                            "DELETE FROM webhook_endpoints WHERE id = ?1"}) {
      Statement remove = db.Query(sql);
      remove.Bind(1, id).Run();
    }
    return true;
  });
}

std::vector<WebhookDelivery> SqlStore::ClaimDueDeliveries(TimePoint now, TimePoint lease_until,
                                                          const std::string& owner, int limit) {
  if (owner.empty()) throw std::invalid_argument("ClaimDueDeliveries: owner must not be empty");
  return Transact("ClaimDueDeliveries", TransactionKind::kWrite, [&](SqlSession& db) {
    // Due: its time has come and it is not leased, or its lease ran out (its dispatcher died).
    // Held back while an earlier event of the same order is pending for the same endpoint, so
    // one order's events arrive in order, and at most one of them is in flight at a time.
    std::vector<std::string> ids;
    {
      Statement select = db.Query(
          "SELECT d.id FROM webhook_deliveries d WHERE d.state = 'pending' AND "
          "((d.locked_until IS NULL AND d.next_attempt_at <= ?1) OR d.locked_until <= ?1) "
          "AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id "
          "AND e.disabled = 0) "
          "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id "
          "AND p.order_id = d.order_id AND p.sequence < d.sequence AND p.state = 'pending') "
          "ORDER BY d.next_attempt_at, d.id LIMIT ?2" +
          std::string(db.ForUpdateSkipLocked()));
      select.Bind(1, EpochMillis(now)).Bind(2, std::int64_t{limit});
      while (select.Step()) ids.push_back(select.Text(0));
    }
    std::vector<WebhookDelivery> deliveries;
    for (const std::string& id : ids) {
      Statement update = db.Query(
          "UPDATE webhook_deliveries SET locked_until = ?2, lease_owner = ?3, updated_at = ?4 "
          "WHERE id = ?1");
      update.Bind(1, id).Bind(2, EpochMillis(lease_until)).Bind(3, owner).Bind(4, EpochMillis(now));
      update.Run();
      Statement select = db.Query(
          std::string("SELECT d.id, d.event_id, v.type, d.order_id, v.payload, d.attempts, ") +
          "d.schedule_from, e.id, e.brand_id, e.url, e.event_types, e.secret, "
          "e.previous_secret, e.previous_secret_expires_at, e.disabled, e.created_at "
          "FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id "
          "JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?1");
      select.Bind(1, id);
      if (!select.Step()) continue;
      WebhookDelivery delivery;
      delivery.id = select.Text(0);
      delivery.event_id = select.Text(1);
      delivery.event_type = select.Text(2);
      delivery.order_id = select.Text(3);
      delivery.payload = select.Text(4);
      delivery.attempts = static_cast<int>(select.Integer(5));
      delivery.scheduled_attempts = delivery.attempts - static_cast<int>(select.Integer(6));
      delivery.endpoint = ReadEndpointRow(select, cipher_, 7);
      delivery.lease_owner = owner;
      deliveries.push_back(std::move(delivery));
    }
    return deliveries;
  });
}

void SqlStore::FinishDeliveryAttempt(const WebhookDelivery& delivery,
                                     const DeliveryOutcome& outcome) {
  using Next = DeliveryOutcome::Next;
  Transact("FinishDeliveryAttempt", TransactionKind::kWrite, [&](SqlSession& db) {
    {
      Statement select = db.Query(
          "SELECT attempts FROM webhook_deliveries WHERE id = ?1 AND state = 'pending' "
          "AND lease_owner = ?2" +
          std::string(db.ForUpdate()));
      select.Bind(1, delivery.id).Bind(2, delivery.lease_owner);
      if (delivery.lease_owner.empty() || !select.Step()) {
        throw LeaseLost("store: the delivery's lease was lost");
      }
    }
    const std::int64_t attempt = delivery.attempts + 1;
    // A variant rather than an optional: GCC 12 warns of an optional<int64_t> read here.
    const SqlValue status =
        outcome.status ? SqlValue(std::int64_t{*outcome.status}) : SqlValue(std::monostate{});
    const std::optional<std::string> error =
        outcome.error.empty() ? std::nullopt : std::optional<std::string>(outcome.error);
    Statement insert = db.Query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status, latency_ms, "
        "error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    insert.Bind(1, delivery.id)
        .Bind(2, attempt)
        .Bind(3, EpochMillis(outcome.attempted_at))
        .Bind(4, status)
        .Bind(5, outcome.latency_ms)
        .Bind(6, error)
        .Run();

    const char* state = "pending";
    if (outcome.next == Next::kDelivered) state = "delivered";
    if (outcome.next == Next::kGiveUp || outcome.next == Next::kDisableEndpoint) state = "failed";
    const TimePoint next_attempt_at =
        outcome.next == Next::kRetry ? outcome.retry_at : outcome.attempted_at;
    Statement update = db.Query(
        "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, "
        "locked_until = NULL, lease_owner = NULL, last_status = ?5, last_latency_ms = ?6, "
        "last_error = ?7, updated_at = ?8 WHERE id = ?1");
    update.Bind(1, delivery.id)
        .Bind(2, std::string(state))
        .Bind(3, attempt)
        .Bind(4, EpochMillis(next_attempt_at))
        .Bind(5, status)
        .Bind(6, outcome.latency_ms)
        .Bind(7, error)
        .Bind(8, EpochMillis(outcome.attempted_at))
        .Run();
    if (outcome.next == Next::kDisableEndpoint) {
      Statement disable = db.Query("UPDATE webhook_endpoints SET disabled = 1 WHERE id = ?1");
      disable.Bind(1, delivery.endpoint.id).Run();
    }
  });
}

std::optional<WebhookEndpoint> SqlStore::RotateWebhookSecret(const std::string& brand_id,
                                                             const std::string& id,
                                                             const std::string& secret,
                                                             TimePoint previous_expires_at) {
  return Transact("RotateWebhookSecret", TransactionKind::kWrite,
                  [&](SqlSession& db) -> std::optional<WebhookEndpoint> {
                    Statement select =
                        db.Query(std::string("SELECT ") + kEndpointColumns +
                                 " FROM webhook_endpoints WHERE id = ?1 AND brand_id = ?2" +
                                 std::string(db.ForUpdate()));
                    select.Bind(1, id).Bind(2, brand_id);
                    if (!select.Step()) return std::nullopt;
                    WebhookEndpoint endpoint = ReadEndpointRow(select, cipher_);
                    endpoint.previous_secret = endpoint.secret;
                    endpoint.previous_secret_expires_at = previous_expires_at;
                    endpoint.secret = secret;
                    Statement update = db.Query(
                        "UPDATE webhook_endpoints SET secret = ?2, previous_secret = ?3, "
                        "previous_secret_expires_at = ?4 WHERE id = ?1");
                    update.Bind(1, id)
                        .Bind(2, cipher_.Encrypt(secret, SecretAssociatedData(id, "secret")))
                        .Bind(3, cipher_.Encrypt(*endpoint.previous_secret,
                                                 SecretAssociatedData(id, "previous_secret")))
                        .Bind(4, EpochMillis(previous_expires_at))
                        .Run();
                    return endpoint;
                  });
}

std::optional<std::vector<WebhookDeliveryRecord>> SqlStore::ListWebhookDeliveries(
    const std::string& brand_id, const std::string& endpoint_id, int limit,
    const std::optional<std::string>& cursor) {
  if (limit < 1) throw std::invalid_argument("ListWebhookDeliveries: limit must be at least 1");
  return Transact(
      "ListWebhookDeliveries", TransactionKind::kRead,
      [&](SqlSession& db) -> std::optional<std::vector<WebhookDeliveryRecord>> {
        {
          Statement select =
              db.Query("SELECT id FROM webhook_endpoints WHERE id = ?1 AND brand_id = ?2");
          select.Bind(1, endpoint_id).Bind(2, brand_id);
          if (!select.Step()) return std::nullopt;
        }
        std::vector<WebhookDeliveryRecord> page;
        // Keyset pagination on (created_at, sequence, id), as ListOrders; the cursor names a
        // delivery of this endpoint, else there is nothing after it. No cursor: after every one.
        constexpr std::int64_t kAfterAll = std::numeric_limits<std::int64_t>::max();
        std::int64_t after_created_at = kAfterAll;
        std::int64_t after_sequence = kAfterAll;
        std::string after_id;
        if (cursor) {
          Statement select = db.Query(
              "SELECT created_at, sequence, id FROM webhook_deliveries WHERE id = ?1 AND "
              "endpoint_id = ?2");
          select.Bind(1, *cursor).Bind(2, endpoint_id);
          if (!select.Step()) return page;
          after_created_at = select.Integer(0);
          after_sequence = select.Integer(1);
          after_id = select.Text(2);
        }
        // Events of one change share their time: the order's sequence puts them in order.
        Statement select =
            db.Query(std::string("SELECT ") + kDeliveryRecordColumns +
                     " FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id "
                     "WHERE d.endpoint_id = ?1 AND (d.created_at, d.sequence, d.id) < (?2, ?3, ?4) "
                     "ORDER BY d.created_at DESC, d.sequence DESC, d.id DESC LIMIT ?5");
        select.Bind(1, endpoint_id)
            .Bind(2, after_created_at)
            .Bind(3, after_sequence)
            .Bind(4, after_id)
            .Bind(5, std::int64_t{limit});
        std::vector<std::string> ids;
        while (select.Step()) ids.push_back(select.Text(0));
        for (const std::string& id : ids) {
          if (auto record = FindDeliveryRecord(db, brand_id, id)) page.push_back(*record);
        }
        return page;
      });
}

std::optional<WebhookDeliveryRecord> SqlStore::ResendWebhookDelivery(const std::string& brand_id,
                                                                     const std::string& id,
                                                                     TimePoint now) {
  return Transact(
      "ResendWebhookDelivery", TransactionKind::kWrite,
      [&](SqlSession& db) -> std::optional<WebhookDeliveryRecord> {
        Statement select = db.Query(
            "SELECT d.endpoint_id FROM webhook_deliveries d JOIN webhook_endpoints e "
            "ON e.id = d.endpoint_id WHERE d.id = ?1 AND e.brand_id = ?2" +
            std::string(db.ForUpdate()));
        select.Bind(1, id).Bind(2, brand_id);
        if (!select.Step()) return std::nullopt;
        const std::string endpoint_id = select.Text(0);
        // A lease in flight is left alone: its attempt finishes and records what it got.
        Statement update = db.Query(
            "UPDATE webhook_deliveries SET state = 'pending', schedule_from = attempts, "
            "next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1");
        update.Bind(1, id).Bind(2, EpochMillis(now)).Run();
        Statement enable = db.Query("UPDATE webhook_endpoints SET disabled = 0 WHERE id = ?1");
        enable.Bind(1, endpoint_id).Run();
        return FindDeliveryRecord(db, brand_id, id);
      });
}

int SqlStore::ReleaseAllLeases() {
  return Transact("ReleaseAllLeases", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update =
        db.Query("UPDATE idempotency_keys SET locked_until = NULL WHERE locked_until IS NOT NULL");
    update.Run();
    return db.ChangedRows();
  });
}

int SqlStore::ReleaseAllJobLeases() {
  return Transact("ReleaseAllJobLeases", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE jobs SET locked_until = NULL, lease_owner = NULL "
        "WHERE state = 'queued' AND locked_until IS NOT NULL");
    update.Run();
    return db.ChangedRows();
  });
}

int SqlStore::ReleaseAllDeliveryLeases() {
  return Transact("ReleaseAllDeliveryLeases", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE webhook_deliveries SET locked_until = NULL, lease_owner = NULL "
        "WHERE state = 'pending' AND locked_until IS NOT NULL");
    update.Run();
    return db.ChangedRows();
  });
}

}  // namespace lab_orders::store
