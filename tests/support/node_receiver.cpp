#include "support/node_receiver.h"

#include <Poco/PipeStream.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "support/http.h"

namespace lab_orders::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kReceiverDir = fs::path(PROJECT_SOURCE_DIR) / "tests/webhooks/receiver";

std::optional<fs::path> FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::string_view rest = path;
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const fs::path candidate = fs::path(rest.substr(0, colon)) / program;
    std::error_code error;
    if (fs::is_regular_file(candidate, error) &&
        (fs::status(candidate, error).permissions() & fs::perms::others_exec) != fs::perms::none) {
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    rest = rest.substr(colon + 1);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> NodeReceiver::Unavailable() {
  if (!FindOnPath("node")) return "node is not on the PATH";
  if (!fs::exists(kReceiverDir / "node_modules/standardwebhooks/package.json")) {
    return "the receiver's npm packages are not installed: run npm ci --prefix " +
           kReceiverDir.string();
  }
  return std::nullopt;
}

NodeReceiver::NodeReceiver(const std::vector<std::string>& secrets, unsigned short port) {
  std::optional<fs::path> node = FindOnPath("node");
  if (!node) throw std::runtime_error("node is not on the PATH");
  std::vector<std::string> args = {(kReceiverDir / "receiver.mjs").string(),
                                   "--exit-on-stdin-close", "--port", std::to_string(port)};
  args.insert(args.end(), secrets.begin(), secrets.end());
  Poco::Pipe out;
  handle_ = std::make_unique<Poco::ProcessHandle>(
      Poco::Process::launch(node->string(), args, kReceiverDir.string(), &stdin_, &out, nullptr));
  Poco::PipeInputStream stream(out);
  // The receiver prints its port once it accepts connections: that line is the signal.
  std::string line;
  std::getline(stream, line);
  if (line.empty() || line.find_first_not_of("0123456789") != std::string::npos) {
    throw std::runtime_error("the webhook receiver did not start: \"" + line + "\"");
  }
  port_ = static_cast<unsigned short>(std::stoi(line));
}

NodeReceiver::~NodeReceiver() {
  try {
    Poco::Process::requestTermination(handle_->id());
    handle_->wait();
  } catch (...) {
    // Already gone.
  }
  stdin_.close();
}

std::string NodeReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

nlohmann::json NodeReceiver::Deliveries() {
  HttpReply reply = HttpCall(port_, "GET", "/deliveries");
  if (reply.status != 200) throw std::runtime_error("GET /deliveries: " + reply.body);
  return reply.Json()["deliveries"];
}

std::vector<std::string> NodeReceiver::AcknowledgedTypes(const std::string& order_id) {
  std::vector<std::string> types;
  for (const nlohmann::json& delivery : Deliveries()) {
    if (delivery["status"].get<int>() / 100 != 2) continue;
    const nlohmann::json& event = delivery["body"];
    if (event["data"]["order"]["id"] == order_id) types.push_back(event["type"]);
  }
  return types;
}

void NodeReceiver::SetSecrets(const std::vector<std::string>& secrets) {
  HttpReply reply =
      HttpCall(port_, "POST", "/secrets", nlohmann::json{{"secrets", secrets}}.dump());
  if (reply.status != 200) throw std::runtime_error("POST /secrets: " + reply.body);
}

void NodeReceiver::Script(const nlohmann::json& answers) {
  HttpReply reply = HttpCall(port_, "POST", "/script", nlohmann::json{{"answers", answers}}.dump());
  if (reply.status != 200) throw std::runtime_error("POST /script: " + reply.body);
}

void NodeReceiverTest::SetUp() {
  if (std::optional<std::string> why = NodeReceiver::Unavailable()) {
    const char* required = std::getenv("LAB_ORDERS_REQUIRE_NODE_RECEIVER");
    if (required != nullptr && std::string(required) == "1") {
      FAIL() << "the npm-verified receiver cannot run: " << *why;
    }
    GTEST_SKIP() << "the npm-verified receiver cannot run: " << *why;
  }
}

}  // namespace lab_orders::testing
