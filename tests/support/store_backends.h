#pragma once

// The store's tests run on every backend: SQLite and a real PostgreSQL. Each test gets a fresh,
// empty database of its own (TestDatabase) and may open several stores on it, as several service
// processes would.
//
// PostgreSQL tests need LAB_ORDERS_TEST_POSTGRES_URL (scripts/with-postgres.sh sets it); without
// it they are skipped, unless LAB_ORDERS_REQUIRE_POSTGRES=1 (as in CI), where they fail.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "lab_orders/store/phi_cipher.h"
#include "lab_orders/store/sql_store.h"

namespace lab_orders::store {
class SqlDatabase;
class SqlSession;
}  // namespace lab_orders::store

namespace lab_orders::testing {

class ScratchPostgresDatabase;

enum class StoreBackend { kSqlite, kPostgres };

// "sqlite" or "postgres": the suffix of a parameterised test's name.
const char* StoreBackendName(StoreBackend backend);
void PrintTo(StoreBackend backend, std::ostream* out);
// For INSTANTIATE_TEST_SUITE_P(..., AllStoreBackends(), StoreBackendParamName).
std::string StoreBackendParamName(const ::testing::TestParamInfo<StoreBackend>& info);
inline auto AllStoreBackends() {
  return ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgres);
}

// Why the backend cannot be used in this run, or "" when it can.
std::string StoreBackendUnavailable(StoreBackend backend);

// One fresh, empty database, deleted with this object: a temporary SQLite file, or a PostgreSQL
// database "lo_test_<random hex>" created on the server at LAB_ORDERS_TEST_POSTGRES_URL. Throws
// std::runtime_error when the backend is unavailable (see StoreBackendUnavailable).
class TestDatabase {
 public:
  explicit TestDatabase(StoreBackend backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  StoreBackend backend() const { return backend_; }

  // A new store on this database, with its own connection (SQLite) or pool (PostgreSQL): each is
  // a separate "process". Not migrated. postgres_setting, "name=value" without spaces, is set on
  // each of a PostgreSQL store's sessions (e.g. "lock_timeout=900ms") through libpq's options,
  // in place of the store's default ones; SQLite ignores it.
  std::unique_ptr<store::SqlStore> Open(store::PhiCipher cipher,
                                        const std::string& postgres_setting = "") const;
  // The same, migrated.
  std::unique_ptr<store::SqlStore> OpenMigrated(store::PhiCipher cipher) const;

  // The SQL layer under a store, on this database: SQLite's writer and readers, or a PostgreSQL
  // pool of pool_size connections waiting up to acquire_timeout for one. For tests of the
  // sessions themselves.
  std::unique_ptr<store::SqlDatabase> OpenSqlDatabase(
      int pool_size = 4,
      std::chrono::milliseconds acquire_timeout = std::chrono::seconds(10)) const;

  // For looking at and tampering with what is really stored, on a connection of its own.
  // The first column of the first row as text; "" for no row or NULL.
  std::string QueryText(const std::string& sql);
  // Runs SQL without results; several statements may be separated by ';' (never inside literals).
  void Exec(const std::string& sql);

  // The SQLite file (SQLite only).
  const std::string& sqlite_path() const { return sqlite_path_; }
  // This database's postgresql:// URL (PostgreSQL only).
  const std::string& postgres_url() const;

 private:
  // Runs body in a transaction for QueryText and Exec. On SQLite on a new connection each time,
  // so that closing the last store closes the file (and checkpoints its WAL) as it would without
  // the tests looking; on PostgreSQL on one connection kept for the purpose.
  void Run(store::TransactionKind kind, const std::function<void(store::SqlSession&)>& body);

  StoreBackend backend_;
  std::string sqlite_path_;
  std::unique_ptr<ScratchPostgresDatabase> postgres_database_;
  std::string postgres_connection_string_;
  std::unique_ptr<store::SqlDatabase> postgres_inspector_;
};

// Runs body(i) on n threads that start together (a latch); returns what each threw ("" for
// nothing), so that a throw fails the test instead of ending the process.
std::vector<std::string> RunTogether(int n, const std::function<void(int)>& body);
// Fails the test for each thread that threw.
void ExpectNoErrors(const std::vector<std::string>& errors);

// A fixture base holding one TestDatabase for the backend Backend() names. SetUp skips the test
// (or fails it, under LAB_ORDERS_REQUIRE_POSTGRES=1) when that backend is unavailable; then
// database_ stays null, and a derived SetUp must return early.
class StoreDatabaseTest : public ::testing::Test {
 protected:
  virtual StoreBackend Backend() const = 0;

  void SetUp() override;
  void TearDown() override;

  TestDatabase& database() { return *database_; }

  std::unique_ptr<TestDatabase> database_;
};

}  // namespace lab_orders::testing
