#include "store/postgres_database.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lab_orders/store/store.h"

namespace lab_orders::store {
namespace {

constexpr int kMaxAttempts = 5;  // runs of one transaction that a deadlock or conflict aborted

// PostgreSQL's type oids (pg_type.h) of the integer columns the store reads.
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;

// What a redoable write runs after BEGIN: the server answers its COMMIT before the WAL flush.
constexpr char kAsynchronousCommit[] = "SET LOCAL synchronous_commit TO off";

// A guarded write's expectation, held by the server (SqlSession::DeferExpecting): the write runs
// in a CTE whose count this function checks, failing the statement, and with it the transaction
// and the COMMIT pipelined after it, when the count is not the one expected. Created on each
// connection as a temporary function: nothing in the schema, nothing a replica of another version
// has to know.
constexpr char kExpectRowsFunction[] = R"sql(
CREATE FUNCTION pg_temp.lab_orders_expect_rows(changed bigint, expected bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
  IF changed <> expected THEN
    RAISE EXCEPTION 'a guarded write changed % rows, not %', changed, expected
      USING ERRCODE = 'LO001', DETAIL = changed::text;
  END IF;
  RETURN changed;
END $$)sql";
constexpr std::string_view kExpectRowsState = "LO001";

// The statement that runs sql (a write without RETURNING) and fails unless it changed rows.
std::string ExpectingRows(const std::string& sql, std::int64_t rows) {
  return "WITH changed AS (" + sql + " RETURNING 1) SELECT pg_temp.lab_orders_expect_rows(" +
         "count(*), " + std::to_string(rows) + ") FROM changed";
}

// A transaction that PostgreSQL aborted to break a deadlock or a serialisation conflict: nothing
// of it committed, so it can run again.
struct TransientConflict : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A connection that broke before anything of the transaction was sent on it: typically one the
// server dropped while it sat idle in the pool (the server restarted). Another one is tried.
struct StaleConnection : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool StateMeansUnavailable(std::string_view state) {
  const std::string_view state_class = state.substr(0, 2);
  return state_class == "08" ||  // connection exception
         state_class == "53" ||  // insufficient resources (too many connections, disk full)
         state_class == "57" ||  // operator intervention: shutdown, statement timeout
         state_class == "58" ||  // system error
         state == "55P03";       // lock not available
}

// The store's exception for a failed result (or none, when the connection broke). The message
// keeps only the operation and the SQLSTATE: PostgreSQL's own text can quote values (a unique
// violation names the key it clashed on).
[[noreturn]] void ThrowMapped(const PGresult* result, std::string_view operation, bool connected) {
  const char* field = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = field ? field : "";
  const std::string where = "store: " + std::string(operation) + ": ";
  if (!connected || state.empty() || StateMeansUnavailable(state)) {
    throw StoreUnavailable(where + "PostgreSQL is unavailable" +
                           (state.empty() ? "" : " (SQLSTATE " + state + ")"));
  }
  const std::string message = where + "PostgreSQL error (SQLSTATE " + state + ")";
  if (state == "40001" || state == "40P01") throw TransientConflict(message);
  // A broken constraint means a caller broke the store's contract (e.g. a duplicate order id).
  if (state.rfind("23", 0) == 0) throw std::logic_error(message);
  throw std::runtime_error(message);
}

// ?1..?N as PostgreSQL's $1..$N. The store's SQL has no '?' inside literals.
std::string Dialect(const std::string& sql) {
  std::string out = sql;
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '?' && std::isdigit(static_cast<unsigned char>(out[i + 1]))) out[i] = '$';
  }
  return out;
}

// Whether the server has closed a connection that sat idle. Anything to read on an idle
// connection is read: a notice or a parameter change leaves it usable, an end of stream (the
// server restarted, or ended the session) marks it bad, so the pool closes it instead of handing
// it out again.
bool ClosedWhileIdle(PGconn* conn) {
  const int socket = PQsocket(conn);
  if (socket < 0) return true;
  pollfd readable{socket, POLLIN, 0};
  if (::poll(&readable, 1, 0) == 0) return false;
  return PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK;
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

bool Succeeded(const PGresult* result) {
  const ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

SqlResult ReadResult(PGresult* result) {
  SqlResult out;
  const int columns = PQnfields(result);
  // Like SQLite's count: rows written by an INSERT, UPDATE or DELETE (RETURNING or not).
  if (std::string_view(PQcmdStatus(result)).rfind("SELECT", 0) != 0) {
    const char* tuples = PQcmdTuples(result);
    out.changed_rows = (tuples && *tuples) ? std::stoll(tuples) : 0;
  }
  const int rows = PQntuples(result);
  out.rows.reserve(rows);
  std::vector<bool> integer(columns);
  for (int column = 0; column < columns; ++column) {
    const Oid type = PQftype(result, column);
    integer[column] = type == kInt8Oid || type == kInt4Oid || type == kInt2Oid;
  }
  for (int row = 0; row < rows; ++row) {
    std::vector<SqlValue>& cells = out.rows.emplace_back();
    cells.reserve(columns);
    for (int column = 0; column < columns; ++column) {
      if (PQgetisnull(result, row, column)) {
        cells.emplace_back(std::monostate{});
      } else if (integer[column]) {
        cells.emplace_back(std::int64_t{std::stoll(PQgetvalue(result, row, column))});
      } else {
        cells.emplace_back(
            std::string(PQgetvalue(result, row, column), PQgetlength(result, row, column)));
      }
    }
  }
  return out;
}

// One libpq connection and the statements prepared on it.
struct Connection {
  explicit Connection(PGconn* handle) : conn(handle) {}
  ~Connection() { PQfinish(conn); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool Broken() const { return PQstatus(conn) != CONNECTION_OK; }

  PGconn* conn;
  std::unordered_map<std::string, std::string> prepared;  // the store's SQL -> statement name
};

// Connects; nullptr when the server cannot be reached or refuses, with libpq's reason in *why
// (an unknown host, a refused connection or password, no such database). The reason names the
// host, port, user and database at most, never the password: for the log and the operator.
std::unique_ptr<Connection> Connect(const std::string& connection_string, std::string* why) {
  PGconn* conn = PQconnectdb(connection_string.c_str());
  if (conn == nullptr) {
    *why = "out of memory";
    return nullptr;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    // One line: libpq ends its lines with newlines, and its server messages pad with spaces.
    for (char& c : message) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    while (!message.empty() && message.back() == ' ') message.pop_back();
    *why = message.empty() ? "no reason given" : message;
    return nullptr;
  }
  auto connection = std::make_unique<Connection>(conn);
  Result created(PQexec(conn, kExpectRowsFunction));
  if (!created || PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
    const char* state = created ? PQresultErrorField(created.get(), PG_DIAG_SQLSTATE) : nullptr;
    *why =
        std::string("could not set up the connection (SQLSTATE ") + (state ? state : "none") + ")";
    return nullptr;
  }
  return connection;
}

class PostgresSession final : public SqlSession {
 public:
  PostgresSession(Connection& connection, const char* operation, TransactionKind kind)
      : connection_(connection),
        operation_(operation),
        transactional_(kind != TransactionKind::kRead),
        synchronous_(kind != TransactionKind::kRedoableWrite) {}

  bool Began() const { return began_; }

  void Commit() {
    // A check may refuse the transaction: the statements it checks are sent, and checked, before
    // COMMIT is. Unchecked ones go in one pipeline with the COMMIT: one that fails makes the
    // server skip the COMMIT, so nothing of the transaction commits.
    // Expectations the server holds (DeferExpecting) need no such exchange. A connection the
    // server closed while it sat in the pool is found before anything is sent (Exchange), so a
    // transaction whose writes are all deferred is one exchange, COMMIT included.
    const bool checked = std::any_of(
        deferred_.begin(), deferred_.end(),
        [](const Deferred& statement) { return statement.check && !statement.expected_rows; });
    if (checked) Exchange(nullptr, nullptr, false);
    if (!began_ && deferred_.empty()) return;  // the body ran no statement: nothing to commit
    Exchange(nullptr, nullptr, true);
  }

  SqlResult Execute(const std::string& sql, const std::vector<SqlValue>& params) override {
    return Exchange(&sql, &params, false);
  }

  void Defer(std::string sql, std::vector<SqlValue> params, DeferredCheck check) override {
    if (!transactional_) {  // autocommit: nothing to hold it for
      SqlSession::Defer(std::move(sql), std::move(params), std::move(check));
      return;
    }
    deferred_.push_back(Deferred{std::move(sql), std::move(params), std::move(check), {}});
  }

  void DeferExpecting(std::string sql, std::vector<SqlValue> params, std::int64_t rows,
                      DeferredCheck refused) override {
    if (!transactional_) {
      SqlSession::DeferExpecting(std::move(sql), std::move(params), rows, std::move(refused));
      return;
    }
    deferred_.push_back(
        Deferred{ExpectingRows(sql, rows), std::move(params), std::move(refused), rows});
  }

  // Constant SQL without values (the store's DDL), in the simple protocol, which runs several
  // statements in one go.
  void ExecScript(const std::string& sql) override {
    if (!deferred_.empty()) Exchange(nullptr, nullptr, false);  // in the order given
    const bool first = !sent_anything_;
    sent_anything_ = true;
    if (transactional_ && !began_) {
      const std::string begin_sql =
          synchronous_ ? "BEGIN" : std::string("BEGIN; ") + kAsynchronousCommit;
      Result begin(PQexec(connection_.conn, begin_sql.c_str()));
      if (!begin || !Succeeded(begin.get())) Fail(begin.get(), first);
      began_ = true;
    }
    Result result(PQexec(connection_.conn, sql.c_str()));
    if (!result || !Succeeded(result.get())) Fail(result.get(), false);
  }

  std::string_view ForUpdate() const override { return " FOR UPDATE"; }
  std::string_view ForUpdateSkipLocked() const override { return " FOR UPDATE SKIP LOCKED"; }

  void LockForMigration() override {
    // Held to the end of the transaction; the number is this service's own choice.
    Execute("SELECT pg_advisory_xact_lock(7355608001)", {});
  }

 private:
  // first: the failure came on the transaction's first exchange with the server.
  [[noreturn]] void Fail(const PGresult* result, bool first) {
    const bool connected = !connection_.Broken();
    if (!connected && first) throw StaleConnection("store: a pooled connection was closed");
    ThrowMapped(result, operation_, connected);
  }

  struct Deferred {
    std::string sql;
    std::vector<SqlValue> params;
    DeferredCheck check;  // with expected_rows: called only when the server refused
    std::optional<std::int64_t> expected_rows;
  };

  // One pipeline, one round trip: BEGIN (when the transaction has not begun), the deferred
  // statements, then sql (when given; its result is returned) or COMMIT (when commit). Each
  // statement new to the connection is prepared in the same pipeline. The deferred statements'
  // checks run once every answer is in.
  SqlResult Exchange(const std::string* sql, const std::vector<SqlValue>* params, bool commit) {
    std::vector<Deferred> batch = std::move(deferred_);
    deferred_.clear();
    // Every statement of the pipeline: the deferred ones, then sql.
    struct Queued {
      const std::string* sql;
      const std::vector<SqlValue>* params;
    };
    std::vector<Queued> statements;
    statements.reserve(batch.size() + 1);
    for (const Deferred& statement : batch)
      statements.push_back({&statement.sql, &statement.params});
    if (sql) statements.push_back({sql, params});

    // What each answer in the pipeline belongs to.
    enum class Step { kBegin, kAsynchronousCommit, kPrepare, kExecute, kCommit };
    struct Sent {
      Step step;
      std::size_t statement = 0;  // kPrepare, kExecute: the index in statements
      std::string name;           // kPrepare: the name it is prepared under
    };
    std::vector<Sent> sent;
    const bool first = !sent_anything_;
    // An idle connection has nothing to read unless the server closed it (or said something
    // that ends the session): then nothing of the transaction has been sent, and another
    // connection is tried. Found here, the first exchange may carry the COMMIT.
    if (first && ClosedWhileIdle(connection_.conn)) {
      throw StaleConnection("store: a pooled connection was closed");
    }
    sent_anything_ = true;
    const bool begin = transactional_ && !began_;

    PGconn* conn = connection_.conn;
    bool ok = PQenterPipelineMode(conn) == 1;
    auto send_simple = [&](const char* text, Step step) {
      if (ok) ok = PQsendQueryParams(conn, text, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      sent.push_back(Sent{step, 0, {}});
    };
    if (begin) {
      send_simple("BEGIN", Step::kBegin);
      // A redoable write's commit need not wait for the WAL flush (the server answers COMMIT
      // before it): one command of its own, as the extended protocol takes one a message.
      if (!synchronous_) send_simple(kAsynchronousCommit, Step::kAsynchronousCommit);
    }
    // Statements prepared in this pipeline, by their SQL: few, so a list.
    std::vector<std::pair<const std::string*, std::string>> preparing;
    std::vector<std::string> numbers;  // integers as text, while they are sent
    for (std::size_t i = 0; i < statements.size() && ok; ++i) {
      const std::string& text = *statements[i].sql;
      const std::vector<SqlValue>& values = *statements[i].params;
      std::string name;
      if (auto cached = connection_.prepared.find(text); cached != connection_.prepared.end()) {
        name = cached->second;
      } else if (auto pending =
                     std::find_if(preparing.begin(), preparing.end(),
                                  [&](const auto& entry) { return *entry.first == text; });
                 pending != preparing.end()) {
        name = pending->second;
      } else {
        name = "s" + std::to_string(connection_.prepared.size() + preparing.size() + 1);
        preparing.emplace_back(&text, name);
        ok = PQsendPrepare(conn, name.c_str(), Dialect(text).c_str(), 0, nullptr) == 1;
        sent.push_back(Sent{Step::kPrepare, i, name});
      }
      // Parameters go as text: PostgreSQL gives each the type it inferred when it prepared the
      // statement, NULLs included.
      std::vector<const char*> pointers(values.size(), nullptr);
      numbers.clear();
      numbers.reserve(values.size());
      for (std::size_t p = 0; p < values.size(); ++p) {
        if (const auto* string = std::get_if<std::string>(&values[p])) {
          pointers[p] = string->c_str();
        } else if (const auto* number = std::get_if<std::int64_t>(&values[p])) {
          pointers[p] = numbers.emplace_back(std::to_string(*number)).c_str();
        }
      }
      // libpq copies the values into its output buffer here: they need not outlive the call.
      if (ok) {
        ok = PQsendQueryPrepared(conn, name.c_str(), static_cast<int>(pointers.size()),
                                 pointers.data(), nullptr, nullptr, 0) == 1;
      }
      sent.push_back(Sent{Step::kExecute, i, {}});
    }
    if (commit) send_simple("COMMIT", Step::kCommit);
    if (ok) ok = PQpipelineSync(conn) == 1;
    if (!ok) {
      PQexitPipelineMode(conn);
      Fail(nullptr, first && !commit);
    }

    // One result for each command sent, each followed by a null, then the sync's.
    std::vector<std::int64_t> changed(statements.size(), 0);
    Result failure;
    std::size_t checked = 0;  // statements before the first failure: their checks run first
    std::optional<std::size_t> refused;  // a deferred statement whose expectation failed
    Result last_result;
    for (const Sent& command : sent) {
      Result last;
      while (PGresult* piece = PQgetResult(conn)) last.reset(piece);
      if (!last) {  // the connection broke: no answer at all
        PQexitPipelineMode(conn);
        // Whether a COMMIT whose answer was lost took effect is unknown: never retried.
        Fail(nullptr, first && !commit);
      }
      const bool succeeded = Succeeded(last.get());
      if (command.step == Step::kBegin && succeeded) began_ = true;  // rolled back on a failure
      // A prepared statement outlives a rollback: it is the connection's from now on.
      if (command.step == Step::kPrepare && succeeded) {
        connection_.prepared.emplace(*statements[command.statement].sql, command.name);
      }
      if (!succeeded) {
        if (!failure) {  // the first; the rest were aborted after it
          failure = std::move(last);
          checked = command.step == Step::kPrepare || command.step == Step::kExecute
                        ? command.statement
                    : command.step == Step::kCommit ? statements.size()
                                                    : 0;
          const char* state = PQresultErrorField(failure.get(), PG_DIAG_SQLSTATE);
          if (command.step == Step::kExecute && command.statement < batch.size() &&
              batch[command.statement].expected_rows && state && state == kExpectRowsState) {
            refused = command.statement;
          }
        }
        continue;
      }
      if (command.step == Step::kExecute) {
        if (command.statement == batch.size()) {  // sql's
          last_result = std::move(last);
        } else if (batch[command.statement].expected_rows) {
          changed[command.statement] = *batch[command.statement].expected_rows;  // as held
        } else {
          const char* tuples = PQcmdTuples(last.get());
          changed[command.statement] = (tuples && *tuples) ? std::stoll(tuples) : 0;
        }
      }
      if (command.step == Step::kCommit) began_ = false;  // committed: nothing to roll back
    }
    Result sync(PQgetResult(conn));
    PQexitPipelineMode(conn);
    // A check says first what went wrong before the statement that failed, as it would have
    // had each statement run alone.
    if (!failure) checked = batch.size();
    for (std::size_t i = 0; i < std::min(checked, batch.size()); ++i) {
      if (batch[i].check && !batch[i].expected_rows) batch[i].check(changed[i]);
    }
    if (refused && batch[*refused].check) {
      const char* detail = PQresultErrorField(failure.get(), PG_DIAG_MESSAGE_DETAIL);
      batch[*refused].check(detail ? std::stoll(detail) : 0);
    }
    if (failure) Fail(failure.get(), false);
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) Fail(nullptr, first && !commit);
    return last_result ? ReadResult(last_result.get()) : SqlResult{};
  }

  Connection& connection_;
  const char* operation_;
  const bool transactional_;
  const bool synchronous_;
  bool began_ = false;
  bool sent_anything_ = false;
  std::vector<Deferred> deferred_;  // sent with the next statement or the COMMIT
};

}  // namespace

class PostgresDatabase::Pool {
 public:
  explicit Pool(const PostgresOptions& options)
      : connection_string_(options.connection_string),
        size_(options.pool_size),
        acquire_timeout_(options.acquire_timeout) {}

  // A connection for one transaction: an idle one, else a new one while the pool has room, else
  // one handed over within the acquire timeout. Waiters are served in the order they came, so
  // under load every request waits about as long (the waits' tail is the queue, not bad luck).
  std::unique_ptr<Connection> Acquire(const std::string& where) {
    {
      std::unique_lock lock(mutex_);
      if (waiters_.empty() && !idle_.empty()) return TakeIdle();
      if (waiters_.empty() && open_ < size_) {
        ++open_;
      } else {
        Waiter waiter;
        waiters_.push_back(&waiter);
        const bool served =
            waiter.ready.wait_for(lock, acquire_timeout_, [&] { return waiter.served; });
        if (!served) {
          waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
          throw StoreUnavailable(where + "no PostgreSQL connection became free in time");
        }
        if (waiter.connection) return std::move(waiter.connection);
        // Served with room for a new connection (one was closed): open_ already counts it.
      }
    }
    // Connecting takes a round trip or more: outside the lock.
    std::string why;
    std::unique_ptr<Connection> connection = Connect(connection_string_, &why);
    if (!connection) {
      Discard();
      throw StoreUnavailable(where + "PostgreSQL is unavailable: " + why);
    }
    return connection;
  }

  // Back to the first waiter, else to the pool; closed when it broke or was left inside a
  // transaction.
  void Release(std::unique_ptr<Connection> connection) {
    if (connection->Broken() || PQtransactionStatus(connection->conn) != PQTRANS_IDLE) {
      connection.reset();
      Discard();
      return;
    }
    std::lock_guard lock(mutex_);
    if (Waiter* waiter = NextWaiter()) {
      waiter->connection = std::move(connection);
      waiter->ready.notify_one();
      return;
    }
    idle_.push_back(std::move(connection));
  }

  int size() const { return size_; }

  int waiting() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(waiters_.size());
  }

 private:
  struct Waiter {
    std::condition_variable ready;
    bool served = false;
    std::unique_ptr<Connection> connection;  // null when served with room for a new one
  };

  std::unique_ptr<Connection> TakeIdle() {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return connection;
  }

  // The longest waiting, taken off the queue and marked served; null when none waits.
  Waiter* NextWaiter() {
    if (waiters_.empty()) return nullptr;
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    waiter->served = true;
    return waiter;
  }

  // A connection closed: its place goes to the first waiter, or back to the pool.
  void Discard() {
    std::lock_guard lock(mutex_);
    if (Waiter* waiter = NextWaiter()) {
      waiter->ready.notify_one();  // open_ unchanged: the place is the waiter's
      return;
    }
    --open_;
  }

  const std::string connection_string_;
  const int size_;
  const std::chrono::milliseconds acquire_timeout_;
  mutable std::mutex mutex_;
  std::deque<Waiter*> waiters_;                    // first come, first served
  std::vector<std::unique_ptr<Connection>> idle_;  // the last returned is the first reused
  int open_ = 0;                                   // idle, in use and being opened
};

PostgresDatabase::PostgresDatabase(const PostgresOptions& options) {
  if (options.pool_size < 1) throw std::invalid_argument("PostgreSQL pool size must be positive");
  pool_ = std::make_unique<Pool>(options);
  Transaction("connect", TransactionKind::kRead,
              [](SqlSession& session) { session.Execute("SELECT 1", {}); });
}

PostgresDatabase::~PostgresDatabase() = default;

int PostgresDatabase::WaitingForConnection() const { return pool_->waiting(); }

void PostgresDatabase::Transaction(const char* operation, TransactionKind kind,
                                   const std::function<void(SqlSession&)>& body) {
  const std::string where = "store: " + std::string(operation) + ": ";
  int stale_connections = 0;
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<Connection> connection = pool_->Acquire(where);
    PostgresSession session(*connection, operation, kind);
    try {
      body(session);
      session.Commit();
      pool_->Release(std::move(connection));
      return;
    } catch (const StaleConnection&) {
      // Closed by the server while idle; nothing of this transaction reached it. Every pooled
      // connection may be stale after a restart, so as many are tried, and then a new one.
      pool_->Release(std::move(connection));
      if (stale_connections++ > pool_->size()) {
        throw StoreUnavailable(where + "PostgreSQL is unavailable");
      }
      --attempt;
    } catch (const TransientConflict&) {
      if (session.Began()) PQclear(PQexec(connection->conn, "ROLLBACK"));
      pool_->Release(std::move(connection));
      if (attempt >= kMaxAttempts) {
        throw StoreUnavailable(where + "PostgreSQL kept aborting the transaction (conflicts)");
      }
    } catch (...) {
      // A broken connection has been rolled back by the server; Release closes it.
      if (session.Began() && !connection->Broken()) {
        PQclear(PQexec(connection->conn, "ROLLBACK"));
      }
      pool_->Release(std::move(connection));
      throw;
    }
  }
}

}  // namespace lab_orders::store
