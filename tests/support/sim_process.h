#pragma once

#include <Poco/Process.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/http.h"

namespace lab_orders::testing {

// A real junction-sim process on a free port, stopped (SIGTERM) when this goes away.
class SimProcess {
 public:
  explicit SimProcess(const std::vector<std::string>& extra_args = {});
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  unsigned short port() const { return port_; }
  std::string base_url() const {
    return (secure_ ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port_);
  }

  void LoadScript(const nlohmann::json& script);
  void Reset();
  nlohmann::json Calls(const std::string& operation = "");
  nlohmann::json Stats();
  nlohmann::json Admin(const std::string& method, const std::string& path,
                       const nlohmann::json& body = nlohmann::json::object());
  // Calls a Junction operation with the API key.
  HttpReply Junction(const std::string& method, const std::string& path,
                     const nlohmann::json& body = nullptr);

 private:
  std::unique_ptr<Poco::ProcessHandle> handle_;
  unsigned short port_ = 0;
  bool secure_ = false;
};

}  // namespace lab_orders::testing
