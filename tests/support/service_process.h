#pragma once

#include <Poco/Process.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "support/http.h"

namespace lab_orders::testing {

// Environment for a ServiceProcess whose workflow takes milliseconds (polls and retries every
// 20 ms, 5 s job leases) while the 6-hourly reconciliation stays out of the way; extra on top.
inline std::map<std::string, std::string> FastWorkflow(
    std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> environment = {
      {"LAB_ORDERS_REQUISITION_POLL_MS", "20"},
      {"LAB_ORDERS_CONFIRMATION_POLL_MS", "20"},
      {"LAB_ORDERS_RETRY_INITIAL_MS", "20"},
      {"LAB_ORDERS_JOB_LEASE_S", "5"},
      {"LAB_ORDERS_RECONCILE_INTERVAL_MS", "3600000"}};
  for (auto& [name, value] : extra) environment[name] = value;
  return environment;
}

// A real `lab-orders serve` on a free port, in development mode, with its own SQLite file and
// log file in a temporary directory that outlives restarts (Kill + Start resumes on the same data).
class ServiceProcess {
 public:
  ServiceProcess(const std::string& junction_base_url,
                 std::map<std::string, std::string> extra_environment = {});
  ~ServiceProcess();

  void Start();
  void Kill();      // SIGKILL: no chance to clean up
  int Terminate();  // SIGTERM, then the exit code
  int Wait();       // the exit code of a process told to stop elsewhere
  long pid() const { return long(handle_->id()); }

  unsigned short port() const { return port_; }
  const std::filesystem::path& directory() const { return directory_; }
  std::string Log() const;            // everything the service logged
  std::string DatabaseBytes() const;  // the SQLite file and its WAL, raw
  std::string Token(const std::string& brand, const std::string& user,
                    const std::string& scope = "labs:orders:read labs:orders:write") const;

  HttpReply Post(const std::string& path, const std::string& body,
                 std::map<std::string, std::string> headers = {});
  HttpReply Get(const std::string& path, std::map<std::string, std::string> headers = {});
  // The order once it reaches status (the service's long poll, ?wait_status=), or as it stands
  // when wait_ms runs out; the caller checks which.
  nlohmann::json WaitForOrderStatus(const std::string& token, const std::string& order_id,
                                    const std::string& status, int wait_ms = 20000);

 private:
  Poco::Process::Env Environment() const;

  std::filesystem::path directory_;
  std::map<std::string, std::string> environment_;
  std::unique_ptr<Poco::ProcessHandle> handle_;
  unsigned short port_ = 0;
};

}  // namespace lab_orders::testing
