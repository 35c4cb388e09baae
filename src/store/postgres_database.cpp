#include "store/postgres_database.h"

#include <libpq-fe.h>

#include <cctype>
#include <condition_variable>
#include <mutex>
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

// Connects; nullptr when the server cannot be reached or refuses (wrong database, password).
std::unique_ptr<Connection> Connect(const std::string& connection_string) {
  PGconn* conn = PQconnectdb(connection_string.c_str());
  if (conn == nullptr) return nullptr;
  if (PQstatus(conn) != CONNECTION_OK) {
    PQfinish(conn);
    return nullptr;
  }
  return std::make_unique<Connection>(conn);
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
    if (!began_) return;  // the body ran no statement: nothing to commit
    Result result(PQexec(connection_.conn, "COMMIT"));
    if (!result || !Succeeded(result.get())) {
      // Whether a COMMIT whose answer was lost took effect is unknown: never retried here.
      ThrowMapped(result.get(), operation_, !connection_.Broken());
    }
  }

  SqlResult Execute(const std::string& sql, const std::vector<SqlValue>& params) override {
    // Parameters go as text: PostgreSQL gives each the type it inferred when it prepared the
    // statement, NULLs included.
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<std::string> numbers;
    numbers.reserve(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* text = std::get_if<std::string>(&params[i])) {
        values[i] = text->c_str();
      } else if (const auto* number = std::get_if<std::int64_t>(&params[i])) {
        values[i] = numbers.emplace_back(std::to_string(*number)).c_str();
      }
    }

    auto cached = connection_.prepared.find(sql);
    const bool prepare = cached == connection_.prepared.end();
    const bool begin = transactional_ && !began_;
    const std::string name =
        prepare ? "s" + std::to_string(connection_.prepared.size() + 1) : cached->second;
    const int count = static_cast<int>(params.size());

    const bool first = !sent_anything_;
    sent_anything_ = true;
    Result result;
    if (!prepare && !begin) {
      result.reset(PQexecPrepared(connection_.conn, name.c_str(), count, values.data(), nullptr,
                                  nullptr, 0));
      if (!result || !Succeeded(result.get())) Fail(result.get(), first);
    } else {
      // BEGIN, the statement's preparation and its execution go in one pipeline: one round trip.
      PGconn* conn = connection_.conn;
      bool sent = PQenterPipelineMode(conn) == 1;
      if (sent && begin) {
        sent = PQsendQueryParams(conn, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      }
      // A redoable write's commit need not wait for the WAL flush (the server answers COMMIT
      // before it): one command of its own, as the extended protocol takes one a message.
      const bool asynchronous_commit = begin && !synchronous_;
      if (sent && asynchronous_commit) {
        sent = PQsendQueryParams(conn, kAsynchronousCommit, 0, nullptr, nullptr, nullptr, nullptr,
                                 0) == 1;
      }
      if (sent && prepare) {
        sent = PQsendPrepare(conn, name.c_str(), Dialect(sql).c_str(), 0, nullptr) == 1;
      }
      if (sent) {
        sent =
            PQsendQueryPrepared(conn, name.c_str(), count, values.data(), nullptr, nullptr, 0) == 1;
      }
      if (sent) sent = PQpipelineSync(conn) == 1;
      if (!sent) {
        PQexitPipelineMode(conn);
        Fail(nullptr, first);
      }
      // One result for each command sent, each followed by a null, then the sync's.
      const int preamble = (begin ? 1 : 0) + (asynchronous_commit ? 1 : 0);
      const int commands = preamble + (prepare ? 1 : 0) + 1;
      Result failure;
      for (int command = 0; command < commands; ++command) {
        Result last;
        while (PGresult* piece = PQgetResult(conn)) last.reset(piece);
        if (!last) {  // the connection broke: no answer at all
          PQexitPipelineMode(conn);
          Fail(nullptr, first);
        }
        const bool ok = Succeeded(last.get());
        if (begin && command == 0 && ok) began_ = true;  // to be rolled back if what follows fails
        // A prepared statement outlives a rollback: it is the connection's from now on.
        if (prepare && command == preamble && ok) connection_.prepared.emplace(sql, name);
        if (!failure && !ok) {
          failure = std::move(last);  // the first failure; the rest were aborted after it
        } else if (command == commands - 1) {
          result = std::move(last);
        }
      }
      Result sync(PQgetResult(conn));
      PQexitPipelineMode(conn);
      if (failure) Fail(failure.get(), false);
      if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) Fail(nullptr, first);
    }
    return ReadResult(result.get());
  }

  // Constant SQL without values (the store's DDL), in the simple protocol, which runs several
  // statements in one go.
  void ExecScript(const std::string& sql) override {
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

  Connection& connection_;
  const char* operation_;
  const bool transactional_;
  const bool synchronous_;
  bool began_ = false;
  bool sent_anything_ = false;
};

}  // namespace

class PostgresDatabase::Pool {
 public:
  explicit Pool(const PostgresOptions& options)
      : connection_string_(options.connection_string),
        size_(options.pool_size),
        acquire_timeout_(options.acquire_timeout) {}

  // A connection for one transaction: an idle one, else a new one while the pool has room, else
  // the first to come back within the acquire timeout.
  std::unique_ptr<Connection> Acquire(const std::string& where) {
    {
      std::unique_lock lock(mutex_);
      if (!returned_.wait_for(lock, acquire_timeout_,
                              [&] { return !idle_.empty() || open_ < size_; })) {
        throw StoreUnavailable(where + "no PostgreSQL connection became free in time");
      }
      if (!idle_.empty()) {
        std::unique_ptr<Connection> connection = std::move(idle_.back());
        idle_.pop_back();
        return connection;
      }
      ++open_;
    }
    // Connecting takes a round trip or more: outside the lock.
    std::unique_ptr<Connection> connection = Connect(connection_string_);
    if (!connection) {
      Discard();
      throw StoreUnavailable(where + "PostgreSQL is unavailable");
    }
    return connection;
  }

  // Back to the pool, or closed when it broke or was left inside a transaction.
  void Release(std::unique_ptr<Connection> connection) {
    if (connection->Broken() || PQtransactionStatus(connection->conn) != PQTRANS_IDLE) {
      connection.reset();
      Discard();
      return;
    }
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(connection));
    }
    returned_.notify_one();
  }

  int size() const { return size_; }

 private:
  void Discard() {
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    returned_.notify_one();
  }

  const std::string connection_string_;
  const int size_;
  const std::chrono::milliseconds acquire_timeout_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;  // the last returned is the first reused
  int open_ = 0;                                   // idle and in use
};

PostgresDatabase::PostgresDatabase(const PostgresOptions& options) {
  if (options.pool_size < 1) throw std::invalid_argument("PostgreSQL pool size must be positive");
  pool_ = std::make_unique<Pool>(options);
  Transaction("connect", TransactionKind::kRead,
              [](SqlSession& session) { session.Execute("SELECT 1", {}); });
}

PostgresDatabase::~PostgresDatabase() = default;

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
