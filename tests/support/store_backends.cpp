#include "support/store_backends.h"

#include <chrono>
#include <filesystem>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "lab_orders/common/ids.h"
#include "lab_orders/store/postgres_store.h"
#include "lab_orders/store/postgres_url.h"
#include "lab_orders/store/sqlite_store.h"
#include "store/postgres_database.h"
#include "store/sql_session.h"
#include "store/sqlite_database.h"
#include "support/postgres_env.h"

namespace lab_orders::testing {

using namespace std::chrono_literals;

const char* StoreBackendName(StoreBackend backend) {
  switch (backend) {
    case StoreBackend::kSqlite:
      return "sqlite";
    case StoreBackend::kPostgres:
      return "postgres";
  }
  return "unknown";
}

void PrintTo(StoreBackend backend, std::ostream* out) { *out << StoreBackendName(backend); }

std::string StoreBackendParamName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return StoreBackendName(info.param);
}

std::string StoreBackendUnavailable(StoreBackend backend) {
  if (backend == StoreBackend::kPostgres && !TestPostgresUrl()) return kNoPostgresMessage;
  return "";
}

TestDatabase::TestDatabase(StoreBackend backend) : backend_(backend) {
  if (std::string reason = StoreBackendUnavailable(backend); !reason.empty()) {
    throw std::runtime_error(reason);
  }
  switch (backend) {
    case StoreBackend::kSqlite:
      sqlite_path_ = (std::filesystem::temp_directory_path() /
                      ("lab-orders-store-test-" + NewRandomUuid() + ".db"))
                         .string();
      break;
    case StoreBackend::kPostgres:
      postgres_database_ = std::make_unique<ScratchPostgresDatabase>(*TestPostgresUrl());
      postgres_connection_string_ = store::PostgresConnectionString(postgres_database_->url());
      break;
  }
}

TestDatabase::~TestDatabase() {
  postgres_inspector_.reset();
  switch (backend_) {
    case StoreBackend::kSqlite:
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::error_code ignored;
        std::filesystem::remove(sqlite_path_ + suffix, ignored);
      }
      break;
    case StoreBackend::kPostgres:
      postgres_database_.reset();  // DROP DATABASE ... WITH (FORCE)
      break;
  }
}

const std::string& TestDatabase::postgres_url() const {
  if (!postgres_database_) throw std::logic_error("test database: not a PostgreSQL database");
  return postgres_database_->url();
}

std::unique_ptr<store::SqlStore> TestDatabase::OpenMigrated(store::PhiCipher cipher) const {
  std::unique_ptr<store::SqlStore> store = Open(std::move(cipher));
  store->Migrate();
  return store;
}

std::unique_ptr<store::SqlStore> TestDatabase::Open(store::PhiCipher cipher,
                                                    const std::string& postgres_setting) const {
  if (backend_ == StoreBackend::kSqlite) {
    return std::make_unique<store::SqliteStore>(sqlite_path_, std::move(cipher));
  }
  store::PostgresOptions options;
  options.connection_string = postgres_connection_string_;
  if (!postgres_setting.empty()) {
    // libpq's options keyword, through the URL as the service would take it.
    const std::string& url = postgres_url();
    options.connection_string = store::PostgresConnectionString(
        url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-c" + postgres_setting);
  }
  // Generous: a loaded CI machine must not turn a wait for a connection into a failure.
  options.acquire_timeout = 10s;
  return std::make_unique<store::PostgresStore>(options, std::move(cipher));
}

std::unique_ptr<store::SqlDatabase> TestDatabase::OpenSqlDatabase(
    int pool_size, std::chrono::milliseconds acquire_timeout) const {
  if (backend_ == StoreBackend::kSqlite) {
    return std::make_unique<store::SqliteDatabase>(sqlite_path_, 5s);
  }
  store::PostgresOptions options;
  options.connection_string = postgres_connection_string_;
  options.pool_size = pool_size;
  options.acquire_timeout = acquire_timeout;
  return std::make_unique<store::PostgresDatabase>(options);
}

void TestDatabase::Run(store::TransactionKind kind,
                       const std::function<void(store::SqlSession&)>& body) {
  if (backend_ == StoreBackend::kSqlite) {
    store::SqliteDatabase database(sqlite_path_, 5s);
    database.Transaction("test inspection", kind, body);
    return;
  }
  if (!postgres_inspector_) {
    store::PostgresOptions options;
    options.connection_string = postgres_connection_string_;
    options.pool_size = 1;
    options.acquire_timeout = 10s;
    postgres_inspector_ = std::make_unique<store::PostgresDatabase>(options);
  }
  postgres_inspector_->Transaction("test inspection", kind, body);
}

std::string TestDatabase::QueryText(const std::string& sql) {
  std::string text;
  Run(store::TransactionKind::kRead, [&](store::SqlSession& session) {
    text.clear();  // a backend may run the body again
    store::Statement select = session.Query(sql);
    if (select.Step() && !select.IsNull(0)) text = select.Text(0);
  });
  return text;
}

void TestDatabase::Exec(const std::string& sql) {
  Run(store::TransactionKind::kWrite, [&](store::SqlSession& session) { session.ExecScript(sql); });
}

std::vector<std::string> RunTogether(int n, const std::function<void(int)>& body) {
  std::latch start(n);
  std::vector<std::string> errors(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        body(i);
      } catch (const std::exception& error) {
        errors[i] = error.what();
        if (errors[i].empty()) errors[i] = "an exception";
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return errors;
}

void ExpectNoErrors(const std::vector<std::string>& errors) {
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i], "") << "thread " << i;
  }
}

void StoreDatabaseTest::SetUp() {
  const StoreBackend backend = Backend();
  if (std::string reason = StoreBackendUnavailable(backend); !reason.empty()) {
    if (PostgresRequired()) {
      FAIL() << reason << " (LAB_ORDERS_REQUIRE_POSTGRES=1: PostgreSQL tests must not skip)";
    }
    GTEST_SKIP() << reason;
  }
  database_ = std::make_unique<TestDatabase>(backend);
}

void StoreDatabaseTest::TearDown() { database_.reset(); }

}  // namespace lab_orders::testing
