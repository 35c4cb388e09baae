#pragma once

// The Store on PostgreSQL, shared by any number of service replicas.

#include <chrono>
#include <string>

#include "lab_orders/store/phi_cipher.h"
#include "lab_orders/store/sql_store.h"

namespace lab_orders::store {

struct PostgresOptions {
  std::string connection_string;  // libpq key=value form (see PostgresConnectionString)
  int pool_size = 8;
  // How long a transaction waits for a free connection before the store answers unavailable.
  std::chrono::milliseconds acquire_timeout{1000};
};

class PostgresStore final : public SqlStore {
 public:
  // Connects once, so a wrong address or password fails here. Does not migrate: call Migrate().
  // Throws StoreUnavailable when the database cannot be reached.
  PostgresStore(const PostgresOptions& options, PhiCipher cipher);
};

}  // namespace lab_orders::store
