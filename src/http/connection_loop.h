#pragma once

// The server's connections, driven by epoll on a few I/O threads, so that a connection costs a
// thread only while one of its requests is being served. An I/O thread accepts, reads each
// request whole (RequestReader: strict framing, limits) and hands it to the worker pool; the
// worker serves it and writes the answer; what the socket does not take at once, the I/O thread
// sends as the client reads. So a slow client, one that never reads, or thousands of idle ones
// hold no worker, and each phase of a connection has its deadline:
// - idle (between requests, or before the first): closed quietly;
// - a request head, then its body, not received in time: 408, closed;
// - an answer the client does not read in time: closed.
// Connections are capped in all and per client address, and a request that finds every worker
// busy and the queue full is answered 503 with Retry-After at once. Every refusal is the JSON
// error envelope (RequestHandlers::refuse), and the connection closes after it, lingering to
// read what the client still sends so that it reads the answer rather than a reset.

#include <Poco/Net/ServerSocket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/worker_pool.h"
#include "lab_orders/http/api.h"
#include "lab_orders/http/request_reader.h"
#include "lab_orders/http/server.h"

namespace lab_orders::http {

struct LoopSettings {
  DoorSettings door;
  ReaderLimits limits;
};

struct RequestHandlers {
  // Serves a whole request, on a worker thread. Never throws.
  std::function<ApiResponse(const ReadRequest&)> serve;
  // The answer to a request refused before it is served (head: what was read of it, for its
  // X-Request-Id and the access log). Never throws.
  std::function<ApiResponse(const AppError&, const ReadRequest& head)> refuse;
  // The answer to a request that needs nothing to wait on (no store, no Junction), given on the
  // I/O thread with no hand-off, even while every worker is busy; nullopt sends the request to
  // serve on a worker. Never throws. Optional.
  std::function<std::optional<ApiResponse>(const ReadRequest&)> serve_at_once;
};

class ConnectionLoop {
 public:
  ConnectionLoop(LoopSettings settings, RequestHandlers handlers, WorkerPool& pool);
  ~ConnectionLoop();
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  // Serves on a socket already listening.
  void Start(Poco::Net::ServerSocket listening);
  unsigned short port() const;
  // Stops accepting and closes idle connections; connections with a request in flight are closed
  // once it is answered.
  void StopAccepting();
  // Closes every connection and joins the I/O threads (after the pool has finished its work).
  void Stop();

  // Open connections, refused ones still being answered included.
  std::size_t Connections() const;

 private:
  struct Connection;
  struct IoThread;
  enum class Next { kWait, kServe };

  void Run(IoThread& io);
  bool WatchListening(IoThread& io);
  void Accept(IoThread& io);
  void OnReady(IoThread& io, Connection& connection, std::uint32_t events);
  void Sweep(IoThread& io, bool stopping);
  void Close(IoThread& io, Connection& connection);

  // Each returns kServe when connection.request holds a request to serve, kWait when the
  // connection waits for its socket (armed) or is closing.
  Next Advance(Connection& connection, bool end_of_input);
  Next Respond(Connection& connection, const ApiResponse& response, bool keep_alive);
  // Sends what is left of connection.output; once all is sent, AfterResponse.
  Next SendRest(Connection& connection);
  Next AfterResponse(Connection& connection);
  void Dispatch(Connection& connection);
  void ServeOnWorker(Connection& connection);
  void Arm(Connection& connection, std::uint32_t events);
  void CloseSoon(Connection& connection);
  void Linger(Connection& connection);

  bool Admit(const std::string& address);
  void Release(const std::string& address);

  const LoopSettings settings_;
  const RequestHandlers handlers_;
  WorkerPool& pool_;
  Poco::Net::ServerSocket listening_;
  std::vector<std::unique_ptr<IoThread>> io_threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> exiting_{false};

  mutable std::mutex admission_mutex_;
  std::size_t open_ = 0;  // admitted connections
  std::size_t refused_open_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
};

}  // namespace lab_orders::http
