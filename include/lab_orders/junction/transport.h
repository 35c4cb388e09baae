#pragma once

// HTTP(S) to one Junction host with a pool of keep-alive connections: what HttpJunctionClient
// sends through, and what junction-sim's --upstream forwards through (sim/upstream.h).

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "lab_orders/junction/http_client.h"
#include "lab_orders/junction/result.h"

namespace lab_orders::junction {

struct RawRequest {
  std::string method;
  std::string path_and_query;
  std::string body;  // JSON; empty for none
  std::map<std::string, std::string> headers;
  // Repeating it cannot do anything twice (a read, or a write with an idempotency key): only
  // then is it sent again when a pooled connection turns out to have been closed.
  bool safe_to_repeat = false;
};

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct TransportFailure {
  Outcome outcome;
  bool may_have_reached_junction;
  std::string summary;
};

class Transport {
 public:
  explicit Transport(const HttpClientOptions& options);
  ~Transport();

  std::variant<RawResponse, TransportFailure> Send(const RawRequest& request);

 private:
  struct Pooled {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    std::chrono::steady_clock::time_point idle_since;
  };
  // A pooled connection when one is fit for reuse, else a new one; *reused says which.
  std::unique_ptr<Poco::Net::HTTPClientSession> Acquire(bool* reused);
  void Release(std::unique_ptr<Poco::Net::HTTPClientSession> session);
  std::variant<RawResponse, TransportFailure> SendOnce(Poco::Net::HTTPClientSession& session,
                                                       const RawRequest& request, bool* sent,
                                                       bool* keep_alive);

  HttpClientOptions options_;
  bool secure_ = false;
  std::string host_;
  unsigned short port_ = 0;
  std::string base_path_;
  Poco::Net::Context::Ptr tls_context_;
  std::mutex mutex_;
  std::vector<Pooled> idle_;
};

}  // namespace lab_orders::junction
