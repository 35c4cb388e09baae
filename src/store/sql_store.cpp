// SqlStore: construction, the schema, and start-up's lease release. The methods of each
// aggregate are in sql_order_store.cpp, sql_job_store.cpp and sql_webhook_store.cpp.

#include "lab_orders/store/sql_store.h"

#include <set>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/postgres_store.h"
#include "lab_orders/store/sqlite_store.h"
#include "store/finished_keys.h"
#include "store/postgres_database.h"
#include "store/row_codecs.h"
#include "store/schema.h"
#include "store/sql_session.h"
#include "store/sql_transact.h"
#include "store/sqlite_database.h"

namespace lab_orders::store {

using std::chrono::system_clock;

SqlStore::SqlStore(std::unique_ptr<SqlDatabase> database, PhiCipher cipher)
    : database_(std::move(database)), cipher_(std::move(cipher)) {}

SqlStore::~SqlStore() = default;

void SqlStore::CacheFinishedKeys(std::size_t capacity, std::chrono::seconds retention,
                                 const Clock& clock) {
  finished_keys_ =
      capacity == 0 ? nullptr : std::make_unique<FinishedKeys>(capacity, retention, clock);
}

SqliteStore::SqliteStore(const std::string& path, PhiCipher cipher,
                         std::chrono::milliseconds busy_timeout)
    : SqlStore(std::make_unique<SqliteDatabase>(path, busy_timeout), std::move(cipher)) {}

PostgresStore::PostgresStore(const PostgresOptions& options, PhiCipher cipher)
    : SqlStore(std::make_unique<PostgresDatabase>(options), std::move(cipher)) {}

void SqlStore::Migrate() {
  Transact("Migrate", TransactionKind::kWrite, [&](SqlSession& db) {
    db.LockForMigration();
    db.ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
    std::set<int> applied;
    {
      Statement select = db.Query("SELECT version FROM schema_migrations");
      while (select.Step()) applied.insert(static_cast<int>(select.Integer(0)));
    }
    // Migrations have no Clock to ask; when they ran is for operators only.
    const std::string applied_at = FormatRfc3339(system_clock::now());
    for (const Migration& migration : kMigrations) {
      if (applied.contains(migration.version)) continue;
      db.ExecScript(migration.sql);
      Statement insert =
          db.Query("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)");
      insert.Bind(1, std::int64_t{migration.version}).Bind(2, applied_at).Run();
    }
  });
}

bool SqlStore::Ready() {
  try {
    return Transact("Ready", TransactionKind::kRead, [&](SqlSession& db) {
      Statement count = db.Query("SELECT COUNT(*) FROM schema_migrations WHERE version <= ?1");
      count.Bind(1, std::int64_t{kLatestVersion});
      return count.Step() && count.Integer(0) == static_cast<std::int64_t>(std::size(kMigrations));
    });
  } catch (const std::exception&) {
    return false;  // no schema_migrations table yet, or the database does not answer
  }
}

int SqlStore::ReleaseAllLeases() {
  return Transact("ReleaseAllLeases", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update =
        db.Query("UPDATE idempotency_keys SET locked_until = NULL WHERE locked_until IS NOT NULL");
    update.Run();
    return db.ChangedRows();
  });
}

int SqlStore::ReleaseAllJobLeases() {
  return Transact("ReleaseAllJobLeases", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE jobs SET locked_until = NULL, lease_owner = NULL "
        "WHERE state = 'queued' AND locked_until IS NOT NULL");
    update.Run();
    return db.ChangedRows();
  });
}

int SqlStore::ReleaseAllDeliveryLeases() {
  return Transact("ReleaseAllDeliveryLeases", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE webhook_deliveries SET locked_until = NULL, lease_owner = NULL "
        "WHERE state = 'pending' AND locked_until IS NOT NULL");
    update.Run();
    return db.ChangedRows();
  });
}

}  // namespace lab_orders::store
