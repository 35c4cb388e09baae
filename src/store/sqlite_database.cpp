#include "store/sqlite_database.h"

#include <sqlite3.h>

#include <algorithm>
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
  enum class Role { kWriter, kReader };

  Connection(const std::string& path, std::chrono::milliseconds busy_timeout, Role role) {
    operation_ = "open";
    // NOMUTEX: a connection is used by one thread at a time (the batch runner, or one reader).
    int code =
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (code != SQLITE_OK) {
      sqlite3_close_v2(db_);  // a handle is returned even on failure
      db_ = nullptr;
      ThrowSqliteError(code, operation_);
    }
    try {
      sqlite3_extended_result_codes(db_, 1);
      // Wait this long for another connection's write lock before answering "unavailable".
      Check(sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count())));
      if (role == Role::kReader) {
        // The writer opened the file first and set WAL mode, which is stored in the file. A
        // reader that tried to write would race the writer's batches: it cannot.
        ExecScript("PRAGMA query_only=1");
        return;
      }
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

  // Names the caller in error messages from now on.
  void SetOperation(const char* operation) { operation_ = operation; }

  // A reader's transaction: a deferred BEGIN, one snapshot for the body's statements, no lock
  // on the writer. (Writes, ":memory:" ones included, go through the batches.)
  void ReadTransaction(const char* operation, const std::function<void(SqlSession&)>& body) {
    operation_ = operation;
    Run("BEGIN");
    try {
      body(*this);
      Run("COMMIT");
    } catch (...) {
      RollbackQuietly();
      throw;
    }
  }

  bool InTransaction() const { return !sqlite3_get_autocommit(db_); }

  // One constant statement, prepared once (BEGIN, COMMIT and savepoints run for every write).
  void Run(const char* sql) { Execute(sql, {}); }

  void RollbackQuietly() {
    // A failed COMMIT or statement can already have ended the transaction.
    if (InTransaction()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
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

namespace {

// Bounds a batch, so the first write in it does not wait behind an unbounded number of others.
constexpr std::size_t kMaxBatch = 256;
// Readers at once: more would only contend for the two cores a machine like ours has.
constexpr int kMaxReaders = 8;

bool IsInMemory(const std::string& path) {
  return path == ":memory:" || path.empty() || path.find("mode=memory") != std::string::npos;
}

}  // namespace

struct SqliteDatabase::WriteRequest {
  const char* operation;
  const std::function<void(SqlSession&)>& body;
  // Redoable (TransactionKind::kRedoableWrite): answered once its body has run in the batch,
  // without waiting for the COMMIT. Lost with a failed COMMIT or a crash, it is done again by
  // whoever needs it; the next durable COMMIT carries it to disk (one connection, one log).
  bool redoable;
  std::exception_ptr error;  // set when the write failed
  bool done = false;         // committed, failed, or (redoable) applied
  // Its own: a finished batch wakes its members and the one waiter that leads next, not every
  // waiting thread (with dozens waiting, a broadcast per batch cost wake-ups and scheduling on
  // every commit).
  std::condition_variable wake;
};

SqliteDatabase::SqliteDatabase(const std::string& path, std::chrono::milliseconds busy_timeout)
    : path_(path),
      busy_timeout_(busy_timeout),
      in_memory_(IsInMemory(path)),
      writer_(std::make_unique<Connection>(path, busy_timeout, Connection::Role::kWriter)) {}

SqliteDatabase::~SqliteDatabase() = default;

void SqliteDatabase::Transaction(const char* operation, TransactionKind kind,
                                 const std::function<void(SqlSession&)>& body) {
  if (kind == TransactionKind::kRead && !in_memory_) {
    Read(operation, body);
    return;
  }
  WriteRequest request{operation, body,  kind == TransactionKind::kRedoableWrite,
                       nullptr,   false, {}};
  Write(request);
  if (request.error) std::rethrow_exception(request.error);
}

SqliteDatabase::CommitCounts SqliteDatabase::Commits() const {
  std::lock_guard lock(queue_mutex_);
  return commits_;
}

std::size_t SqliteDatabase::QueuedWrites() const {
  std::lock_guard lock(queue_mutex_);
  return waiting_.size();
}

void SqliteDatabase::Write(WriteRequest& request) {
  std::unique_lock lock(queue_mutex_);
  waiting_.push_back(&request);
  if (!request.redoable) ++durable_waiting_;
  while (!request.done) {
    // A redoable write leaves the lead to a durable one when there is one: a leader waits for
    // its batch's COMMIT, which a redoable write need not.
    if (writing_ || (request.redoable && durable_waiting_ > 0)) {
      request.wake.wait(lock);
      continue;
    }
    // The writer is free: this thread runs the next batch, which holds its own request unless
    // more than a batch was waiting before it.
    writing_ = true;
    std::vector<WriteRequest*> batch;
    while (!waiting_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(waiting_.front());
      if (!batch.back()->redoable) --durable_waiting_;
      waiting_.pop_front();
    }
    lock.unlock();
    try {
      RunBatch(batch);
    } catch (...) {
      // Out of memory, say, outside the bodies' own handling: every member still waiting fails
      // (none is acknowledged), and the writer is free again rather than held for ever.
      writer_->RollbackQuietly();
      for (WriteRequest* member : batch) {
        if (member != nullptr && !member->error) member->error = std::current_exception();
      }
    }
    lock.lock();
    writing_ = false;
    for (WriteRequest* member : batch) {
      if (member == nullptr) continue;  // a redoable write, answered during the batch
      member->done = true;
      if (member != &request) member->wake.notify_one();
    }
    // The first durable write still waiting leads the next batch, or the first of any kind
    // (unless a newcomer takes the writer first, whose batch then holds it).
    if (!waiting_.empty()) {
      auto next = std::find_if(waiting_.begin(), waiting_.end(),
                               [](const WriteRequest* waiter) { return !waiter->redoable; });
      (next != waiting_.end() ? *next : waiting_.front())->wake.notify_one();
    }
  }
}

void SqliteDatabase::RunBatch(std::vector<WriteRequest*>& batch) {
  Connection& db = *writer_;
  // Members from this index on share the open transaction; those before it are settled.
  std::size_t first_open = 0;
  // Redoable members of the open transaction answered already: their entries are null from then
  // on (their requests live on their callers' stacks, which may be gone).
  std::int64_t answered_early = 0;
  auto fail_open = [&](std::size_t end, const std::exception_ptr& error) {
    for (std::size_t i = first_open; i < end; ++i) {
      if (batch[i] != nullptr && !batch[i]->error) batch[i]->error = error;
    }
    first_open = end;
  };
  auto answer_early = [&](std::size_t at) {
    std::lock_guard lock(queue_mutex_);
    batch[at]->done = true;
    batch[at]->wake.notify_one();
    batch[at] = nullptr;
    ++answered_early;
  };
  auto begin = [&](std::size_t at) {
    db.SetOperation(batch[at]->operation);
    try {
      // IMMEDIATE: the write lock first, so another process on the file cannot race the reads
      // these bodies make before they write.
      db.Run("BEGIN IMMEDIATE");
      return true;
    } catch (...) {
      fail_open(batch.size(), std::current_exception());
      return false;
    }
  };
  if (!begin(0)) return;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    WriteRequest& member = *batch[i];
    db.SetOperation(member.operation);
    try {
      db.Run("SAVEPOINT batch_member");
      member.body(db);
      db.Run("RELEASE batch_member");
      if (member.redoable) answer_early(i);
      continue;
    } catch (...) {
      member.error = std::current_exception();
    }
    if (db.InTransaction()) {
      try {
        // Undoes this member alone; RELEASE then drops the savepoint itself.
        db.ExecScript("ROLLBACK TO batch_member; RELEASE batch_member");
        continue;
      } catch (...) {
        db.RollbackQuietly();
      }
    }
    // SQLite rolled the whole transaction back (an I/O error, a full disk): the members before
    // this one lost their writes with it. No durable one was acknowledged; each fails, and the
    // rest of the batch goes on in a new transaction. (Redoable ones answered already are lost,
    // as in a crash: whoever needs them does them again.)
    fail_open(i, std::make_exception_ptr(
                     StoreUnavailable(std::string("store: ") + member.operation +
                                      ": a batch of writes was rolled back by SQLite")));
    first_open = i + 1;
    answered_early = 0;  // their writes went with the rollback
    if (i + 1 < batch.size() && !begin(i + 1)) return;
  }
  if (first_open >= batch.size()) {
    db.RollbackQuietly();
    return;
  }
  try {
    db.SetOperation("commit");
    db.Run("COMMIT");  // the one fsync of the batch
    std::lock_guard lock(queue_mutex_);
    ++commits_.batches;
    commits_.transactions += answered_early;
    for (std::size_t i = first_open; i < batch.size(); ++i) {
      if (batch[i] != nullptr && !batch[i]->error) ++commits_.transactions;
    }
  } catch (...) {
    db.RollbackQuietly();
    fail_open(batch.size(), std::current_exception());
  }
}

void SqliteDatabase::Read(const char* operation, const std::function<void(SqlSession&)>& body) {
  std::unique_ptr<Connection> reader;
  {
    std::unique_lock lock(readers_mutex_);
    reader_returned_.wait(lock,
                          [&] { return !idle_readers_.empty() || open_readers_ < kMaxReaders; });
    if (!idle_readers_.empty()) {
      reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    } else {
      ++open_readers_;
    }
  }
  auto give_back = [&] {
    {
      std::lock_guard lock(readers_mutex_);
      if (reader) {
        idle_readers_.push_back(std::move(reader));
      } else {
        --open_readers_;
      }
    }
    reader_returned_.notify_one();
  };
  try {
    if (!reader) {
      reader = std::make_unique<Connection>(path_, busy_timeout_, Connection::Role::kReader);
    }
    reader->ReadTransaction(operation, body);
  } catch (...) {
    give_back();
    throw;
  }
  give_back();
}

}  // namespace lab_orders::store
