#include "support/postgres_env.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "lab_orders/common/ids.h"
#include "lab_orders/store/postgres_url.h"

namespace lab_orders::testing {
namespace {

std::optional<std::string> Variable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// The last `limit` bytes of a file, or "" when it cannot be read.
std::string FileTail(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  return text.size() > limit ? text.substr(text.size() - limit) : text;
}

// Runs a cluster control command; a failure says what the command and the server's own log
// printed, so an outage test that fails in CI explains itself.
void RunControlCommand(const char* variable) {
  std::optional<std::string> command = Variable(variable);
  if (!command) throw std::runtime_error(std::string(variable) + " is not set");
  char output_path[] = "/tmp/lab-orders-pg-ctl.XXXXXX";
  const int fd = mkstemp(output_path);
  if (fd < 0) throw std::runtime_error("test PostgreSQL: no temporary file for pg_ctl's output");
  close(fd);
  const std::string redirected = *command + " >" + output_path + " 2>&1";
  const int status = std::system(redirected.c_str());
  const std::string output = FileTail(output_path, 2000);
  unlink(output_path);
  if (status == 0) return;
  std::string message = std::string("the command in ") + variable + " failed (status " +
                        std::to_string(status) + "); it printed:\n" + output;
  if (std::optional<std::string> log = Variable("LAB_ORDERS_TEST_POSTGRES_LOG")) {
    message += "\nthe end of the server's log:\n" + FileTail(*log, 4000);
  }
  throw std::runtime_error(message);
}

// Runs one statement outside any transaction (CREATE/DROP DATABASE refuse to run in one).
void AdminExec(const std::string& admin_url, const std::string& sql) {
  PGconn* conn = PQconnectdb(store::PostgresConnectionString(admin_url).c_str());
  const bool connected = PQstatus(conn) == CONNECTION_OK;
  PGresult* result = connected ? PQexec(conn, sql.c_str()) : nullptr;
  const bool ok = result != nullptr && PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  PQfinish(conn);
  if (!ok) throw std::runtime_error("test PostgreSQL: an administrative statement failed");
}

}  // namespace

std::optional<std::string> TestPostgresUrl() { return Variable("LAB_ORDERS_TEST_POSTGRES_URL"); }

bool PostgresRequired() { return Variable("LAB_ORDERS_REQUIRE_POSTGRES") == "1"; }

void StopTestPostgres() { RunControlCommand("LAB_ORDERS_TEST_POSTGRES_STOP"); }
void StartTestPostgres() { RunControlCommand("LAB_ORDERS_TEST_POSTGRES_START"); }

ScratchPostgresDatabase::ScratchPostgresDatabase(const std::string& admin_url)
    : admin_url_(admin_url) {
  std::string suffix = NewRandomUuid();
  std::erase(suffix, '-');
  name_ = "lo_test_" + suffix;
  AdminExec(admin_url_, "CREATE DATABASE " + name_);
  // The admin URL with its database name replaced (or added).
  std::size_t query = admin_url_.find('?');
  std::string base = admin_url_.substr(0, query);
  std::string rest = query == std::string::npos ? "" : admin_url_.substr(query);
  std::size_t authority = base.find("//");
  std::size_t slash = base.find('/', authority == std::string::npos ? 0 : authority + 2);
  url_ = (slash == std::string::npos ? base : base.substr(0, slash)) + "/" + name_ + rest;
}

ScratchPostgresDatabase::~ScratchPostgresDatabase() {
  try {
    AdminExec(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The cluster is thrown away after the run anyway.
  }
}

}  // namespace lab_orders::testing
