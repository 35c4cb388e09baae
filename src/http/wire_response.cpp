#include "http/wire_response.h"

#include <Poco/Net/HTTPResponse.h>

#include <array>
#include <chrono>
#include <ctime>
#include <mutex>

namespace lab_orders::http {
namespace {

bool SameName(const std::string& a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// RFC 9110 §5.6.7 IMF-fixdate of the current second, formatted once a second per thread.
const std::string& HttpDate() {
  thread_local std::time_t formatted_second = 0;
  thread_local std::string date;
  const std::time_t now = std::time(nullptr);
  if (now != formatted_second) {
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::array<char, 64> buffer{};
    const std::size_t length =
        std::strftime(buffer.data(), buffer.size(), "%a, %d %b %Y %H:%M:%S GMT", &utc);
    date.assign(buffer.data(), length);
    formatted_second = now;
  }
  return date;
}

bool NoContent(const ApiResponse& response) {
  return response.status == 204 || response.status == 304;
}

}  // namespace

bool WireCarriesBody(const ApiResponse& response, const WireOptions& options) {
  return !NoContent(response) && !options.head_request;
}

std::string WireHead(const ApiResponse& response, const WireOptions& options) {
  const auto status = Poco::Net::HTTPResponse::HTTPStatus(response.status);
  const bool no_content = NoContent(response);
  std::string wire;
  wire.reserve(256);
  wire.append("HTTP/1.1 ")
      .append(std::to_string(response.status))
      .append(" ")
      .append(Poco::Net::HTTPResponse::getReasonForStatus(status))
      .append("\r\nDate: ")
      .append(HttpDate())
      .append("\r\n");
  bool typed = false;
  for (const auto& [name, value] : response.headers) {
    if (SameName(name, "content-length") || SameName(name, "connection")) continue;
    typed = typed || SameName(name, "content-type");
    wire.append(name).append(": ").append(value).append("\r\n");
  }
  // A 204 has no body, and so neither its type nor its length (RFC 9110 §8.6).
  if (!no_content) {
    if (!typed) wire.append("Content-Type: application/json; charset=utf-8\r\n");
    wire.append("Content-Length: ").append(std::to_string(response.Body().size())).append("\r\n");
  }
  if (!options.keep_alive) {
    wire.append("Connection: close\r\n");
  } else if (options.http_1_0) {
    wire.append("Connection: keep-alive\r\n");
  }
  wire.append("\r\n");
  return wire;
}

std::string WireResponse(const ApiResponse& response, const WireOptions& options) {
  std::string wire = WireHead(response, options);
  if (WireCarriesBody(response, options)) wire.append(response.Body());
  return wire;
}

}  // namespace lab_orders::http
