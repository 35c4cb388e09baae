#include "lab_orders/app/command_line.h"

#include <algorithm>

#include "lab_orders/http/openapi_document.h"

#ifndef LAB_ORDERS_VERSION
#error "LAB_ORDERS_VERSION is set by CMake from the project's version"
#endif

namespace lab_orders {
namespace {

constexpr std::string_view kConfiguration =
    R"(Configuration comes from the environment (docs/contract.md, section 4, says what each
variable does), or a KEY=VALUE file named by LAB_ORDERS_CONFIG: LAB_ORDERS_ENV (production |
development), LAB_ORDERS_LISTEN,
LAB_ORDERS_DATABASE (sqlite:PATH or postgresql://user:pass@host:port/db?sslmode=...),
LAB_ORDERS_DATABASE_POOL (8), LAB_ORDERS_DATABASE_WAIT_MS (1000), LAB_ORDERS_JWT_SECRET, LAB_ORDERS_JWT_PUBLIC_KEY, LAB_ORDERS_JWT_ISSUER,
LAB_ORDERS_JWT_AUDIENCE, LAB_ORDERS_PANELS, LAB_ORDERS_IDEMPOTENCY_TTL,
LAB_ORDERS_REPLAY_CACHE_KEYS (10000), LAB_ORDERS_PHI_KEY,
LAB_ORDERS_HTTP_THREADS, LAB_ORDERS_HTTP_QUEUE, LAB_ORDERS_SHUTDOWN_GRACE_MS, JUNCTION_BASE_URL,
JUNCTION_API_KEY, JUNCTION_CA_FILE, JUNCTION_TIMEOUT_MS, JUNCTION_WEBHOOK_SECRET.
Concurrency: LAB_ORDERS_HTTP_THREADS (64) is how many requests are served at once (idle
connections hold no thread); LAB_ORDERS_HTTP_QUEUE (256) requests wait for a thread, and beyond
that get 503 server_busy with Retry-After. The door: LAB_ORDERS_HTTP_IDLE_TIMEOUT_S (5: an idle
keep-alive connection), LAB_ORDERS_HTTP_HEAD_TIMEOUT_S (10: a request head from its first byte),
LAB_ORDERS_HTTP_BODY_TIMEOUT_S (30), LAB_ORDERS_HTTP_SEND_TIMEOUT_S (30: an answer the client
must read), LAB_ORDERS_HTTP_MAX_CONNECTIONS (10000), LAB_ORDERS_HTTP_MAX_CONNECTIONS_PER_ADDRESS
(1000; raise it behind a proxy), LAB_ORDERS_HTTP_IO_THREADS (1). JUNCTION_MAX_IDLE_CONNECTIONS
(LAB_ORDERS_HTTP_THREADS + LAB_ORDERS_WORKERS) keep-alive connections to Junction kept for reuse.
The appointment workflow: LAB_ORDERS_WORKERS (4), LAB_ORDERS_JUNCTION_RATE (20 calls/s),
LAB_ORDERS_JOB_LEASE_S (120), LAB_ORDERS_REQUISITION_POLL_MS (2000),
LAB_ORDERS_CONFIRMATION_POLL_MS (1000), LAB_ORDERS_RETRY_INITIAL_MS (1000),
LAB_ORDERS_NO_SLOT_RETRY_MS (900000), LAB_ORDERS_BOOKING_LEAD_MINUTES (120),
LAB_ORDERS_MAX_PROVIDER_CANCELLATIONS (3), LAB_ORDERS_RECONCILE_INTERVAL_MS (21600000),
LAB_ORDERS_SYNC_CONFIRMATION_MS (2500; JUNCTION_TIMEOUT_MS must exceed it by 1000),
LAB_ORDERS_BOOKING_SETTLE_MS (JUNCTION_TIMEOUT_MS, and no less: a booking whose answer was lost
is looked up only this long after it went out), LAB_ORDERS_KEY_LEASE_S (60; at least 2 x JUNCTION_TIMEOUT_MS + 1 s),
LAB_ORDERS_COVERAGE_TTL_S (600: how long Junction's word on which channels serve a ZIP is
kept; 0 asks for every order), LAB_ORDERS_COMPLETER_AFTER_S (300), LAB_ORDERS_COMPLETER_INTERVAL_S (30).
Brand webhooks: LAB_ORDERS_WEBHOOK_INTERVAL_MS (1000: how often due deliveries are looked for),
LAB_ORDERS_WEBHOOK_RETRY_DELAYS_S (5,300,1800,7200,18000,36000,36000 with 10% jitter).
The patient's booking links: LAB_ORDERS_PUBLIC_BASE_URL (http(s)://host[:port] patients reach;
unset, links are off outside development mode), LAB_ORDERS_BOOKING_LINK_TTL_S (86400).
Outside development mode a missing secret or key stops start-up, naming every one missing.)";

// The commands that read the configuration say where it is described.
constexpr std::string_view kReadsConfiguration =
    "It reads the configuration as serve does: the environment, or LAB_ORDERS_CONFIG\n"
    "(`lab-orders serve --help` lists every variable).\n";

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> commands = {
      {"serve",
       R"(  serve     run the HTTP service (applies pending migrations first))",
       {},
       false},
      {"migrate", R"(  migrate   apply the database schema and exit)", {}, false},
      {"token",
       R"(  token     print a signed JWT for the configured HS256 secret (development and tests)
              --brand BRAND --user USER [--scope "labs:orders:read labs:orders:write"]
              [--ttl SECONDS (default 3600)]; the brand's webhook endpoints want the scope
              labs:webhooks:manage)",
       {{"--brand", true}, {"--user", true}, {"--scope", true}, {"--ttl", true}},
       false},
      {"healthcheck",
       R"(  healthcheck
            GET /healthz on LAB_ORDERS_LISTEN; exit 0 when it answers 200 (the container
            image's HEALTHCHECK, which has no curl))",
       {},
       false},
      {"replay",
       R"(  replay    run QA fixture scenarios (fixtures/README.md), each against its own junction-sim
            and service on free ports with a fresh embedded store
              [PATH...] (default fixtures/scenarios) [--filter TEXT] [-j N] [--junit FILE]
              [--sim PATH (default: junction-sim beside lab-orders)] [--panels FILE] [--keep]
            exit 0 when every scenario passed, 1 when one failed, 2 for bad input)",
       {{"--filter", true},
        {"-j", true},
        {"--jobs", true},
        {"--junit", true},
        {"--sim", true},
        {"--panels", true},
        {"--keep", false}},
       true}};
  return commands;
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec& command : Commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::string UsageText() {
  std::string text =
      "lab-orders: blood panel orders for health brands, fulfilled by Junction\n\n"
      "Usage: lab-orders <command> [options]\n"
      "       lab-orders --version\n\n"
      "Commands:\n";
  for (const CommandSpec& command : Commands()) text.append(command.help).append("\n");
  text.append("\n").append(kConfiguration).append("\n\n");
  text.append("`lab-orders <command> --help` says the same for one command.\n");
  return text;
}

std::string CommandUsageText(const CommandSpec& command) {
  std::string text = "Usage: lab-orders " + std::string(command.name) + " [options]\n\n";
  text.append(command.help).append("\n\n");
  if (command.name == "serve") {
    text.append(kConfiguration).append("\n");
  } else if (command.name != "replay") {
    text.append(kReadsConfiguration);
  }
  return text;
}

std::string VersionText() {
  const nlohmann::json& info = http::OpenApiDocument()["info"];
  return "lab-orders " LAB_ORDERS_VERSION " (API " + info.value("version", std::string("?")) +
         ")\n";
}

std::string CheckArguments(const CommandSpec& command, const std::vector<std::string>& args) {
  const std::string name(command.name);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto flag = std::find_if(command.flags.begin(), command.flags.end(),
                             [&](const auto& known) { return known.first == arg; });
    if (flag != command.flags.end()) {
      if (flag->second && ++i >= args.size()) return name + ": " + arg + " needs a value";
      continue;
    }
    if (!arg.empty() && arg[0] == '-') return name + ": unknown flag " + arg;
    if (!command.takes_paths) return name + ": takes no argument " + arg;
  }
  return "";
}

}  // namespace lab_orders
