#pragma once

#include <Poco/Net/ServerSocket.h>

#include <chrono>
#include <memory>
#include <string>

#include "lab_orders/http/api.h"

namespace lab_orders::http {

// Connections the kernel holds for accept() beyond those POCO's queue holds.
inline constexpr int kListenBacklog = 1024;

// Deadlines and caps at the door: each deadline closes the connection.
struct DoorSettings {
  std::chrono::milliseconds idle_timeout{5000};   // keep-alive, or before a first request
  std::chrono::milliseconds head_timeout{10000};  // a request head, from its first byte (408)
  std::chrono::milliseconds body_timeout{30000};  // its body, from the end of its head (408)
  std::chrono::milliseconds send_timeout{30000};  // an answer the client must read
  std::size_t max_connections = 10000;            // past either cap: 503 server_busy
  std::size_t max_connections_per_address = 1000;
  int io_threads = 1;  // threads that accept, read and write (epoll)
};

struct ServerSettings {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port
  int threads = 64;            // requests served at once
  int queue = 256;             // requests waiting for a thread; beyond it, 503 at once
  DoorSettings door;
};

// The HTTP/1.1 server around Api (http/connection_loop.h): connections on epoll, requests read
// strictly and whole before a worker serves them, deadlines and caps at the door, request ids,
// one JSON access line per request.
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
