#pragma once

// SQLite behind SqlDatabase: one connection in WAL mode shared by the service's threads, whole
// transactions serialised.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "store/sql_session.h"

namespace lab_orders::store {

class SqliteDatabase final : public SqlDatabase {
 public:
  // Opens (creating if needed) the file. Throws StoreUnavailable when it cannot be opened or
  // configured.
  SqliteDatabase(const std::string& path, std::chrono::milliseconds busy_timeout);
  ~SqliteDatabase() override;
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  void Transaction(const char* operation, TransactionKind kind,
                   const std::function<void(SqlSession&)>& body) override;

 private:
  class Connection;

  // Serialises whole transactions: SQLITE_OPEN_FULLMUTEX only serialises single API calls.
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace lab_orders::store
