#include "store/postgres_database.h"

#include <Poco/Data/DataException.h>
#include <Poco/Data/MetaColumn.h>
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/SessionPool.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <libpq-fe.h>

#include <atomic>
#include <cctype>
#include <mutex>
#include <semaphore>
#include <stdexcept>

#include "lab_orders/store/store.h"

namespace lab_orders::store {
namespace {

using Poco::Data::Keywords::bind;

constexpr int kMaxAttempts = 5;  // runs of one transaction that a deadlock or conflict aborted

// A transaction that PostgreSQL aborted to break a deadlock or a serialisation conflict: nothing
// of it committed, so it can run again.
struct TransientConflict : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The SQLSTATE Poco puts in its message ("... State: 23505 ..."); "" when there is none, as for
// a connection that failed before the server said anything.
std::string SqlStateOf(const std::string& message) {
  static constexpr std::string_view kLabel = "State: ";
  std::size_t at = message.find(kLabel);
  if (at == std::string::npos || at + kLabel.size() + 5 > message.size()) return "";
  std::string state = message.substr(at + kLabel.size(), 5);
  for (char c : state) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return "";
  }
  return state;
}

bool StateMeansUnavailable(const std::string& state) {
  const std::string state_class = state.substr(0, 2);
  return state_class == "08" ||  // connection exception
         state_class == "53" ||  // insufficient resources (too many connections, disk full)
         state_class == "57" ||  // operator intervention: shutdown, statement timeout
         state_class == "58" ||  // system error
         state == "55P03";       // lock not available
}

// Maps a Poco exception to the store's. The message keeps only the operation and the SQLSTATE:
// PostgreSQL's own text can quote values (a unique violation names the key it clashed on).
[[noreturn]] void ThrowMapped(const Poco::Exception& error, std::string_view operation,
                              bool connected) {
  const std::string state = SqlStateOf(error.displayText());
  const std::string where = "store: " + std::string(operation) + ": ";
  // No SQLSTATE on a live connection: Poco's own failure (a statement that would not prepare).
  if (connected && state.empty())
    throw std::runtime_error(where + "PostgreSQL refused a statement");
  if (!connected || StateMeansUnavailable(state)) {
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

bool IsIntegerColumn(Poco::Data::MetaColumn::ColumnDataType type) {
  using Poco::Data::MetaColumn;
  switch (type) {
    case MetaColumn::FDT_INT8:
    case MetaColumn::FDT_UINT8:
    case MetaColumn::FDT_INT16:
    case MetaColumn::FDT_UINT16:
    case MetaColumn::FDT_INT32:
    case MetaColumn::FDT_UINT32:
    case MetaColumn::FDT_INT64:
    case MetaColumn::FDT_UINT64:
      return true;
    default:
      return false;
  }
}

class PostgresSession final : public SqlSession {
 public:
  PostgresSession(Poco::Data::Session& session, const char* operation)
      : session_(session), operation_(operation) {}

  SqlResult Execute(const std::string& sql, const std::vector<SqlValue>& params) override {
    try {
      Poco::Data::Statement statement(session_);
      statement << Dialect(sql);
      for (const SqlValue& value : params) {
        if (const auto* text = std::get_if<std::string>(&value)) {
          statement, bind(*text);
        } else if (const auto* number = std::get_if<std::int64_t>(&value)) {
          statement, bind(static_cast<Poco::Int64>(*number));
        } else {
          // PostgreSQL infers each parameter's type from where it is used, NULLs included.
          statement, bind(Poco::Nullable<std::string>());
        }
      }
      const std::size_t count = statement.execute();
      SqlResult result;
      Poco::Data::RecordSet rows(statement);
      const std::size_t columns = rows.columnCount();
      if (columns == 0) {
        result.changed_rows = static_cast<std::int64_t>(count);
        return result;
      }
      result.rows.reserve(rows.rowCount());
      for (std::size_t row = 0; row < rows.rowCount(); ++row) {
        std::vector<SqlValue>& cells = result.rows.emplace_back();
        cells.reserve(columns);
        for (std::size_t column = 0; column < columns; ++column) {
          if (rows.isNull(column, row)) {
            cells.emplace_back(std::monostate{});
          } else if (IsIntegerColumn(rows.columnType(column))) {
            cells.emplace_back(
                static_cast<std::int64_t>(rows.value(column, row).convert<Poco::Int64>()));
          } else {
            cells.emplace_back(rows.value(column, row).convert<std::string>());
          }
        }
      }
      return result;
    } catch (const Poco::Exception& error) {
      ThrowMapped(error, operation_, session_.isConnected());
    }
  }

  // Poco prepares every statement, and a prepared statement holds one command: a script runs
  // statement by statement. Scripts are the store's constant DDL, with no ';' inside literals.
  void ExecScript(const std::string& sql) override {
    std::size_t start = 0;
    while (start < sql.size()) {
      std::size_t end = sql.find(';', start);
      if (end == std::string::npos) end = sql.size();
      std::string command = sql.substr(start, end - start);
      start = end + 1;
      if (command.find_first_not_of(" \t\r\n") == std::string::npos) continue;
      // Comment-only pieces (after the last ';') have nothing to run either.
      bool only_comments = true;
      std::size_t line_start = 0;
      while (line_start < command.size()) {
        std::size_t line_end = command.find('\n', line_start);
        if (line_end == std::string::npos) line_end = command.size();
        std::string line = command.substr(line_start, line_end - line_start);
        std::size_t first = line.find_first_not_of(" \t\r");
        if (first != std::string::npos && line.compare(first, 2, "--") != 0) only_comments = false;
        line_start = line_end + 1;
      }
      if (!only_comments) Execute(command, {});
    }
  }

  std::string_view ForUpdate() const override { return " FOR UPDATE"; }
  std::string_view ForUpdateSkipLocked() const override { return " FOR UPDATE SKIP LOCKED"; }

  void LockForMigration() override {
    // Held to the end of the transaction; the number is this service's own choice.
    Execute("SELECT pg_advisory_xact_lock(7355608001)", {});
  }

 private:
  Poco::Data::Session& session_;
  const char* operation_;
};

}  // namespace

struct PostgresDatabase::Pool {
  Pool(const PostgresOptions& options)
      : sessions("PostgreSQL", options.connection_string, 1, options.pool_size, 60),
        free_slots(options.pool_size),
        acquire_timeout(options.acquire_timeout),
        size(options.pool_size),
        connection_string(options.connection_string) {}

  Poco::Data::SessionPool sessions;
  // SessionPool::get() throws when every session is out: callers wait here for a free one
  // instead, up to acquire_timeout.
  std::counting_semaphore<> free_slots;
  std::chrono::milliseconds acquire_timeout;
  int size;
  std::string connection_string;
  // Set when a connection failed. Poco's connector leaks the socket of every connection attempt
  // that fails (it never calls PQfinish), so while the server is down, new sessions are not
  // tried: a PQping (which cleans up after itself) says first whether the server is back.
  std::atomic<bool> server_down{false};
};

PostgresDatabase::PostgresDatabase(const PostgresOptions& options) {
  static std::once_flag registered;
  std::call_once(registered, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
  if (options.pool_size < 1) throw std::invalid_argument("PostgreSQL pool size must be positive");
  // Connected once with libpq itself first: Poco's connector leaks a connection that failed, and
  // a wrong address, database or password is the common start-up mistake.
  PGconn* probe = PQconnectdb(options.connection_string.c_str());
  const bool reachable = PQstatus(probe) == CONNECTION_OK;
  PQfinish(probe);
  if (!reachable) throw StoreUnavailable("store: connect: PostgreSQL is unavailable");
  pool_ = std::make_unique<Pool>(options);
  Transaction("connect", TransactionKind::kRead,
              [](SqlSession& session) { session.Execute("SELECT 1", {}); });
}

PostgresDatabase::~PostgresDatabase() = default;

void PostgresDatabase::Transaction(const char* operation, TransactionKind /*kind*/,
                                   const std::function<void(SqlSession&)>& body) {
  const std::string where = "store: " + std::string(operation) + ": ";
  if (!pool_->free_slots.try_acquire_for(pool_->acquire_timeout)) {
    throw StoreUnavailable(where + "no PostgreSQL connection became free in time");
  }
  struct Slot {
    std::counting_semaphore<>& slots;
    ~Slot() { slots.release(); }
  } slot{pool_->free_slots};

  if (pool_->server_down.load()) {
    if (PQping(pool_->connection_string.c_str()) != PQPING_OK) {
      throw StoreUnavailable(where + "PostgreSQL is unavailable");
    }
    pool_->server_down.store(false);
  }
  int dead_sessions = 0;
  for (int attempt = 1;; ++attempt) {
    std::optional<Poco::Data::Session> session;
    bool began = false;
    try {
      try {
        session.emplace(pool_->sessions.get());
        session->begin();
        began = true;
      } catch (const Poco::Exception& error) {
        // Pooled connections the server dropped while idle (it restarted) fail here, before
        // anything was sent: the pool discards each, and the next one, or a new one, is tried.
        if (session && !session->isConnected() && dead_sessions++ <= pool_->size) {
          --attempt;
          continue;
        }
        if (!session || !session->isConnected()) pool_->server_down.store(true);
        ThrowMapped(error, operation, session && session->isConnected());
      }
      PostgresSession sql_session(*session, operation);
      body(sql_session);
      try {
        session->commit();
      } catch (const Poco::Exception& error) {
        // Whether a COMMIT whose answer was lost took effect is unknown: never retried here.
        ThrowMapped(error, operation, session->isConnected());
      }
      return;
    } catch (const TransientConflict&) {
      if (began) {
        try {
          session->rollback();
        } catch (const Poco::Exception&) {
        }
      }
      if (attempt >= kMaxAttempts) {
        throw StoreUnavailable(where + "PostgreSQL kept aborting the transaction (conflicts)");
      }
    } catch (...) {
      if (began) {
        try {
          if (session->isConnected()) session->rollback();
        } catch (const Poco::Exception&) {
          // The connection is gone: the server rolled back; the pool drops the session.
        }
      }
      throw;
    }
  }
}

}  // namespace lab_orders::store
