#pragma once

// LAB_ORDERS_DATABASE=postgresql://user:password@host:port/db?param=value as the key=value
// connection string libpq takes (PQconnectdb), and as text safe to log.

#include <string>
#include <string_view>

namespace lab_orders::store {

// Percent-decodes each part and quotes every value. Query parameters pass through as libpq
// keywords (sslmode, sslrootcert, ...). Adds connect_timeout=2 (libpq's least) and
// application_name=lab-orders and client_min_messages=warning unless given. Throws
// std::invalid_argument on a malformed URL; the message never carries the password.
std::string PostgresConnectionString(std::string_view url);

// The URL with its password replaced by "***", for logs and errors.
std::string RedactDatabaseUrl(std::string_view url);

}  // namespace lab_orders::store
