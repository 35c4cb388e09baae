#pragma once

// Configuration, read once (the contract: configuration) into typed structs by the composition
// root.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/config_error.h"
#include "lab_orders/http/server.h"
#include "lab_orders/junction/http_client.h"
#include "lab_orders/workflow/job_runner.h"
#include "lab_orders/workflow/order_workflow.h"

namespace lab_orders {

struct Config {
  bool development = false;
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 8080;
  std::string database = "sqlite:var/lab-orders.db";
  // PostgreSQL only: connections per process, and how long a request waits for a free one
  // before it is answered 503 store_unavailable.
  int database_pool_size = 8;
  std::chrono::milliseconds database_wait{1000};
  auth::JwtSettings jwt;
  std::string panels_path = "config/panels.json";
  std::chrono::seconds idempotency_ttl{86400};
  std::size_t replay_cache_keys = 10000;  // finished keys kept in memory for replays; 0: none
  std::string phi_key_base64;             // base64 of 32 bytes
  junction::HttpClientOptions junction;
  std::optional<std::string> junction_webhook_secret;
  // The origin patients reach the service at: the booking links' (POST .../booking-url). Unset:
  // in development mode the address the service listens on; in production, links are off.
  std::optional<std::string> public_base_url;
  std::chrono::seconds booking_link_ttl{86400};  // how long a booking link works
  int http_threads = 64;                         // requests served at once
  int http_queue = 256;  // requests waiting for a thread; beyond it, 503 at once
  http::DoorSettings http_door;
  // After SIGTERM, how long new requests still get 503 shutting_down (and /readyz 503) before
  // the listener closes: time for a load balancer to stop sending.
  std::chrono::milliseconds shutdown_grace{0};

  // The appointment workflow.
  workflow::WorkflowSettings workflow;
  workflow::JobRunnerSettings jobs;
  double junction_rate_per_second = 20;  // the workers' calls to Junction, all together
  // The completer pushes on idempotent requests unfinished for this long.
  // How long a request holds its idempotency key. A request that dies without letting go (the
  // database went away mid-request) keeps the key busy (409) this long; it must outlast the two
  // Junction calls a request makes.
  std::chrono::seconds key_lease{60};
  // How long Junction's area info (which channels serve a ZIP) is kept per ZIP.
  std::chrono::seconds coverage_ttl{600};
  std::chrono::seconds completer_after{300};
  std::chrono::seconds completer_interval{30};
  // Brand webhooks: how often the dispatcher looks for due deliveries, and the waits after each
  // failed attempt (empty: the Standard Webhooks schedule of retry_schedule.h).
  std::chrono::milliseconds webhook_interval{1000};
  std::vector<std::chrono::seconds> webhook_retry_delays;
};

// Builds the configuration from environment-style variables. A file named by LAB_ORDERS_CONFIG
// (KEY=VALUE lines, # comments) supplies values the environment does not. In development mode
// missing secrets get the defaults the contract's configuration marks "dev mode only" (the PHI key
// is generated once and kept in dev_key_dir); elsewhere they are errors naming the variable.
Config LoadConfig(const std::map<std::string, std::string>& environment,
                  const std::string& dev_key_dir = "var");

// The development HS256 secret (also what `lab-orders token` signs with in dev mode).
inline constexpr const char* kDevJwtSecret = "lab-orders-development-secret-not-for-production";

}  // namespace lab_orders
