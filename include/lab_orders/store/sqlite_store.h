#pragma once

// The embedded Store: one SQLite file in WAL mode; writes from every thread committed in shared
// batches (group commit), reads on connections of their own.

#include <chrono>
#include <string>

#include "lab_orders/store/phi_cipher.h"
#include "lab_orders/store/sql_store.h"

namespace lab_orders::store {

class SqliteStore final : public SqlStore {
 public:
  // Opens (creating if needed) the database file. Does not migrate: call Migrate().
  // Throws StoreUnavailable when the file cannot be opened or configured.
  SqliteStore(const std::string& path, PhiCipher cipher,
              std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(5000));
};

}  // namespace lab_orders::store
