#pragma once

#include <Poco/Net/ServerSocket.h>

#include <memory>
#include <string>

#include "lab_orders/http/api.h"

namespace lab_orders::http {

// Connections the kernel holds for accept() beyond those POCO's queue holds.
inline constexpr int kListenBacklog = 1024;

struct ServerSettings {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port
  int threads = 64;            // requests served at once; POCO holds one thread per connection
  int queue = 256;             // accepted connections waiting for a thread
};

// POCO's HTTPServer around Api: bounded bodies, request ids, one JSON access line per request.
class Server {
 public:
  Server(Api& api, ServerSettings settings);
  ~Server();
  // Claims settings' host and port (ListenExclusively: a busy port throws) and serves.
  void Start();
  // Serves on a socket already listening: one claimed before the service's other start-up work,
  // so that a second instance on a busy port stops before it touches the store.
  void Start(Poco::Net::ServerSocket listening);
  unsigned short port() const;
  // Stops accepting, lets in-flight requests finish, closes idle keep-alive connections.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lab_orders::http
