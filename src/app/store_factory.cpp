#include "lab_orders/app/store_factory.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "lab_orders/store/phi_cipher.h"
#include "lab_orders/store/postgres_store.h"
#include "lab_orders/store/postgres_url.h"
#include "lab_orders/store/sqlite_store.h"

namespace lab_orders {
namespace {

std::unique_ptr<store::SqlStore> OpenSqlite(const Config& config, bool starting_service) {
  std::filesystem::path path = config.database.substr(std::string_view("sqlite:").size());
  if (path.empty()) throw ConfigError("LAB_ORDERS_DATABASE: sqlite: needs a file path");
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  auto store = std::make_unique<store::SqliteStore>(
      path.string(), store::PhiCipher::FromBase64(config.phi_key_base64));
  store->Migrate();
  if (starting_service) {
    // One process per SQLite file: every lease in it belonged to a process that is gone.
    store->ReleaseAllLeases();
    store->ReleaseAllJobLeases();
    store->ReleaseAllDeliveryLeases();
  }
  return store;
}

std::unique_ptr<store::SqlStore> OpenPostgres(const Config& config) {
  store::PostgresOptions options;
  options.connection_string = store::PostgresConnectionString(config.database);
  options.pool_size = config.database_pool_size;
  options.acquire_timeout = config.database_wait;
  spdlog::info("store: PostgreSQL at {} (pool of {})", store::RedactDatabaseUrl(config.database),
               options.pool_size);
  auto store = std::make_unique<store::PostgresStore>(
      options, store::PhiCipher::FromBase64(config.phi_key_base64));
  // Replicas starting together take turns (an advisory lock); leases stay as they are, since
  // other replicas may be working under them.
  store->Migrate();
  return store;
}

}  // namespace

std::unique_ptr<store::Store> OpenStore(const Config& config, bool starting_service,
                                        const Clock* serving_clock) {
  std::unique_ptr<store::SqlStore> store = config.database.rfind("sqlite:", 0) == 0
                                               ? OpenSqlite(config, starting_service)
                                               : OpenPostgres(config);
  if (serving_clock) {
    store->CacheFinishedKeys(config.replay_cache_keys, config.idempotency_ttl, *serving_clock);
  }
  return store;
}

}  // namespace lab_orders
