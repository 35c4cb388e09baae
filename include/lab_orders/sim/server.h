#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lab_orders/sim/script.h"

namespace lab_orders::sim {

struct SimOptions {
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 8090;   // 0: any free port
  int latency_ms = 0;                  // added to every Junction operation
  std::optional<std::string> api_key;  // when set, x-vital-api-key must equal it
  std::optional<std::string> webhook_url;
  std::optional<std::string> webhook_secret;
  std::vector<std::string> served_zips;
  std::optional<Script> script;
  int max_threads = 1024;  // one thread per open connection (POCO's HTTPServer model)
  // Serve HTTPS with this PEM certificate chain and key (to test the client's verification).
  std::optional<std::string> tls_cert_file;
  std::optional<std::string> tls_key_file;
  // Forward every Junction call (not /_sim/) to this Junction, an http:// or https:// URL, and
  // answer what it answers (docs/junction-sim.md, "Recording"). No script applies then.
  std::optional<std::string> upstream_url;
  std::string upstream_ca_file;  // PEM authorities for an https upstream (empty: the system's)
  // With upstream_url: keep the answers as a simulator script in this file, rewritten
  // (atomically) after every answer and when the simulator stops.
  std::optional<std::string> record_file;
  // With each order's id, decides the values of the order's lab results (--seed).
  std::uint64_t result_seed = 1;
};

// junction-sim: Junction's HTTP surface over a simulated team, plus the /_sim/ admin surface.
class SimServer {
 public:
  explicit SimServer(SimOptions options);
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  void Start();
  void Stop();
  unsigned short port() const;

  struct Impl;  // opaque; public so the request handlers in server.cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lab_orders::sim
