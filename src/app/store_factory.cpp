#include "lab_orders/app/store_factory.h"

#include <filesystem>

#include "lab_orders/store/phi_cipher.h"
#include "lab_orders/store/sqlite_store.h"

namespace lab_orders {

std::unique_ptr<store::Store> OpenStore(const Config& config, bool starting_service) {
  const std::string sqlite_prefix = "sqlite:";
  if (config.database.rfind(sqlite_prefix, 0) != 0) {
    throw ConfigError("LAB_ORDERS_DATABASE: only sqlite:PATH is supported in this build");
  }
  std::filesystem::path path = config.database.substr(sqlite_prefix.size());
  if (path.empty()) throw ConfigError("LAB_ORDERS_DATABASE: sqlite: needs a file path");
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  auto store = std::make_unique<store::SqliteStore>(
      path.string(), store::PhiCipher::FromBase64(config.phi_key_base64));
  store->Migrate();
  if (starting_service) {
    // One process per SQLite file: every lease in it belonged to a process that is gone.
    store->ReleaseAllLeases();
    store->ReleaseAllJobLeases();
  }
  return store;
}

}  // namespace lab_orders
