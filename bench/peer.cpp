#include "peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lab_orders::bench {

namespace fs = std::filesystem;

namespace {

// A port nothing listens on now. The peer takes an address, not a listening socket, and cannot
// be told port 0 and asked which it got (each cluster worker would log its own): so a port is
// bound here, read, and let go. Another process could take it in between; the peer would then
// fail to listen and DeployPeer says so.
unsigned short FreePort() {
  int socket = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (socket < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bool ok = ::bind(socket, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            ::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(socket);
  if (!ok) throw std::runtime_error("cannot find a free port for the peer");
  return ntohs(address.sin_port);
}

// How many times text holds needle.
int Occurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace

std::string FindNode() {
  const char* path = std::getenv("PATH");
  std::istringstream directories(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    if (directory.empty()) continue;
    fs::path candidate = fs::path(directory) / "node";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

Deployment DeployPeer(const std::string& name, const LoadOptions& options,
                      const fs::path& directory, const std::string& run_id, int sim_latency_ms,
                      int sim_threads) {
  Deployment deployment;
  deployment.name = name;
  deployment.peer = true;
  fs::path own = directory / name;
  fs::create_directories(own);
  deployment.sim = StartSim(own, sim_latency_ms, sim_threads, &deployment.sim_port);
  std::string database_name = name;  // an SQL identifier's part
  std::replace(database_name.begin(), database_name.end(), '-', '_');
  deployment.database = std::make_unique<ServiceDatabase>(options.peer_database, database_name);
  deployment.cluster = std::make_unique<PostgresMeter>(options.peer_database);

  // A lab-orders environment, for its fresh secrets, its Junction address and key and for
  // `lab-orders token`: the peer is given the same values under its own names.
  std::map<std::string, std::string> service =
      ServiceEnvironment(deployment.database->url(), deployment.sim_port, run_id, {});
  std::map<std::string, std::string> environment = InheritedEnvironment();
  for (auto it = environment.begin(); it != environment.end();) {
    const std::string& variable = it->first;
    bool ours = variable.rfind("PEER_", 0) == 0 || variable.rfind("JUNCTION_", 0) == 0 ||
                variable.rfind("LAB_ORDERS_", 0) == 0;
    if (ours && variable.rfind("PEER_", 0) == 0) {
      std::cerr << "note: ignoring " << variable << " from the environment\n";
    }
    it = ours ? environment.erase(it) : std::next(it);
  }
  const unsigned short port = FreePort();
  std::map<std::string, std::string> settings = {
      {"PEER_WORKERS", "2"},  // its default, named here because readiness counts the workers
  };
  for (const auto& [setting, value] : options.peer_settings) settings[setting] = value;
  deployment.settings = settings;
  settings["PEER_LISTEN"] = "127.0.0.1:" + std::to_string(port);
  settings["PEER_DATABASE"] = deployment.database->url();
  settings["PEER_JWT_SECRET"] = service.at("LAB_ORDERS_JWT_SECRET");
  settings["PEER_PHI_KEY"] = service.at("LAB_ORDERS_PHI_KEY");
  settings["JUNCTION_BASE_URL"] = service.at("JUNCTION_BASE_URL");
  settings["JUNCTION_API_KEY"] = service.at("JUNCTION_API_KEY");
  settings["NODE_ENV"] = "production";
  for (const auto& [setting, value] : settings) environment[setting] = value;

  deployment.service = std::make_unique<Child>(
      "lab-orders-peer",
      std::vector<std::string>{options.node, (fs::path(options.peer_dir) / "server.js").string()},
      environment, own);
  // The primary creates the tables, then forks the workers; each logs "Server listening at"
  // once it listens. Connections stay with the worker that accepted them, so the load waits
  // for all of them: one early worker would otherwise hold every connection of the load. With a
  // log level above info there are no such lines: then a first answer and a few seconds more.
  const int workers = std::stoi(settings.at("PEER_WORKERS"));
  const std::string level = settings.count("PEER_LOG_LEVEL") ? settings.at("PEER_LOG_LEVEL") : "";
  const bool logs_listening =
      level.empty() || level == "info" || level == "debug" || level == "trace";
  auto ready = [&] {
    if (logs_listening) {
      return Occurrences(deployment.service->Stdout(), "Server listening at") >= workers;
    }
    try {
      return HttpSession(port).Call("GET", "/healthz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  };
  auto deadline = BenchClock::now() + std::chrono::seconds(60);
  while (!ready()) {
    if (!deployment.service->Running() || BenchClock::now() >= deadline) {
      throw std::runtime_error("the peer did not start (" + (own / "lab-orders-peer.log").string() +
                               "):\n" + Child::Tail(deployment.service->Log(), 20) +
                               Child::Tail(deployment.service->Stdout(), 5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!logs_listening) std::this_thread::sleep_for(std::chrono::seconds(3));
  deployment.service_port = port;
  if (int status = HttpSession(port).Call("GET", "/healthz").status; status != 200) {
    throw std::runtime_error("the peer's /healthz answered " + std::to_string(status));
  }
  deployment.token = MintToken(service, "bench-" + name + "-" + run_id, own);
  std::cerr << name << ": junction-sim on port " << deployment.sim_port << " (latency "
            << sim_latency_ms << " ms), the Node peer on port " << port << " (pid "
            << deployment.service->pid() << ", " << workers << " workers), files in "
            << own.string() << "\n";
  return deployment;
}

}  // namespace lab_orders::bench
