#include "lab_orders/store/sqlite_store.h"

#include <sqlite3.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

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
// read as the API writes them. Idempotency-key times are epoch milliseconds: leases need
// sub-second precision and are compared, never shown.
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
};

constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

constexpr const char* kOrderColumns =
    "id, brand_id, user_id, patient_id, panel_slug, status, total_cents, currency, "
    "junction_user_id, junction_order_id, created_at, updated_at, completed_at, phi";

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
          "SELECT fingerprint, recovery_point, order_id, response_status, response_body, "
          "locked_until, created_at FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2");
      select.Bind(1, brand_id).Bind(2, key);
      if (!select.Step()) return std::nullopt;
      StoredKey stored;
      IdempotencyRecord& record = stored.record;
      record.brand_id = brand_id;
      record.key = key;
      record.fingerprint = select.Text(0);
      record.recovery_point = ParseRecoveryPoint(select.Text(1));
      record.order_id = select.OptionalText(2);
      if (auto status = select.OptionalInteger(3))
        record.response_status = static_cast<int>(*status);
      if (auto sealed = select.OptionalText(4)) {
        record.response_body = cipher_.Decrypt(*sealed, ResponseAssociatedData(brand_id, key));
      }
      stored.locked_until = select.OptionalInteger(5);
      record.created_at = FromEpochMillis(select.Integer(6));
      return stored;
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

  std::lock_guard lock(mutex_);
  connection_->Transaction("RecordOrder", TransactionKind::kWrite, [&] {
    KeyState state =
        LoadKeyForPhase(*connection_, order.brand_id, key, RecoveryPoint::kOrderRecorded);
    // One key, one order: a second one would be a second Junction order on the next phase.
    if (state.order_id) throw std::logic_error("store: the idempotency key already has an order");

    Statement insert = connection_->Query(
        "INSERT INTO lab_orders (id, brand_id, user_id, patient_id, panel_slug, status, "
        "total_cents, currency, junction_user_id, junction_order_id, created_at, updated_at, "
        "completed_at, phi) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
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
        "UPDATE lab_orders SET junction_user_id = ?3, updated_at = ?4 "
        "WHERE id = ?1 AND brand_id = ?2");
    update.Bind(1, order_id).Bind(2, brand_id).Bind(3, junction_user_id).Bind(4, timestamp).Run();
    if (connection_->ChangedRows() != 1) throw std::logic_error("store: no such order");

    MoveRecoveryPoint(*connection_, brand_id, key, RecoveryPoint::kUserEnsured);
  });
}

void SqliteStore::SaveJunctionOrder(const std::string& brand_id, const std::string& key,
                                    const std::string& order_id,
                                    const std::string& junction_order_id, const std::string& status,
                                    TimePoint now) {
  const std::string timestamp = FormatRfc3339(now);
  std::lock_guard lock(mutex_);
  connection_->Transaction("SaveJunctionOrder", TransactionKind::kWrite, [&] {
    KeyState state =
        LoadKeyForPhase(*connection_, brand_id, key, RecoveryPoint::kJunctionOrderCreated);
    RequireKeyOwnsOrder(state, order_id);

    Statement update = connection_->Query(
        "UPDATE lab_orders SET junction_order_id = ?3, status = ?4, updated_at = ?5 "
        "WHERE id = ?1 AND brand_id = ?2");
    update.Bind(1, order_id)
        .Bind(2, brand_id)
        .Bind(3, junction_order_id)
        .Bind(4, status)
        .Bind(5, timestamp)
        .Run();
    if (connection_->ChangedRows() != 1) throw std::logic_error("store: no such order");

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

int SqliteStore::ReapKeys(TimePoint created_before) {
  std::lock_guard lock(mutex_);
  return connection_->Transaction("ReapKeys", TransactionKind::kWrite, [&] {
    Statement remove = connection_->Query("DELETE FROM idempotency_keys WHERE created_at < ?1");
    remove.Bind(1, EpochMillis(created_before)).Run();
    return connection_->ChangedRows();
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

}  // namespace lab_orders::store
