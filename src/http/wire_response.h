#pragma once

// An ApiResponse as HTTP/1.1 bytes: status line, Date, the type and length of the body, the
// response's own fields and, when the connection ends with it, Connection: close.

#include <string>

#include "lab_orders/http/api.h"

namespace lab_orders::http {

struct WireOptions {
  bool keep_alive = true;     // false: "Connection: close", and the connection ends after it
  bool http_1_0 = false;      // a 1.0 client kept alive is told so ("Connection: keep-alive")
  bool head_request = false;  // HEAD: the length of the body that GET would have, but no body
};

// Everything up to and including the empty line; Content-Length is the body's.
std::string WireHead(const ApiResponse& response, const WireOptions& options);

// Whether the body follows the head on the wire (not for 204, 304 or HEAD).
bool WireCarriesBody(const ApiResponse& response, const WireOptions& options);

// The head and the body in one string: for answers small enough that a copy costs nothing.
std::string WireResponse(const ApiResponse& response, const WireOptions& options);

// "HTTP/1.1 100 Continue" and its empty line.
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace lab_orders::http
