#include "lab_orders/app/config.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lab_orders/common/encoding.h"
#include "lab_orders/common/svix.h"
#include "lab_orders/store/postgres_url.h"

namespace lab_orders {
namespace {

class Variables {
 public:
  explicit Variables(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  std::optional<std::string> Get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) return std::nullopt;
    return it->second;
  }
  std::string Get(const std::string& name, const std::string& fallback) const {
    return Get(name).value_or(fallback);
  }
  long long Integer(const std::string& name, long long fallback, long long min_value,
                    long long max_value) const {
    auto text = Get(name);
    if (!text) return fallback;
    try {
      size_t used = 0;
      long long value = std::stoll(*text, &used);
      if (used == text->size() && value >= min_value && value <= max_value) return value;
    } catch (const std::exception&) {
    }
    throw ConfigError(name + " must be a whole number from " + std::to_string(min_value) + " to " +
                      std::to_string(max_value));
  }

 private:
  std::map<std::string, std::string> values_;
};

// "5,300,1800": the waits after the first, second, ... failed delivery attempt, in seconds.
std::vector<std::chrono::seconds> ParseRetryDelays(const std::string& text) {
  std::vector<std::chrono::seconds> delays;
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    try {
      std::size_t used = 0;
      const long long seconds = std::stoll(part, &used);
      if (used == part.size() && seconds >= 1 && seconds <= 86400 && delays.size() < 20) {
        delays.emplace_back(seconds);
        continue;
      }
    } catch (const std::exception&) {
    }
    throw ConfigError(
        "LAB_ORDERS_WEBHOOK_RETRY_DELAYS_S must be up to 20 comma-separated whole numbers of "
        "seconds from 1 to 86400");
  }
  if (delays.empty()) throw ConfigError("LAB_ORDERS_WEBHOOK_RETRY_DELAYS_S names no delay");
  return delays;
}

std::map<std::string, std::string> ReadConfigFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw ConfigError("LAB_ORDERS_CONFIG: cannot read " + path);
  std::map<std::string, std::string> values;
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    size_t equals = line.find('=');
    if (equals == std::string::npos) {
      throw ConfigError("LAB_ORDERS_CONFIG: line " + std::to_string(number) + " is not KEY=VALUE");
    }
    std::string key = line.substr(start, equals - start);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    values[key] = line.substr(equals + 1);
  }
  return values;
}

std::string ReadFile(const std::string& variable, const std::string& path) {
  std::ifstream file(path);
  if (!file) throw ConfigError(variable + ": cannot read " + path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Dev mode only: a PHI key made once and kept beside the database, readable by its owner alone.
std::string DevPhiKey(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string path = dir + "/dev-phi.key";
  if (std::ifstream existing(path); existing) {
    std::string key;
    std::getline(existing, key);
    if (!key.empty()) return key;
  }
  std::string key = Base64Encode(RandomBytes(32));
  {
    std::ofstream out(path, std::ios::trunc);
    out << key << "\n";
  }
  ::chmod(path.c_str(), 0600);
  return key;
}

void ParseListen(const std::string& text, Config* config) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw ConfigError("LAB_ORDERS_LISTEN must be HOST:PORT");
  }
  config->listen_host = text.substr(0, colon);
  try {
    size_t used = 0;
    int port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port < 0 || port > 65535) throw std::out_of_range("");
    config->listen_port = static_cast<unsigned short>(port);
  } catch (const std::exception&) {
    throw ConfigError("LAB_ORDERS_LISTEN must be HOST:PORT with a port from 0 to 65535");
  }
}

// LAB_ORDERS_PUBLIC_BASE_URL: an origin, http(s)://host[:port], a trailing slash dropped; no
// path, query or user (a patient's link is this, then /book/{token}).
std::string PublicBaseUrl(std::string text) {
  if (!text.empty() && text.back() == '/') text.pop_back();
  const bool https = text.rfind("https://", 0) == 0;
  const bool http = text.rfind("http://", 0) == 0;
  const std::string authority = text.substr(https ? 8 : http ? 7 : 0);
  const bool plain = !authority.empty() && authority.find_first_of("/?#@ \t") == std::string::npos;
  if (!(https || http) || !plain) {
    throw ConfigError(
        "LAB_ORDERS_PUBLIC_BASE_URL must be an origin: http(s)://host[:port], no path");
  }
  return text;
}

}  // namespace

Config LoadConfig(const std::map<std::string, std::string>& environment,
                  const std::string& dev_key_dir) {
  std::map<std::string, std::string> merged;
  if (auto file = environment.find("LAB_ORDERS_CONFIG");
      file != environment.end() && !file->second.empty()) {
    merged = ReadConfigFile(file->second);
  }
  for (const auto& [name, value] : environment) {
    if (!value.empty()) merged[name] = value;
  }
  Variables vars(std::move(merged));

  Config config;
  std::string env = vars.Get("LAB_ORDERS_ENV", "production");
  if (env != "production" && env != "development") {
    throw ConfigError("LAB_ORDERS_ENV must be production or development");
  }
  config.development = env == "development";
  ParseListen(vars.Get("LAB_ORDERS_LISTEN", "127.0.0.1:8080"), &config);
  config.database = vars.Get("LAB_ORDERS_DATABASE", "sqlite:var/lab-orders.db");
  if (config.database.rfind("sqlite:", 0) != 0) {
    try {
      store::PostgresConnectionString(config.database);  // checked here, converted when opened
    } catch (const std::invalid_argument& error) {
      throw ConfigError(std::string(error.what()) +
                        " (LAB_ORDERS_DATABASE must be sqlite:PATH or postgresql://...)");
    }
  }
  config.database_pool_size = int(vars.Integer("LAB_ORDERS_DATABASE_POOL", 8, 1, 1000));
  config.database_wait =
      std::chrono::milliseconds(vars.Integer("LAB_ORDERS_DATABASE_WAIT_MS", 1000, 10, 60000));
  config.panels_path = vars.Get("LAB_ORDERS_PANELS", "config/panels.json");
  config.idempotency_ttl =
      std::chrono::seconds(vars.Integer("LAB_ORDERS_IDEMPOTENCY_TTL", 86400, 60, 30 * 86400));
  config.replay_cache_keys =
      std::size_t(vars.Integer("LAB_ORDERS_REPLAY_CACHE_KEYS", 10000, 0, 10000000));
  config.http_threads = int(vars.Integer("LAB_ORDERS_HTTP_THREADS", 64, 2, 4096));
  config.http_queue = int(vars.Integer("LAB_ORDERS_HTTP_QUEUE", 256, 1, 65536));
  http::DoorSettings& door = config.http_door;
  auto seconds = [&](const char* name, long long fallback) {
    return std::chrono::seconds(vars.Integer(name, fallback, 1, 3600));
  };
  door.idle_timeout = seconds("LAB_ORDERS_HTTP_IDLE_TIMEOUT_S", 5);
  door.head_timeout = seconds("LAB_ORDERS_HTTP_HEAD_TIMEOUT_S", 10);
  door.body_timeout = seconds("LAB_ORDERS_HTTP_BODY_TIMEOUT_S", 30);
  door.send_timeout = seconds("LAB_ORDERS_HTTP_SEND_TIMEOUT_S", 30);
  door.max_connections =
      std::size_t(vars.Integer("LAB_ORDERS_HTTP_MAX_CONNECTIONS", 10000, 16, 1000000));
  door.max_connections_per_address =
      std::size_t(vars.Integer("LAB_ORDERS_HTTP_MAX_CONNECTIONS_PER_ADDRESS", 1000, 1, 1000000));
  door.io_threads = int(vars.Integer("LAB_ORDERS_HTTP_IO_THREADS", 1, 1, 64));
  config.shutdown_grace =
      std::chrono::milliseconds(vars.Integer("LAB_ORDERS_SHUTDOWN_GRACE_MS", 0, 0, 120000));

  config.jwt.hs256_secret = vars.Get("LAB_ORDERS_JWT_SECRET");
  if (auto key_file = vars.Get("LAB_ORDERS_JWT_PUBLIC_KEY")) {
    config.jwt.public_key_pem = ReadFile("LAB_ORDERS_JWT_PUBLIC_KEY", *key_file);
  }
  config.jwt.issuer = vars.Get("LAB_ORDERS_JWT_ISSUER");
  config.jwt.audience = vars.Get("LAB_ORDERS_JWT_AUDIENCE");
  // Outside development mode every missing secret is named at once: one restart to fix them all.
  std::vector<std::string> missing;
  if (!config.jwt.hs256_secret && !config.jwt.public_key_pem) {
    if (config.development) {
      config.jwt.hs256_secret = kDevJwtSecret;
    } else {
      missing.push_back("LAB_ORDERS_JWT_SECRET or LAB_ORDERS_JWT_PUBLIC_KEY");
    }
  }
  if (config.jwt.hs256_secret && config.jwt.hs256_secret->size() < 32) {
    throw ConfigError("LAB_ORDERS_JWT_SECRET must be at least 32 characters");
  }

  if (auto key = vars.Get("LAB_ORDERS_PHI_KEY")) {
    config.phi_key_base64 = *key;
  } else if (config.development) {
    config.phi_key_base64 = DevPhiKey(dev_key_dir);
  } else {
    missing.push_back("LAB_ORDERS_PHI_KEY (base64 of 32 random bytes)");
  }
  if (!config.phi_key_base64.empty()) {
    auto phi_key = Base64Decode(config.phi_key_base64);
    if (!phi_key || phi_key->size() != 32) {
      throw ConfigError("LAB_ORDERS_PHI_KEY must be base64 of exactly 32 bytes");
    }
  }

  config.junction.base_url = vars.Get("JUNCTION_BASE_URL", "http://127.0.0.1:8090");
  if (auto key = vars.Get("JUNCTION_API_KEY")) {
    config.junction.api_key = *key;
  } else if (config.development) {
    config.junction.api_key = "sk_us_dev";
  } else {
    missing.push_back("JUNCTION_API_KEY");
  }
  if (!missing.empty()) {
    std::string names;
    for (const std::string& name : missing) names += (names.empty() ? "" : "; ") + name;
    throw ConfigError(
        "not set, and needed outside development mode (LAB_ORDERS_ENV=development "
        "has stand-ins for local use): " +
        names);
  }
  config.junction.ca_file = vars.Get("JUNCTION_CA_FILE", "");
  config.junction.timeout =
      std::chrono::milliseconds(vars.Integer("JUNCTION_TIMEOUT_MS", 10000, 100, 120000));
  if (auto base = vars.Get("LAB_ORDERS_PUBLIC_BASE_URL")) {
    config.public_base_url = PublicBaseUrl(*base);
  }
  config.booking_link_ttl =
      std::chrono::seconds(vars.Integer("LAB_ORDERS_BOOKING_LINK_TTL_S", 86400, 300, 30 * 86400));
  config.junction_webhook_secret = vars.Get("JUNCTION_WEBHOOK_SECRET");
  if (config.junction_webhook_secret) {
    try {
      WebhookSigner check(*config.junction_webhook_secret);
    } catch (const std::invalid_argument&) {
      throw ConfigError("JUNCTION_WEBHOOK_SECRET must be whsec_ followed by base64");
    }
  }

  using std::chrono::milliseconds;
  config.jobs.workers = int(vars.Integer("LAB_ORDERS_WORKERS", 4, 1, 256));
  config.jobs.lease = std::chrono::seconds(vars.Integer("LAB_ORDERS_JOB_LEASE_S", 120, 5, 3600));
  config.junction_rate_per_second = double(vars.Integer("LAB_ORDERS_JUNCTION_RATE", 20, 1, 10000));
  // Every request thread and every worker may hold a Junction connection at once. A pool that
  // keeps fewer idle closes the rest after each call and opens new ones: a connection (and a TLS
  // handshake) per call, and a TIME_WAIT port each, which at ~2,000 calls/s runs out of local
  // ports within a minute.
  config.junction.max_idle_connections = int(vars.Integer(
      "JUNCTION_MAX_IDLE_CONNECTIONS", config.http_threads + config.jobs.workers, 0, 65536));
  workflow::WorkflowSettings& flow = config.workflow;
  flow.requisition_poll.initial =
      milliseconds(vars.Integer("LAB_ORDERS_REQUISITION_POLL_MS", 2000, 10, 3600000));
  flow.confirmation_poll.initial =
      milliseconds(vars.Integer("LAB_ORDERS_CONFIRMATION_POLL_MS", 1000, 10, 3600000));
  flow.upstream_retry.initial =
      milliseconds(vars.Integer("LAB_ORDERS_RETRY_INITIAL_MS", 1000, 10, 3600000));
  flow.results_poll.initial =
      milliseconds(vars.Integer("LAB_ORDERS_RESULTS_POLL_MS", 2000, 10, 3600000));
  config.jobs.failure_backoff.initial = flow.upstream_retry.initial;
  flow.no_slot_retry =
      milliseconds(vars.Integer("LAB_ORDERS_NO_SLOT_RETRY_MS", 900000, 10, 86400000));
  flow.booking_lead =
      std::chrono::minutes(vars.Integer("LAB_ORDERS_BOOKING_LEAD_MINUTES", 120, 0, 14 * 24 * 60));
  flow.fasting_latest_hour = int(vars.Integer("LAB_ORDERS_FASTING_LATEST_HOUR", 10, 1, 23));
  flow.max_provider_cancellations =
      int(vars.Integer("LAB_ORDERS_MAX_PROVIDER_CANCELLATIONS", 3, 1, 20));
  flow.reconcile_interval = milliseconds(
      vars.Integer("LAB_ORDERS_RECONCILE_INTERVAL_MS", 6 * 3600000, 10, 7 * 86400000LL));
  // Junction holds a booking call up to this long for the provider (docs/junction.md:
  // Async confirmation); the call's own deadline must outlast it, or an answer on its way is
  // taken for a lost one.
  flow.sync_confirmation_timeout_ms =
      int(vars.Integer("LAB_ORDERS_SYNC_CONFIRMATION_MS", 2500, 1000, 10000));
  if (config.junction.timeout.count() < flow.sync_confirmation_timeout_ms + 1000) {
    throw ConfigError(
        "JUNCTION_TIMEOUT_MS must be at least LAB_ORDERS_SYNC_CONFIRMATION_MS + 1000 (" +
        std::to_string(flow.sync_confirmation_timeout_ms + 1000) +
        "): a booking call waits that long for the provider");
  }
  // A booking's answer lost (a crash mid-call): Junction may go on making it until the call's
  // deadline, so the workflow looks it up only then (docs/design.md: The workflow, Booking).
  flow.booking_settle = milliseconds(
      vars.Integer("LAB_ORDERS_BOOKING_SETTLE_MS", config.junction.timeout.count(), 1000, 600000));
  if (flow.booking_settle < config.junction.timeout) {
    throw ConfigError("LAB_ORDERS_BOOKING_SETTLE_MS must be at least JUNCTION_TIMEOUT_MS (" +
                      std::to_string(config.junction.timeout.count()) +
                      "): a booking call may go on that long");
  }
  config.key_lease = std::chrono::seconds(vars.Integer("LAB_ORDERS_KEY_LEASE_S", 60, 2, 3600));
  config.coverage_ttl =
      std::chrono::seconds(vars.Integer("LAB_ORDERS_COVERAGE_TTL_S", 600, 0, 86400));
  if (config.key_lease < 2 * config.junction.timeout + std::chrono::seconds(1)) {
    throw ConfigError(
        "LAB_ORDERS_KEY_LEASE_S must be at least 2 x JUNCTION_TIMEOUT_MS + 1 s: a "
        "request holds its key through two Junction calls");
  }
  config.completer_after =
      std::chrono::seconds(vars.Integer("LAB_ORDERS_COMPLETER_AFTER_S", 300, 1, 86400));
  config.completer_interval =
      std::chrono::seconds(vars.Integer("LAB_ORDERS_COMPLETER_INTERVAL_S", 30, 1, 3600));
  config.webhook_interval =
      std::chrono::milliseconds(vars.Integer("LAB_ORDERS_WEBHOOK_INTERVAL_MS", 1000, 10, 60000));
  if (auto delays = vars.Get("LAB_ORDERS_WEBHOOK_RETRY_DELAYS_S")) {
    config.webhook_retry_delays = ParseRetryDelays(*delays);
  }
  return config;
}

}  // namespace lab_orders
