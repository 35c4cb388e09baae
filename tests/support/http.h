#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace lab_orders::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;

  nlohmann::json Json() const { return nlohmann::json::parse(body); }
};

// One request on a fresh connection to 127.0.0.1:port (over TLS, unverified, when secure).
HttpReply HttpCall(unsigned short port, const std::string& method, const std::string& path,
                   const std::string& body = "",
                   const std::map<std::string, std::string>& headers = {}, bool secure = false);

}  // namespace lab_orders::testing
