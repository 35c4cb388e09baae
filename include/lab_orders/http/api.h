#pragma once

// The HTTP surface of CONTRACT §1 as plain request -> response logic; the POCO server in
// server.h only moves bytes. Every error leaves through ErrorResponse, the one mapping to HTTP.

#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/app/error.h"
#include "lab_orders/auth/jwt.h"
#include "lab_orders/orders/order_service.h"
#include "lab_orders/store/store.h"

namespace lab_orders::http {

struct ApiRequest {
  std::string method;
  std::string path;
  std::string query;                           // raw, without '?'
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string request_id;
};

struct ApiResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // For the access log: the route template and the brand, never the raw path or PHI.
  std::string route;
  std::string brand_id;
};

ApiResponse ErrorResponse(const AppError& error, const std::string& request_id);

class Api {
 public:
  Api(orders::OrderService& orders, const auth::JwtVerifier& verifier, store::Store& store);

  // Never throws: every failure becomes the JSON error envelope.
  ApiResponse Handle(const ApiRequest& request) const;

  // After this, new requests get 503 shutting_down while in-flight ones finish.
  void BeginShutdown() { shutting_down_ = true; }

 private:
  ApiResponse Route(const ApiRequest& request, ApiResponse& response) const;
  auth::Principal Authenticate(const ApiRequest& request, const char* scope) const;

  orders::OrderService& orders_;
  const auth::JwtVerifier& verifier_;
  store::Store& store_;
  std::atomic<bool> shutting_down_{false};
};

// The largest request body accepted (CONTRACT §1).
inline constexpr std::size_t kMaxRequestBody = 64 * 1024;

}  // namespace lab_orders::http
