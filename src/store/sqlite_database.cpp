#include "store/sqlite_database.h"

#include <sqlite3.h>

#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "lab_orders/store/store.h"

namespace lab_orders::store {
namespace {

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

}  // namespace

class SqliteDatabase::Connection final : public SqlSession {
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
      SqlResult mode = Execute("PRAGMA journal_mode=WAL", {});
      const std::string* name = mode.rows.empty() || mode.rows[0].empty()
                                    ? nullptr
                                    : std::get_if<std::string>(&mode.rows[0][0]);
      if (name == nullptr || (*name != "wal" && *name != "memory")) {
        throw StoreUnavailable("store: open: the database cannot use WAL mode");
      }
      // FULL, not NORMAL: with NORMAL a WAL commit is durable only at the next checkpoint, so a
      // power loss can undo a commit we already acted on. Here a commit is followed by a call to
      // Junction (the order id it records derives Junction's idempotency key); losing it would let
      // a retry create a second Junction order. One fsync per commit is cheap next to that call.
      // (NORMAL would still never corrupt the file: the trade is durability only.)
      ExecScript("PRAGMA synchronous=FULL");
      ExecScript("PRAGMA foreign_keys=ON");
    } catch (...) {
      Close();
      throw;
    }
  }

  ~Connection() override { Close(); }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Transaction(const char* operation, TransactionKind kind,
                   const std::function<void(SqlSession&)>& body) {
    operation_ = operation;
    // BEGIN IMMEDIATE takes the write lock first, so a read-then-write cannot be raced by another
    // process on the same file; in WAL mode plain BEGIN readers never wait for writers.
    ExecScript(kind == TransactionKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
    try {
      body(*this);
      ExecScript("COMMIT");
    } catch (...) {
      RollbackQuietly();
      throw;
    }
  }

  SqlResult Execute(const std::string& sql, const std::vector<SqlValue>& params) override {
    sqlite3_stmt* statement = Prepare(sql);
    // Reset when done, so a throw in the middle never leaves it holding a read or stale bindings.
    struct Reset {
      sqlite3_stmt* statement;
      ~Reset() {
        sqlite3_reset(statement);
        sqlite3_clear_bindings(statement);
      }
    } reset{statement};

    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const SqlValue& value = params[i];
      if (const auto* text = std::get_if<std::string>(&value)) {
        // SQLITE_TRANSIENT: SQLite copies, so the caller's string may die before the step.
        Check(sqlite3_bind_text64(statement, index, text->data(), text->size(), SQLITE_TRANSIENT,
                                  SQLITE_UTF8));
      } else if (const auto* number = std::get_if<std::int64_t>(&value)) {
        Check(sqlite3_bind_int64(statement, index, *number));
      } else {
        Check(sqlite3_bind_null(statement, index));
      }
    }

    SqlResult result;
    for (;;) {
      int code = sqlite3_step(statement);
      if (code == SQLITE_DONE) break;
      if (code != SQLITE_ROW) ThrowSqliteError(code, operation_);
      const int columns = sqlite3_column_count(statement);
      std::vector<SqlValue>& row = result.rows.emplace_back();
      row.reserve(columns);
      for (int column = 0; column < columns; ++column) {
        switch (sqlite3_column_type(statement, column)) {
          case SQLITE_NULL:
            row.emplace_back(std::monostate{});
            break;
          case SQLITE_INTEGER:
            row.emplace_back(std::int64_t{sqlite3_column_int64(statement, column)});
            break;
          default: {
            const auto* text =
                reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
            row.emplace_back(text == nullptr
                                 ? std::string()
                                 : std::string(text, sqlite3_column_bytes(statement, column)));
          }
        }
      }
    }
    // sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE: only those report one.
    result.changed_rows = sqlite3_stmt_readonly(statement) ? 0 : sqlite3_changes(db_);
    return result;
  }

  void ExecScript(const std::string& sql) override {
    Check(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr));
  }

  std::string_view ForUpdate() const override { return ""; }
  std::string_view ForUpdateSkipLocked() const override { return ""; }
  void LockForMigration() override {}  // the write transaction already excludes everyone

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

SqliteDatabase::SqliteDatabase(const std::string& path, std::chrono::milliseconds busy_timeout)
    : connection_(std::make_unique<Connection>(path, busy_timeout)) {}

SqliteDatabase::~SqliteDatabase() = default;

void SqliteDatabase::Transaction(const char* operation, TransactionKind kind,
                                 const std::function<void(SqlSession&)>& body) {
  std::lock_guard lock(mutex_);
  connection_->Transaction(operation, kind, body);
}

}  // namespace lab_orders::store
