// lab-orders: the composition root. Reads the configuration once, builds every piece and wires
// them together; nothing else reads the environment.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "lab_orders/app/command_line.h"
#include "lab_orders/app/config.h"
#include "lab_orders/app/logging.h"
#include "lab_orders/app/store_factory.h"
#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/listen.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/common/periodic_task.h"
#include "lab_orders/common/stop_signals.h"
#include "lab_orders/http/api.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/http/server.h"
#include "lab_orders/junction/http_client.h"
#include "lab_orders/junction/measured_client.h"
#include "lab_orders/junction/rate_limited_client.h"
#include "lab_orders/orders/booking_links.h"
#include "lab_orders/orders/key_completer.h"
#include "lab_orders/orders/key_reaper.h"
#include "lab_orders/orders/order_service.h"
#include "lab_orders/orders/panels.h"
#include "lab_orders/orders/request_validator.h"
#include "lab_orders/replay/replay.h"
#include "lab_orders/webhooks/destination_policy.h"
#include "lab_orders/webhooks/dispatcher.h"
#include "lab_orders/webhooks/host_resolver.h"
#include "lab_orders/webhooks/poco_transport.h"
#include "lab_orders/webhooks/test_event.h"
#include "lab_orders/workflow/job_runner.h"
#include "lab_orders/workflow/junction_webhook.h"
#include "lab_orders/workflow/order_actions.h"
#include "lab_orders/workflow/order_workflow.h"

extern char** environ;

namespace lab_orders {
namespace {

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> values;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string text = *entry;
    size_t equals = text.find('=');
    if (equals != std::string::npos) values[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return values;
}

std::vector<std::string> PanelSlugsInSchema(const nlohmann::json& schema) {
  std::vector<std::string> slugs;
  for (const auto& slug : schema["properties"]["panel_slug"]["enum"]) slugs.push_back(slug);
  return slugs;
}

// A service listening on every address is reached on loopback.
std::string ReachableHost(std::string host) {
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::" || host == "[::]") host = "::1";
  return host;
}

int Serve(const Config& config) {
  sigset_t signals = StopSignals();
  // The port first: a second instance started on a busy port stops here, before its store's
  // start-up frees the running instance's job leases.
  Poco::Net::ServerSocket listening;
  ListenExclusively(listening, config.listen_host, config.listen_port, http::kListenBacklog);
  SystemClock clock;
  std::unique_ptr<store::Store> store = OpenStore(config, /*starting_service=*/true, &clock);
  const nlohmann::json& schema = http::LabOrderRequestSchema();
  orders::PanelCatalog panels = orders::LoadPanels(config.panels_path, PanelSlugsInSchema(schema));
  RandomIdGenerator ids;
  auth::JwtVerifier verifier(config.jwt, clock);
  orders::RequestValidator validator(schema, clock);
  // GET /metrics: each piece below declares the families it counts in this one registry.
  metrics::Registry registry;
  junction::HttpJunctionClient http_junction(config.junction);
  junction::MeasuredJunctionClient junction(http_junction, registry);

  // The workflow's calls to Junction share one rate limit; a request's own calls do not wait
  // behind background polling.
  TokenBucket bucket(config.junction_rate_per_second,
                     std::max(1, int(config.junction_rate_per_second)), clock);
  junction::RateLimitedJunctionClient workflow_junction(junction, bucket);
  workflow::WorkflowSettings workflow_settings = config.workflow;
  for (const auto& [slug, panel] : panels)
    workflow_settings.lab_test_ids[slug] = panel.lab_test_ids;
  workflow::OrderWorkflow order_workflow(*store, workflow_junction, clock, ids, workflow_settings);
  // Brand webhooks: the outbox delivered from every replica at once (the store's claims keep
  // each delivery to one dispatcher, and each order's events in order).
  webhooks::SystemHostResolver resolver;
  webhooks::DestinationPolicy destinations(config.development
                                               ? webhooks::DestinationMode::kDevelopment
                                               : webhooks::DestinationMode::kProduction,
                                           resolver);
  webhooks::PocoWebhookTransport transport(destinations);
  webhooks::DispatcherSettings dispatch;
  dispatch.owner = "dispatcher-" + ids.NewUuid();
  if (!config.webhook_retry_delays.empty()) dispatch.schedule.delays = config.webhook_retry_delays;
  webhooks::Dispatcher dispatcher(*store, transport, clock, dispatch);
  dispatcher.UseMetrics(registry);
  PeriodicTask dispatching("webhook dispatcher", config.webhook_interval,
                           [&dispatcher, batch = dispatch.batch] {
                             // A full batch means more may be due: go on until a pass finds less.
                             while (dispatcher.RunOnce() == batch) {
                             }
                           });
  webhooks::EndpointService endpoints(*store, destinations, clock, ids,
                                      http::OpenApiComponentSchema("WebhookEndpointRequest"));
  // Events commit with the order's changes (its creation, each workflow step, an action, a
  // Junction webhook's job), and a resend makes a delivery due: each wakes the dispatcher
  // rather than leaving the delivery to its next interval.
  endpoints.OnDeliveriesDue([&dispatching] { dispatching.Wake(); });
  webhooks::TestEventSender test_events(*store, transport, clock, ids);

  order_workflow.UseMetrics(registry);
  workflow::JobRunner runner(*store, order_workflow, clock, config.jobs);
  runner.UseMetrics(registry);
  // Any commit may be what a waiting request (an action, a long-polling GET) waits for.
  ChangeNotifier changes;
  runner.OnCommitted([&changes, &dispatching] {
    changes.Notify();
    dispatching.Wake();
  });
  auto wake_runner = [&runner, &changes, &dispatching] {
    runner.Wake();
    changes.Notify();
    dispatching.Wake();
  };

  orders::OrderService service(
      *store, junction, validator, panels, clock, ids,
      {.key_lease = config.key_lease, .coverage_ttl = config.coverage_ttl});
  service.OnWorkflowQueued(wake_runner);
  service.UseMetrics(registry);
  workflow::OrderActions actions(*store, junction, order_workflow, clock, ids, changes,
                                 wake_runner);
  std::unique_ptr<workflow::JunctionWebhookReceiver> webhooks;
  if (config.junction_webhook_secret) {
    webhooks = std::make_unique<workflow::JunctionWebhookReceiver>(*config.junction_webhook_secret,
                                                                   *store, clock, ids);
  }
  orders::ResultService results(*store, *store, junction);
  http::Api api(service, actions, webhooks.get(), verifier, *store, wake_runner);
  api.ServeResultsWith(results);
  orders::Venues venues(junction);
  api.ServeVenuesWith(venues);
  api.WaitForChangesWith(changes);
  // A patient's booking links, at the origin the patient reaches: in development, when none is
  // set, this service's own address (and a form is then checked against the request's Host).
  std::optional<std::string> public_base_url = config.public_base_url;
  if (!public_base_url && config.development) {
    std::string host = ReachableHost(config.listen_host);
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    public_base_url = "http://" + host + ":" + std::to_string(listening.address().port());
  }
  std::unique_ptr<orders::BookingLinks> booking_links;
  if (public_base_url) {
    booking_links = std::make_unique<orders::BookingLinks>(
        *store, *store, clock,
        orders::BookingLinkSettings{*public_base_url, config.booking_link_ttl});
    http::BookingPageSettings page;
    for (const auto& [slug, panel] : panels) page.panel_names[slug] = panel.display_name;
    page.public_origin = config.public_base_url.value_or("");
    api.ServeBookingLinksWith(*booking_links, clock, std::move(page));
  } else {
    spdlog::info("booking links are off: LAB_ORDERS_PUBLIC_BASE_URL is not set");
  }
  api.ServeWebhookEndpointsWith(endpoints);
  api.SendTestEventsWith(test_events);
  api.KeepActionKeysIn(*store, clock, config.key_lease);
  api.UseMetrics(registry);
  orders::KeyReaper reaper(*store, clock, config.idempotency_ttl);
  orders::KeyCompleter completer(*store, service, clock, config.completer_after,
                                 config.completer_interval);
  runner.Start();
  http::ServerSettings http;
  http.host = config.listen_host;
  http.port = config.listen_port;
  http.threads = config.http_threads;
  http.queue = config.http_queue;
  http.door = config.http_door;
  http::Server server(api, http);
  server.Start(listening);
  std::cout << "lab-orders listening on http://" << config.listen_host << ":" << server.port()
            << std::endl;
  spdlog::info("lab-orders serving on port {} ({} mode)", server.port(),
               config.development ? "development" : "production");

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("signal {} received: finishing in-flight requests", received);
  api.BeginShutdown();
  if (config.shutdown_grace.count() > 0) {
    // The drain window; a second signal cuts it short.
    timespec grace{};
    grace.tv_sec = config.shutdown_grace.count() / 1000;
    grace.tv_nsec = (config.shutdown_grace.count() % 1000) * 1000000;
    sigtimedwait(&signals, nullptr, &grace);
  }
  server.Stop();
  runner.Stop();  // lets the runs in progress commit; queued jobs wait for the next start
  spdlog::info("stopped");
  return 0;
}

int Migrate(const Config& config) {
  OpenStore(config, /*starting_service=*/false);
  std::cout << "migrations applied" << std::endl;
  return 0;
}

int Healthcheck(const Config& config) {
  const std::string host = ReachableHost(config.listen_host);
  if (config.listen_port == 0) throw ConfigError("healthcheck: LAB_ORDERS_LISTEN names no port");
  try {
    Poco::Net::HTTPClientSession session(host, config.listen_port);
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/healthz",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    session.receiveResponse(response);
    std::cout << "GET /healthz: " << response.getStatus() << std::endl;
    return response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK ? 0 : 1;
  } catch (const Poco::Exception& e) {
    std::cerr << "lab-orders: healthcheck: " << e.displayText() << std::endl;
    return 1;
  }
}

int Token(const Config& config, const std::vector<std::string>& args) {
  std::string brand, user, scope = "labs:orders:read labs:orders:write";
  long long ttl = 3600;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i + 1 >= args.size()) throw ConfigError("token: " + args[i] + " needs a value");
    const std::string& flag = args[i];
    const std::string& value = args[++i];
    if (flag == "--brand") {
      brand = value;
    } else if (flag == "--user") {
      user = value;
    } else if (flag == "--scope") {
      scope = value;
    } else if (flag == "--ttl") {
      try {
        ttl = std::stoll(value);
      } catch (const std::exception&) {
        ttl = 0;
      }
      if (ttl < 1 || ttl > 31 * 86400) throw ConfigError("token: --ttl wants 1 to 2678400 seconds");
    } else {
      throw ConfigError("token: unknown flag " + flag);
    }
  }
  if (brand.empty() || user.empty()) throw ConfigError("token: --brand and --user are required");
  if (!config.jwt.hs256_secret) {
    throw ConfigError("token: LAB_ORDERS_JWT_SECRET is not set (tokens are signed with HS256)");
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  nlohmann::json claims = {
      {"sub", user}, {"brand_id", brand}, {"scope", scope}, {"iat", now}, {"exp", now + ttl}};
  if (config.jwt.issuer) claims["iss"] = *config.jwt.issuer;
  if (config.jwt.audience) claims["aud"] = *config.jwt.audience;
  std::cout << auth::MintHs256(*config.jwt.hs256_secret, claims) << std::endl;
  return 0;
}

int Replay(const std::vector<std::string>& args) {
  replay::ReplayOptions options;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  options.service_binary = self.string();
  options.sim_binary = (self.parent_path() / "junction-sim").string();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw ConfigError("replay: " + arg + " needs a value");
      return args[++i];
    };
    if (arg == "--filter") {
      options.filter = value();
    } else if (arg == "-j" || arg == "--jobs") {
      const std::string& jobs = value();
      bool digits = !jobs.empty() && jobs.size() <= 3 &&
                    jobs.find_first_not_of("0123456789") == std::string::npos;
      options.jobs = digits ? std::stoi(jobs) : 0;
      if (options.jobs < 1 || options.jobs > 64) throw ConfigError("replay: -j wants 1 to 64");
    } else if (arg == "--junit") {
      options.junit_file = value();
    } else if (arg == "--sim") {
      options.sim_binary = value();
    } else if (arg == "--panels") {
      options.panels_path = value();
    } else if (arg == "--keep") {
      options.keep = true;
    } else if (!arg.empty() && arg[0] == '-') {
      throw ConfigError("replay: unknown flag " + arg);
    } else {
      options.paths.push_back(arg);
    }
  }
  if (!std::filesystem::exists(options.sim_binary)) {
    throw ConfigError("replay: no junction-sim at " + options.sim_binary + " (use --sim PATH)");
  }
  return replay::RunReplay(options, std::cout);
}

}  // namespace
}  // namespace lab_orders

int main(int argc, char** argv) {
  using namespace lab_orders;
  BlockStopSignals();  // before any thread starts; Serve waits for them

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << UsageText();
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << UsageText();
    return 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << VersionText();
    return 0;
  }
  // The command and its flags are checked before the configuration is read: a typo is refused
  // at once, whatever secrets are missing.
  const CommandSpec* spec = FindCommand(args[0]);
  if (spec == nullptr) {
    std::cerr << "lab-orders: unknown command " << args[0] << "\n\n" << UsageText();
    return 2;
  }
  const std::string command(spec->name);
  args.erase(args.begin());
  if (std::any_of(args.begin(), args.end(),
                  [](const std::string& arg) { return arg == "--help" || arg == "-h"; })) {
    std::cout << CommandUsageText(*spec);
    return 0;
  }
  if (std::string problem = CheckArguments(*spec, args); !problem.empty()) {
    std::cerr << "lab-orders: " << problem << "\n\n" << CommandUsageText(*spec);
    return 2;
  }
  try {
    // Replay runs other processes and needs no service configuration of its own.
    if (command == "replay") return Replay(args);
  } catch (const ConfigError& e) {
    std::cerr << "lab-orders: " << e.what() << std::endl;
    return 2;
  }
  ConfigureJsonLogging();
  try {
    Config config = LoadConfig(Environment());
    if (command == "serve") return Serve(config);
    if (command == "migrate") return Migrate(config);
    if (command == "token") return Token(config, args);
    if (command == "healthcheck") return Healthcheck(config);
    throw std::logic_error("lab-orders: command " + command + " has no handler");
  } catch (const ConfigError& e) {
    std::cerr << "lab-orders: configuration error: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "lab-orders: " << e.what() << std::endl;
    return 1;
  }
}
