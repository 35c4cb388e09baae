#pragma once

// PostgreSQL behind SqlDatabase, through libpq itself: a pool of connections, each transaction
// on one of them, each statement prepared once per connection and then executed in one round
// trip. Many processes may share the database: row locks (FOR UPDATE [SKIP LOCKED]) and
// ON CONFLICT do what SQLite's single write lock does for one process.

#include <memory>

#include "lab_orders/store/postgres_store.h"
#include "store/sql_session.h"

namespace lab_orders::store {

class PostgresDatabase final : public SqlDatabase {
 public:
  // Connects one connection at once, so a wrong address or password fails at start-up. Throws
  // StoreUnavailable when the database cannot be reached.
  explicit PostgresDatabase(const PostgresOptions& options);
  ~PostgresDatabase() override;
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  // kRead runs each statement on its own (autocommit): under READ COMMITTED every statement of a
  // transaction takes its own snapshot anyway, and BEGIN and COMMIT would be two more round trips.
  // kWrite sends BEGIN together with its first statement (one pipeline) and COMMIT at the end.
  void Transaction(const char* operation, TransactionKind kind,
                   const std::function<void(SqlSession&)>& body) override;

  // Transactions waiting for a connection now (served first come, first served).
  int WaitingForConnection() const;

 private:
  class Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace lab_orders::store
