#pragma once

// PostgreSQL behind SqlDatabase, through Poco::Data: a pool of connections, each transaction on
// one of them. Many processes may share the database: row locks (FOR UPDATE [SKIP LOCKED]) and
// ON CONFLICT do what SQLite's single write lock does for one process.

#include <chrono>
#include <memory>
#include <string>

#include "lab_orders/store/postgres_store.h"
#include "store/sql_session.h"

namespace lab_orders::store {

class PostgresDatabase final : public SqlDatabase {
 public:
  // Connects one session at once, so a wrong address or password fails at start-up. Throws
  // StoreUnavailable when the database cannot be reached.
  explicit PostgresDatabase(const PostgresOptions& options);
  ~PostgresDatabase() override;
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  void Transaction(const char* operation, TransactionKind kind,
                   const std::function<void(SqlSession&)>& body) override;

 private:
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace lab_orders::store
