#pragma once

// The throwaway PostgreSQL cluster that scripts/with-postgres.sh starts for the tests.

#include <optional>
#include <string>

namespace lab_orders::testing {

// LAB_ORDERS_TEST_POSTGRES_URL, or nullopt when the tests run without a cluster.
std::optional<std::string> TestPostgresUrl();
// Whether a missing cluster fails the test instead of skipping it (LAB_ORDERS_REQUIRE_POSTGRES=1,
// which scripts/test.sh sets).
bool PostgresRequired();
// What to say when a PostgreSQL test cannot run.
inline constexpr const char* kNoPostgresMessage =
    "no PostgreSQL: run the tests under scripts/with-postgres.sh (LAB_ORDERS_TEST_POSTGRES_URL)";

// Stops / starts the cluster (LAB_ORDERS_TEST_POSTGRES_STOP / _START), for outage tests.
void StopTestPostgres();
void StartTestPostgres();

// A fresh, empty database on the test cluster, dropped (with its connections) when this goes.
class ScratchPostgresDatabase {
 public:
  explicit ScratchPostgresDatabase(const std::string& admin_url);
  ~ScratchPostgresDatabase();
  ScratchPostgresDatabase(const ScratchPostgresDatabase&) = delete;
  ScratchPostgresDatabase& operator=(const ScratchPostgresDatabase&) = delete;

  const std::string& url() const { return url_; }  // postgresql://... naming the new database
  const std::string& name() const { return name_; }

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

}  // namespace lab_orders::testing
