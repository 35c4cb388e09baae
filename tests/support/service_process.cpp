#include "support/service_process.h"

#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/StreamCopier.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lab_orders::testing {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::filesystem::path NewDirectory() {
  static std::atomic<int> counter{0};
  auto path = std::filesystem::temp_directory_path() /
              ("lab-orders-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

}  // namespace

ServiceProcess::ServiceProcess(const std::string& junction_base_url,
                               std::map<std::string, std::string> extra_environment)
    : directory_(NewDirectory()) {
  environment_ = {
      {"LAB_ORDERS_ENV", "development"},
      {"LAB_ORDERS_LISTEN", "127.0.0.1:0"},
      {"LAB_ORDERS_DATABASE", "sqlite:" + (directory_ / "lab-orders.db").string()},
      {"LAB_ORDERS_PANELS", std::string(PROJECT_SOURCE_DIR) + "/config/panels.json"},
      {"LAB_ORDERS_PHI_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
      {"LAB_ORDERS_JWT_SECRET", "test-secret-with-at-least-thirty-two-characters"},
      {"JUNCTION_BASE_URL", junction_base_url},
      {"JUNCTION_API_KEY", "sk_us_test"},
      {"JUNCTION_TIMEOUT_MS", "2000"},
      {"LAB_ORDERS_SYNC_CONFIRMATION_MS", "1000"},
  };
  for (auto& [name, value] : extra_environment) environment_[name] = value;
  Start();
}

ServiceProcess::~ServiceProcess() {
  if (handle_) Kill();
  std::filesystem::remove_all(directory_);
}

Poco::Process::Env ServiceProcess::Environment() const {
  Poco::Process::Env env;
  for (const auto& [name, value] : environment_) env[name] = value;
  return env;
}

void ServiceProcess::Start() {
  Poco::Pipe out;
  // exec keeps the pid, so signals reach the service itself; its log lines go to a file.
  std::string command = "exec '" + std::string(LAB_ORDERS_BINARY) + "' serve 2>>'" +
                        (directory_ / "service.log").string() + "'";
  handle_ = std::make_unique<Poco::ProcessHandle>(Poco::Process::launch(
      "/bin/sh", {"-c", command}, directory_.string(), nullptr, &out, nullptr, Environment()));
  Poco::PipeInputStream stream(out);
  std::string line;
  std::getline(stream, line);  // printed once the service accepts connections
  size_t colon = line.rfind(':');
  if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
    throw std::runtime_error("lab-orders did not start: \"" + line + "\"\n" + Log());
  }
  port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
}

void ServiceProcess::Kill() {
  Poco::Process::kill(*handle_);
  handle_->wait();
  handle_.reset();
}

int ServiceProcess::Terminate() {
  Poco::Process::requestTermination(handle_->id());
  int code = handle_->wait();
  handle_.reset();
  return code;
}

int ServiceProcess::Wait() {
  int code = handle_->wait();
  handle_.reset();
  return code;
}

std::string ServiceProcess::Log() const { return ReadFile(directory_ / "service.log"); }

std::string ServiceProcess::DatabaseBytes() const {
  return ReadFile(directory_ / "lab-orders.db") + ReadFile(directory_ / "lab-orders.db-wal");
}

std::string ServiceProcess::Token(const std::string& brand, const std::string& user,
                                  const std::string& scope) const {
  Poco::Pipe out;
  Poco::ProcessHandle handle = Poco::Process::launch(
      LAB_ORDERS_BINARY, {"token", "--brand", brand, "--user", user, "--scope", scope},
      directory_.string(), nullptr, &out, nullptr, Environment());
  Poco::PipeInputStream stream(out);
  std::string token;
  std::getline(stream, token);
  if (handle.wait() != 0 || token.empty()) throw std::runtime_error("lab-orders token failed");
  return token;
}

HttpReply ServiceProcess::Post(const std::string& path, const std::string& body,
                               std::map<std::string, std::string> headers) {
  if (!headers.count("Content-Type")) headers["Content-Type"] = "application/json";
  return HttpCall(port_, "POST", path, body, headers);
}

HttpReply ServiceProcess::Get(const std::string& path, std::map<std::string, std::string> headers) {
  return HttpCall(port_, "GET", path, "", headers);
}

nlohmann::json ServiceProcess::WaitForOrderStatus(const std::string& token,
                                                  const std::string& order_id,
                                                  const std::string& status, int wait_ms) {
  HttpReply reply = Get("/v1/labs/orders/" + order_id + "?wait_status=" + status +
                            "&wait_ms=" + std::to_string(wait_ms),
                        {{"Authorization", "Bearer " + token}});
  if (reply.status != 200) {
    throw std::runtime_error("GET order answered " + std::to_string(reply.status) + ": " +
                             reply.body);
  }
  return reply.Json();
}

}  // namespace lab_orders::testing
