#include "lab_orders/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lab_orders/common/clock.h"

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
};

constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

constexpr const char* kOrderColumns =
    "id, brand_id, user_id, patient_id, panel_slug, status, total_cents, currency, "
    "junction_user_id, junction_order_id, created_at, updated_at, completed_at, phi, workflow, "
    "version";

constexpr const char* kKeyColumns =
    "brand_id, key, fingerprint, recovery_point, order_id, response_status, response_body, "
    "created_at";
constexpr int kKeyColumnCount = 8;  // the columns in kKeyColumns

constexpr const char* kJobColumns =
    "id, kind, order_id, payload, attempts, due_at, created_at, lease_owner";

// Job states ('queued', 'done') and the one kind that is not a step (kJobJunctionEvent) are
// literals in the SQL below: a partial index is used only when the query repeats its text.

// ---- errors ------------------------------------------------------------------------------------

bool MeansUnavailable(int code) {
  switch (code & 0xFF) {  // the primary code of an extended one
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOLFS:
      return true;
    default:
      return false;
  }
}

// The message names the operation and SQLite's generic text for the code. It never carries
// sqlite3_errmsg(), bound values or the key: only sqlite3_errstr(), which depends on the code
// alone.
[[noreturn]] void ThrowSqliteError(int code, std::string_view operation) {
  std::string message = "store: " + std::string(operation) + ": " + sqlite3_errstr(code) +
                        " (sqlite code " + std::to_string(code) + ")";
  if (MeansUnavailable(code)) throw StoreUnavailable(message);
  // A constraint broken here means a caller broke the store's contract (e.g. a duplicate order id).
  if ((code & 0xFF) == SQLITE_CONSTRAINT) throw std::logic_error(message);
  throw std::runtime_error(message);
}

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
std::string PhiDocument(const orders::LabOrder& order) {
  const orders::Patient& patient = order.patient;
  const orders::Address& address = order.address;
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

void ReadPhiDocument(const std::string& text, orders::LabOrder* order) {
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
std::string WorkflowDocument(const orders::WorkflowState& state) {
  nlohmann::json appointment = nullptr;
  if (state.appointment) {
    const orders::AppointmentView& view = *state.appointment;
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

orders::WorkflowState ReadWorkflowDocument(const std::string& text) {
  try {
    nlohmann::json document = nlohmann::json::parse(text);
    if (!document.is_object()) throw std::runtime_error("store: the order's workflow is malformed");
    orders::WorkflowState state;
    state.junction_status = FieldOr<std::string>(document, "junction_status", "");
    state.junction_event_id = FieldOr<std::int64_t>(document, "junction_event_id", 0);
    if (auto found = document.find("appointment"); found != document.end() && !found->is_null()) {
      if (!found->is_object()) {
        throw std::runtime_error("store: the order's workflow is malformed");
      }
      orders::AppointmentView view;
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

// ---- connection --------------------------------------------------------------------------------

namespace {

// A cached prepared statement on loan for one use; it is reset when the loan ends, so a throw in
// the middle never leaves it holding a read or stale bindings.
class Statement {
 public:
  Statement(sqlite3_stmt* statement, std::string_view operation)
      : statement_(statement), operation_(operation) {}
  ~Statement() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, std::string_view text) {
    // SQLITE_TRANSIENT: SQLite copies, so the caller's string may die before the step.
    Check(sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8));
    return *this;
  }
  Statement& Bind(int index, const std::string& text) {
    return Bind(index, std::string_view(text));
  }
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, std::int64_t number) {
    Check(sqlite3_bind_int64(statement_, index, number));
    return *this;
  }
  Statement& BindNull(int index) {
    Check(sqlite3_bind_null(statement_, index));
    return *this;
  }
  Statement& Bind(int index, const std::optional<std::string>& text) {
    return text ? Bind(index, std::string_view(*text)) : BindNull(index);
  }
  Statement& Bind(int index, const std::optional<std::int64_t>& number) {
    return number ? Bind(index, *number) : BindNull(index);
  }

  // True while there is a row to read.
  bool Step() {
    int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    ThrowSqliteError(code, operation_);
  }
  // For statements that return no rows.
  void Run() {
    while (Step()) {
    }
  }

  bool IsNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::string Text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    if (text == nullptr) return {};
    return std::string(text, sqlite3_column_bytes(statement_, column));
  }
  std::optional<std::string> OptionalText(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Text(column);
  }
  std::int64_t Integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::optional<std::int64_t> OptionalInteger(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Integer(column);
  }

 private:
  void Check(int code) {
    if (code != SQLITE_OK) ThrowSqliteError(code, operation_);
  }

  sqlite3_stmt* statement_;
  std::string_view operation_;
};

enum class TransactionKind {
  kRead,   // BEGIN: in WAL mode readers never wait for writers
  kWrite,  // BEGIN IMMEDIATE: take the write lock first, so read-then-write cannot be raced
};

}  // namespace

class SqliteStore::Connection {
 public:
  Connection(const std::string& path, std::chrono::milliseconds busy_timeout) {
    operation_ = "open";
    int code = sqlite3_open_v2(path.c_str(), &db_,
                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                               nullptr);
    if (code != SQLITE_OK) {
      sqlite3_close_v2(db_);  // a handle is returned even on failure
      db_ = nullptr;
      ThrowSqliteError(code, operation_);
    }
    try {
      sqlite3_extended_result_codes(db_, 1);
      // Wait this long for another connection's write lock before answering "unavailable".
      Check(sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count())));
      // WAL: readers and the one writer do not block each other, and commits append rather than
      // rewrite pages. The mode is stored in the file; the answer says what mode we got.
      {
        Statement journal_mode(Prepare("PRAGMA journal_mode=WAL"), operation_);
        std::string mode = journal_mode.Step() ? journal_mode.Text(0) : "";
        if (mode != "wal" && mode != "memory") {
          throw StoreUnavailable("store: open: the database cannot use WAL mode");
        }
      }
      // FULL, not NORMAL: with NORMAL a WAL commit is durable only at the next checkpoint, so a
      // power loss can undo a commit we already acted on. Here a commit is followed by a call to
      // Junction (the order id it records derives Junction's idempotency key); losing it would let
      // a retry create a second Junction order. One fsync per commit is cheap next to that call.
      // (NORMAL would still never corrupt the file: the trade is durability only.)
      Exec("PRAGMA synchronous=FULL");
      Exec("PRAGMA foreign_keys=ON");
    } catch (...) {
      Close();
      throw;
    }
  }

  ~Connection() { Close(); }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs body inside one transaction; any throw rolls it back and propagates.
  template <typename Body>
  auto Transaction(const char* operation, TransactionKind kind, Body&& body) -> decltype(body()) {
    operation_ = operation;
    Exec(kind == TransactionKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
    try {
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        Exec("COMMIT");
      } else {
        auto result = body();
        Exec("COMMIT");
        return result;
      }
    } catch (...) {
      RollbackQuietly();
      throw;
    }
  }

  // A cached statement; sql is constant text, values go in through Bind.
  Statement Query(const std::string& sql) { return Statement(Prepare(sql), operation_); }

  // Constant SQL without values (transaction control, pragmas, DDL).
  void Exec(const char* sql) { Check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr)); }

  int ChangedRows() const { return sqlite3_changes(db_); }

 private:
  sqlite3_stmt* Prepare(const std::string& sql) {
    auto cached = statements_.find(sql);
    if (cached != statements_.end()) return cached->second;
    sqlite3_stmt* statement = nullptr;
    int code = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                  SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (code != SQLITE_OK) {
      sqlite3_finalize(statement);
      ThrowSqliteError(code, operation_);
    }
    statements_.emplace(sql, statement);
    return statement;
  }

  void Check(int code) {
    if (code != SQLITE_OK) ThrowSqliteError(code, operation_);
  }

  void RollbackQuietly() {
    // A failed COMMIT or statement can already have ended the transaction.
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  void Close() {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    statements_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  const char* operation_ = "";  // names the public method in error messages
};

// ---- the store ---------------------------------------------------------------------------------

namespace {

struct KeyState {
  RecoveryPoint recovery_point;
  std::optional<std::string> order_id;
};

// Reads (brand_id, key) for a phase that moves the recovery point to target. Recovery points only
// move forward: a phase for a missing key, a finished key or a key already past the phase is a bug
// in the caller, and committing it could lose track of a Junction order.
template <typename Connection>
KeyState LoadKeyForPhase(Connection& connection, const std::string& brand_id,
                         const std::string& key, RecoveryPoint target) {
  Statement select = connection.Query(
      "SELECT recovery_point, order_id FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2");
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

template <typename Connection>
void InsertJob(Connection& connection, const NewJob& job, TimePoint created_at) {
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

template <typename Connection>
void LeaseJob(Connection& connection, const std::string& job_id, TimePoint now,
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

OrderWrite PrepareOrderWrite(const Job& job, const orders::LabOrder& order) {
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
template <typename Connection>
std::int64_t RequireLease(Connection& connection, const Job& job) {
  Statement select = connection.Query(
      "SELECT locked_until FROM jobs WHERE id = ?1 AND state = 'queued' AND lease_owner = ?2 "
      "AND locked_until IS NOT NULL");
  select.Bind(1, job.id).Bind(2, job.lease_owner);
  if (job.lease_owner.empty() || !select.Step()) {
    throw LeaseLost("store: the job's lease was lost");
  }
  return select.Integer(0);
}

template <typename Connection>
void RequireOrderVersion(Connection& connection, const std::string& order_id,
                         std::int64_t expected_version) {
  Statement select = connection.Query("SELECT version FROM lab_orders WHERE id = ?1");
  select.Bind(1, order_id);
  if (!select.Step()) throw std::logic_error("store: no such order");
  if (select.Integer(0) != expected_version) {
    throw VersionConflict("store: the order changed during the job's run");
  }
}

template <typename Connection>
void WriteOrder(Connection& connection, const std::string& order_id, const OrderWrite& write) {
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

template <typename Connection>
void MoveRecoveryPoint(Connection& connection, const std::string& brand_id, const std::string& key,
                       RecoveryPoint point) {
  Statement update = connection.Query(
      "UPDATE idempotency_keys SET recovery_point = ?3 WHERE brand_id = ?1 AND key = ?2");
  update.Bind(1, brand_id).Bind(2, key).Bind(3, RecoveryPointName(point)).Run();
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, PhiCipher cipher,
                         std::chrono::milliseconds busy_timeout)
    : connection_(std::make_unique<Connection>(path, busy_timeout)), cipher_(std::move(cipher)) {}

SqliteStore::~SqliteStore() = default;

void SqliteStore::Migrate() {
  std::lock_guard lock(mutex_);
  connection_->Transaction("Migrate", TransactionKind::kWrite, [&] {
    connection_->Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
    std::set<int> applied;
    {
      Statement select = connection_->Query("SELECT version FROM schema_migrations");
      while (select.Step()) applied.insert(static_cast<int>(select.Integer(0)));
    }
    // Migrations have no Clock to ask; when they ran is for operators only.
    const std::string applied_at = FormatRfc3339(system_clock::now());
    for (const Migration& migration : kMigrations) {
      if (applied.contains(migration.version)) continue;
      connection_->Exec(migration.sql);
      Statement insert =
          connection_->Query("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)");
      insert.Bind(1, std::int64_t{migration.version}).Bind(2, applied_at).Run();
    }
  });
}

bool SqliteStore::Ready() {
  std::lock_guard lock(mutex_);
  try {
    return connection_->Transaction("Ready", TransactionKind::kRead, [&] {
      Statement count =
          connection_->Query("SELECT COUNT(*) FROM schema_migrations WHERE version <= ?1");
      count.Bind(1, std::int64_t{kLatestVersion});
      return count.Step() && count.Integer(0) == static_cast<std::int64_t>(std::size(kMigrations));
    });
  } catch (const std::exception&) {
    return false;  // no schema_migrations table yet, or the database does not answer
  }
}

Claim SqliteStore::ClaimKey(const std::string& brand_id, const std::string& key,
                            const std::string& fingerprint, TimePoint now, TimePoint lease_until) {
  std::lock_guard lock(mutex_);
  return connection_->Transaction("ClaimKey", TransactionKind::kWrite, [&] {
    struct StoredKey {
      IdempotencyRecord record;
      std::optional<std::int64_t> locked_until;
    };
    auto load = [&]() -> std::optional<StoredKey> {
      Statement select = connection_->Query(
          std::string("SELECT ") + kKeyColumns +
          ", locked_until FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2");
      select.Bind(1, brand_id).Bind(2, key);
      if (!select.Step()) return std::nullopt;
      return StoredKey{ReadKeyRow(select, cipher_), select.OptionalInteger(kKeyColumnCount)};
    };

    std::optional<StoredKey> stored = load();
    if (!stored) {
      Statement insert = connection_->Query(
          "INSERT INTO idempotency_keys "
          "(brand_id, key, fingerprint, recovery_point, locked_until, created_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      insert.Bind(1, brand_id)
          .Bind(2, key)
          .Bind(3, fingerprint)
          .Bind(4, RecoveryPointName(RecoveryPoint::kStarted))
          .Bind(5, EpochMillis(lease_until))
          .Bind(6, EpochMillis(now))
          .Run();
      return Claim{ClaimResult::kNew, load()->record};
    }
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
    Statement update = connection_->Query(
        "UPDATE idempotency_keys SET locked_until = ?3 WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, brand_id).Bind(2, key).Bind(3, EpochMillis(lease_until)).Run();
    return Claim{ClaimResult::kResumed, stored->record};
  });
}

void SqliteStore::ReleaseKey(const std::string& brand_id, const std::string& key) {
  std::lock_guard lock(mutex_);
  // A missing key is not an error here: this runs on failure paths, where a throw would hide the
  // failure being reported.
  connection_->Transaction("ReleaseKey", TransactionKind::kWrite, [&] {
    Statement update = connection_->Query(
        "UPDATE idempotency_keys SET locked_until = NULL WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, brand_id).Bind(2, key).Run();
  });
}

void SqliteStore::RecordOrder(const std::string& key, const orders::LabOrder& order) {
  // Everything that can fail without the database is done before the transaction starts.
  const std::string created_at = CanonicalTimestamp(order.created_at, "created_at");
  const std::string updated_at = CanonicalTimestamp(order.updated_at, "updated_at");
  const std::optional<std::string> completed_at =
      CanonicalTimestamp(order.completed_at, "completed_at");
  const std::string sealed_phi = cipher_.Encrypt(PhiDocument(order), PhiAssociatedData(order.id));
  const std::string workflow = WorkflowDocument(order.workflow);

  std::lock_guard lock(mutex_);
  connection_->Transaction("RecordOrder", TransactionKind::kWrite, [&] {
    KeyState state =
        LoadKeyForPhase(*connection_, order.brand_id, key, RecoveryPoint::kOrderRecorded);
    // One key, one order: a second one would be a second Junction order on the next phase.
    if (state.order_id) throw std::logic_error("store: the idempotency key already has an order");

    Statement insert = connection_->Query(
        "INSERT INTO lab_orders (id, brand_id, user_id, patient_id, panel_slug, status, "
        "total_cents, currency, junction_user_id, junction_order_id, created_at, updated_at, "
        "completed_at, phi, workflow, version) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
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
        .Run();

    Statement update = connection_->Query(
        "UPDATE idempotency_keys SET order_id = ?3, recovery_point = ?4 "
        "WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, order.brand_id)
        .Bind(2, key)
        .Bind(3, order.id)
        .Bind(4, RecoveryPointName(RecoveryPoint::kOrderRecorded))
        .Run();
  });
}

void SqliteStore::SaveJunctionUser(const std::string& brand_id, const std::string& key,
                                   const std::string& order_id, const std::string& client_user_id,
                                   const std::string& junction_user_id, TimePoint now) {
  const std::string timestamp = FormatRfc3339(now);
  std::lock_guard lock(mutex_);
  connection_->Transaction("SaveJunctionUser", TransactionKind::kWrite, [&] {
    KeyState state = LoadKeyForPhase(*connection_, brand_id, key, RecoveryPoint::kUserEnsured);
    RequireKeyOwnsOrder(state, order_id);

    Statement upsert = connection_->Query(
        "INSERT INTO junction_users (client_user_id, junction_user_id, created_at) "
        "VALUES (?1, ?2, ?3) "
        "ON CONFLICT (client_user_id) DO UPDATE SET junction_user_id = excluded.junction_user_id");
    upsert.Bind(1, client_user_id).Bind(2, junction_user_id).Bind(3, timestamp).Run();

    Statement update = connection_->Query(
        "UPDATE lab_orders SET junction_user_id = ?3, updated_at = ?4, version = version + 1 "
        "WHERE id = ?1 AND brand_id = ?2");
    update.Bind(1, order_id).Bind(2, brand_id).Bind(3, junction_user_id).Bind(4, timestamp).Run();
    if (connection_->ChangedRows() != 1) throw std::logic_error("store: no such order");

    MoveRecoveryPoint(*connection_, brand_id, key, RecoveryPoint::kUserEnsured);
  });
}

void SqliteStore::SaveJunctionOrder(const std::string& brand_id, const std::string& key,
                                    const std::string& order_id,
                                    const std::string& junction_order_id, const std::string& status,
                                    TimePoint now, const NewJob& first_step) {
  if (first_step.order_id != order_id) {
    throw std::logic_error("store: the first step belongs to another order");
  }
  const std::string timestamp = FormatRfc3339(now);
  std::lock_guard lock(mutex_);
  connection_->Transaction("SaveJunctionOrder", TransactionKind::kWrite, [&] {
    KeyState state =
        LoadKeyForPhase(*connection_, brand_id, key, RecoveryPoint::kJunctionOrderCreated);
    RequireKeyOwnsOrder(state, order_id);
    if (state.recovery_point == RecoveryPoint::kJunctionOrderCreated) {
      // A repeat of this phase: it committed once, with the first step, and since then the order
      // and its jobs belong to the workflow. Writing again would queue a second workflow or
      // restart an ended one, and could put back a status the workflow moved on from.
      Statement select =
          connection_->Query("SELECT junction_order_id FROM lab_orders WHERE id = ?1");
      select.Bind(1, order_id);
      if (!select.Step() || select.OptionalText(0) != junction_order_id) {
        throw std::logic_error("store: the order already has another Junction order");
      }
      return;
    }

    Statement update = connection_->Query(
        "UPDATE lab_orders SET junction_order_id = ?3, status = ?4, updated_at = ?5, "
        "version = version + 1 WHERE id = ?1 AND brand_id = ?2");
    update.Bind(1, order_id)
        .Bind(2, brand_id)
        .Bind(3, junction_order_id)
        .Bind(4, status)
        .Bind(5, timestamp)
        .Run();
    if (connection_->ChangedRows() != 1) throw std::logic_error("store: no such order");
    InsertJob(*connection_, first_step, now);

    MoveRecoveryPoint(*connection_, brand_id, key, RecoveryPoint::kJunctionOrderCreated);
  });
}

void SqliteStore::FinishKey(const std::string& brand_id, const std::string& key, int status,
                            const std::string& body) {
  // The body is sealed too: the store cannot know what a response carries.
  const std::string sealed_body = cipher_.Encrypt(body, ResponseAssociatedData(brand_id, key));
  std::lock_guard lock(mutex_);
  connection_->Transaction("FinishKey", TransactionKind::kWrite, [&] {
    Statement select = connection_->Query(
        "SELECT recovery_point FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2");
    select.Bind(1, brand_id).Bind(2, key);
    if (!select.Step()) throw std::logic_error("store: no such idempotency key");
    // The first answer wins: a replay must never change, and a late second finisher (a request
    // that outlived its lease while the completer finished it) has nothing left to do.
    if (ParseRecoveryPoint(select.Text(0)) == RecoveryPoint::kFinished) return;

    Statement update = connection_->Query(
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

std::optional<std::string> SqliteStore::FindJunctionUser(const std::string& client_user_id) {
  std::lock_guard lock(mutex_);
  return connection_->Transaction(
      "FindJunctionUser", TransactionKind::kRead, [&]() -> std::optional<std::string> {
        Statement select = connection_->Query(
            "SELECT junction_user_id FROM junction_users WHERE client_user_id = ?1");
        select.Bind(1, client_user_id);
        if (!select.Step()) return std::nullopt;
        return select.Text(0);
      });
}

namespace {

orders::LabOrder ReadOrderRow(const Statement& row, const PhiCipher& cipher) {
  orders::LabOrder order;
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
  return order;
}

}  // namespace

std::optional<orders::LabOrder> SqliteStore::GetOrder(const std::string& brand_id,
                                                      const std::string& order_id) {
  std::lock_guard lock(mutex_);
  return connection_->Transaction(
      "GetOrder", TransactionKind::kRead, [&]() -> std::optional<orders::LabOrder> {
        Statement select = connection_->Query(std::string("SELECT ") + kOrderColumns +
                                              " FROM lab_orders WHERE id = ?1 AND brand_id = ?2");
        select.Bind(1, order_id).Bind(2, brand_id);
        if (!select.Step()) return std::nullopt;
        return ReadOrderRow(select, cipher_);
      });
}

std::vector<orders::LabOrder> SqliteStore::ListOrders(const std::string& brand_id,
                                                      const std::optional<std::string>& status,
                                                      int limit,
                                                      const std::optional<std::string>& cursor) {
  if (limit < 1) throw std::invalid_argument("ListOrders: limit must be at least 1");
  std::lock_guard lock(mutex_);
  return connection_->Transaction("ListOrders", TransactionKind::kRead, [&] {
    std::vector<orders::LabOrder> page;
    std::optional<std::pair<std::string, std::string>> after;  // (created_at, id) of the cursor
    if (cursor) {
      Statement select = connection_->Query(
          "SELECT created_at, id FROM lab_orders WHERE id = ?1 AND brand_id = ?2");
      select.Bind(1, *cursor).Bind(2, brand_id);
      // Unknown here (or another brand's id): there is no "after" to continue from.
      if (!select.Step()) return page;
      after.emplace(select.Text(0), select.Text(1));
    }
    // Four constant variants, chosen by which filters are present; every value is bound. Keyset
    // pagination on (created_at, id): pages stay stable while new orders arrive and each page is
    // an index range scan, however deep.
    std::string sql =
        std::string("SELECT ") + kOrderColumns + " FROM lab_orders WHERE brand_id = ?1";
    if (status) sql += " AND status = ?2";
    if (after) sql += " AND (created_at, id) < (?3, ?4)";
    sql += " ORDER BY created_at DESC, id DESC LIMIT ?5";

    Statement select = connection_->Query(sql);
    select.Bind(1, brand_id).Bind(5, std::int64_t{limit});
    if (status) select.Bind(2, *status);
    if (after) select.Bind(3, after->first).Bind(4, after->second);
    while (select.Step()) page.push_back(ReadOrderRow(select, cipher_));
    return page;
  });
}

std::optional<orders::LabOrder> SqliteStore::GetOrderById(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  return connection_->Transaction(
      "GetOrderById", TransactionKind::kRead, [&]() -> std::optional<orders::LabOrder> {
        Statement select = connection_->Query(std::string("SELECT ") + kOrderColumns +
                                              " FROM lab_orders WHERE id = ?1");
        select.Bind(1, order_id);
        if (!select.Step()) return std::nullopt;
        return ReadOrderRow(select, cipher_);
      });
}

std::optional<orders::LabOrder> SqliteStore::FindOrderByJunctionId(
    const std::string& junction_order_id) {
  std::lock_guard lock(mutex_);
  return connection_->Transaction(
      "FindOrderByJunctionId", TransactionKind::kRead, [&]() -> std::optional<orders::LabOrder> {
        // One Junction order per order; the ordering only makes a broken invariant deterministic.
        Statement select = connection_->Query(
            std::string("SELECT ") + kOrderColumns +
            " FROM lab_orders WHERE junction_order_id = ?1 ORDER BY created_at, id LIMIT 1");
        select.Bind(1, junction_order_id);
        if (!select.Step()) return std::nullopt;
        return ReadOrderRow(select, cipher_);
      });
}

int SqliteStore::ReapKeys(TimePoint created_before) {
  std::lock_guard lock(mutex_);
  return connection_->Transaction("ReapKeys", TransactionKind::kWrite, [&] {
    const std::int64_t cutoff = EpochMillis(created_before);
    Statement remove_keys =
        connection_->Query("DELETE FROM idempotency_keys WHERE created_at < ?1");
    remove_keys.Bind(1, cutoff).Run();
    const int reaped = connection_->ChangedRows();
    // Past the cutoff Junction no longer retries a webhook, so its receipt has nothing to dedupe.
    Statement remove_webhooks =
        connection_->Query("DELETE FROM junction_webhooks WHERE received_at < ?1");
    remove_webhooks.Bind(1, cutoff).Run();
    Statement remove_jobs =
        connection_->Query("DELETE FROM jobs WHERE state = 'done' AND updated_at < ?1");
    remove_jobs.Bind(1, cutoff).Run();
    return reaped;
  });
}

std::vector<IdempotencyRecord> SqliteStore::ClaimStaleKeys(TimePoint created_before, TimePoint now,
                                                           TimePoint lease_until, int limit) {
  if (limit < 1) throw std::invalid_argument("ClaimStaleKeys: limit must be at least 1");
  std::lock_guard lock(mutex_);
  return connection_->Transaction("ClaimStaleKeys", TransactionKind::kWrite, [&] {
    std::vector<IdempotencyRecord> records;
    {
      // The recovery point names are RecoveryPointName's, literal to match the partial index.
      Statement select = connection_->Query(
          std::string("SELECT ") + kKeyColumns +
          " FROM idempotency_keys WHERE recovery_point <> 'finished' "
          "AND recovery_point <> 'started' AND order_id IS NOT NULL AND created_at < ?1 "
          "AND (locked_until IS NULL OR locked_until <= ?2) "
          "ORDER BY created_at, brand_id, key LIMIT ?3");
      select.Bind(1, EpochMillis(created_before))
          .Bind(2, EpochMillis(now))
          .Bind(3, std::int64_t{limit});
      while (select.Step()) records.push_back(ReadKeyRow(select, cipher_));
    }
    for (const IdempotencyRecord& record : records) {
      Statement update = connection_->Query(
          "UPDATE idempotency_keys SET locked_until = ?3 WHERE brand_id = ?1 AND key = ?2");
      update.Bind(1, record.brand_id).Bind(2, record.key).Bind(3, EpochMillis(lease_until)).Run();
    }
    return records;
  });
}

// ---- jobs
// ----------------------------------------------------------------------------------------

std::vector<Job> SqliteStore::ClaimDueJobs(TimePoint now, TimePoint lease_until,
                                           const std::string& owner, int limit) {
  if (limit < 1) throw std::invalid_argument("ClaimDueJobs: limit must be at least 1");
  // An empty owner could not be told apart from "no owner" when the run completes.
  if (owner.empty()) throw std::invalid_argument("ClaimDueJobs: owner must not be empty");
  std::lock_guard lock(mutex_);
  // A write transaction from the start: the rows read are leased before any other claimer, in
  // this process or another, can read them.
  return connection_->Transaction("ClaimDueJobs", TransactionKind::kWrite, [&] {
    std::vector<Job> jobs;
    {
      // Due: not leased and due_at passed, or leased and the lease ran out (its worker died),
      // whatever its due_at. One branch each, so each is an index range that stops at the limit,
      // rather than a scan of every queued job (most wait hours) on every poll.
      const std::string columns = kJobColumns;
      Statement select = connection_->Query(
          "SELECT " + columns + " FROM (SELECT " + columns +
          " FROM jobs WHERE state = 'queued' AND locked_until IS NULL AND due_at <= ?1 "
          "ORDER BY due_at, id LIMIT ?2) AS waiting "
          "UNION ALL SELECT " +
          columns + " FROM (SELECT " + columns +
          " FROM jobs WHERE state = 'queued' AND locked_until <= ?1 "
          "ORDER BY due_at, id LIMIT ?2) AS abandoned "
          "ORDER BY due_at, id LIMIT ?2");
      select.Bind(1, EpochMillis(now)).Bind(2, std::int64_t{limit});
      while (select.Step()) jobs.push_back(ReadJobRow(select));
    }
    for (Job& job : jobs) {
      LeaseJob(*connection_, job.id, now, lease_until, owner);
      job.lease_owner = owner;
    }
    return jobs;
  });
}

OrderJobClaim SqliteStore::ClaimOrderStep(const std::string& order_id, TimePoint now,
                                          TimePoint lease_until, const std::string& owner,
                                          Job* job) {
  if (owner.empty()) throw std::invalid_argument("ClaimOrderStep: owner must not be empty");
  std::lock_guard lock(mutex_);
  return connection_->Transaction("ClaimOrderStep", TransactionKind::kWrite, [&] {
    Job step;
    {
      Statement select =
          connection_->Query(std::string("SELECT ") + kJobColumns +
                             ", locked_until FROM jobs WHERE order_id = ?1 AND state = 'queued' "
                             "AND kind <> 'junction_event'");
      select.Bind(1, order_id);
      if (!select.Step()) return OrderJobClaim::kNone;
      std::optional<std::int64_t> locked_until = select.OptionalInteger(8);
      if (locked_until && *locked_until > EpochMillis(now)) return OrderJobClaim::kBusy;
      step = ReadJobRow(select);
    }
    LeaseJob(*connection_, step.id, now, lease_until, owner);
    step.lease_owner = owner;
    if (job != nullptr) *job = std::move(step);
    return OrderJobClaim::kClaimed;
  });
}

void SqliteStore::CompleteJob(const Job& job, const JobOutcome& outcome) {
  // Everything that can fail without the database is done before the transaction starts.
  std::optional<OrderWrite> order_write;
  if (outcome.order_update) order_write = PrepareOrderWrite(job, *outcome.order_update);

  std::lock_guard lock(mutex_);
  connection_->Transaction("CompleteJob", TransactionKind::kWrite, [&] {
    const std::int64_t lease_end = RequireLease(*connection_, job);
    if (outcome.expected_order_version) {
      RequireOrderVersion(*connection_, job.order_id, *outcome.expected_order_version);
    }
    if (order_write) WriteOrder(*connection_, job.order_id, *order_write);

    // The store reads no clock and the outcome carries no "now", so the lease's end stands in for
    // the time of this commit: within one lease of it, which is all reaping done jobs needs.
    if (outcome.done) {
      Statement update = connection_->Query(
          "UPDATE jobs SET state = 'done', locked_until = NULL, lease_owner = NULL, "
          "updated_at = ?2 WHERE id = ?1");
      update.Bind(1, job.id).Bind(2, lease_end).Run();
    } else {
      Statement update = connection_->Query(
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
      InsertJob(*connection_, next, std::min(next.due_at, FromEpochMillis(lease_end)));
    }

    if (outcome.wake_order_step) {
      // "Due now" without reading a clock: epoch 0 is before any now, so the next claim takes the
      // step. A step a worker holds stays held; that worker's own outcome sets its next due time.
      Statement update = connection_->Query(
          "UPDATE jobs SET due_at = 0 WHERE order_id = ?1 AND state = 'queued' "
          "AND kind <> 'junction_event'");
      update.Bind(1, job.order_id).Run();
    }
  });
}

void SqliteStore::CheckpointOrder(const Job& job, const orders::LabOrder& order_update,
                                  std::int64_t expected_order_version) {
  const OrderWrite order_write = PrepareOrderWrite(job, order_update);
  std::lock_guard lock(mutex_);
  connection_->Transaction("CheckpointOrder", TransactionKind::kWrite, [&] {
    RequireLease(*connection_, job);
    RequireOrderVersion(*connection_, job.order_id, expected_order_version);
    WriteOrder(*connection_, job.order_id, order_write);
  });
}

void SqliteStore::ReleaseJob(const Job& job) {
  if (job.lease_owner.empty()) return;  // never claimed, so nothing to give back
  std::lock_guard lock(mutex_);
  connection_->Transaction("ReleaseJob", TransactionKind::kWrite, [&] {
    // Another owner's lease, or a finished job, is left alone: this caller no longer holds it.
    Statement update = connection_->Query(
        "UPDATE jobs SET locked_until = NULL, lease_owner = NULL "
        "WHERE id = ?1 AND state = 'queued' AND lease_owner = ?2");
    update.Bind(1, job.id).Bind(2, job.lease_owner).Run();
  });
}

std::optional<TimePoint> SqliteStore::NextJobDue() {
  std::lock_guard lock(mutex_);
  return connection_->Transaction(
      "NextJobDue", TransactionKind::kRead, [&]() -> std::optional<TimePoint> {
        // Two index lookups rather than MIN(COALESCE(...)) over every queued job.
        Statement select = connection_->Query(
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

std::vector<std::pair<std::string, int>> SqliteStore::QueuedJobCounts() {
  std::lock_guard lock(mutex_);
  return connection_->Transaction("QueuedJobCounts", TransactionKind::kRead, [&] {
    std::vector<std::pair<std::string, int>> counts;
    Statement select = connection_->Query(
        "SELECT kind, COUNT(*) FROM jobs WHERE state = 'queued' GROUP BY kind ORDER BY kind");
    while (select.Step()) counts.emplace_back(select.Text(0), static_cast<int>(select.Integer(1)));
    return counts;
  });
}

bool SqliteStore::RecordJunctionWebhook(const std::string& svix_id, TimePoint now,
                                        const NewJob& job) {
  std::lock_guard lock(mutex_);
  return connection_->Transaction("RecordJunctionWebhook", TransactionKind::kWrite, [&] {
    Statement insert = connection_->Query(
        "INSERT INTO junction_webhooks (svix_id, received_at) VALUES (?1, ?2) "
        "ON CONFLICT (svix_id) DO NOTHING");
    insert.Bind(1, svix_id).Bind(2, EpochMillis(now)).Run();
    if (connection_->ChangedRows() == 0) return false;  // a redelivery: handled the first time
    InsertJob(*connection_, job, now);
    return true;
  });
}

int SqliteStore::ReleaseAllLeases() {
  std::lock_guard lock(mutex_);
  return connection_->Transaction("ReleaseAllLeases", TransactionKind::kWrite, [&] {
    Statement update = connection_->Query(
        "UPDATE idempotency_keys SET locked_until = NULL WHERE locked_until IS NOT NULL");
    update.Run();
    return connection_->ChangedRows();
  });
}

int SqliteStore::ReleaseAllJobLeases() {
  std::lock_guard lock(mutex_);
  return connection_->Transaction("ReleaseAllJobLeases", TransactionKind::kWrite, [&] {
    Statement update = connection_->Query(
        "UPDATE jobs SET locked_until = NULL, lease_owner = NULL "
        "WHERE state = 'queued' AND locked_until IS NOT NULL");
    update.Run();
    return connection_->ChangedRows();
  });
}

}  // namespace lab_orders::store
