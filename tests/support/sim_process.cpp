#include "support/sim_process.h"

#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>

#include <stdexcept>

namespace lab_orders::testing {

SimProcess::SimProcess(const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  Poco::Pipe out;
  handle_ = std::make_unique<Poco::ProcessHandle>(
      Poco::Process::launch(JUNCTION_SIM_BINARY, args, nullptr, &out, nullptr));
  Poco::PipeInputStream stream(out);
  // The simulator prints its address once it accepts connections: that line is the signal.
  std::string line;
  std::getline(stream, line);
  size_t colon = line.rfind(':');
  if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
    throw std::runtime_error("junction-sim did not start: \"" + line + "\"");
  }
  port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
  secure_ = line.find("https://") != std::string::npos;
}

SimProcess::~SimProcess() {
  if (!handle_) return;
  try {
    Poco::Process::requestTermination(handle_->id());
    handle_->wait();
  } catch (...) {
    // Already gone.
  }
}

nlohmann::json SimProcess::Admin(const std::string& method, const std::string& path,
                                 const nlohmann::json& body) {
  HttpReply reply = HttpCall(port_, method, path, method == "GET" ? "" : body.dump(), {}, secure_);
  if (reply.status != 200) {
    throw std::runtime_error("junction-sim admin " + path + ": " + std::to_string(reply.status) +
                             " " + reply.body);
  }
  return reply.Json();
}

void SimProcess::LoadScript(const nlohmann::json& script) { Admin("POST", "/_sim/script", script); }
void SimProcess::Reset() { Admin("POST", "/_sim/reset"); }
nlohmann::json SimProcess::Stats() { return Admin("GET", "/_sim/stats"); }

nlohmann::json SimProcess::Calls(const std::string& operation) {
  return Admin("GET",
               "/_sim/calls" + (operation.empty() ? "" : "?operation=" + operation))["calls"];
}

HttpReply SimProcess::Junction(const std::string& method, const std::string& path,
                               const nlohmann::json& body) {
  return HttpCall(port_, method, path, body.is_null() ? "" : body.dump(),
                  {{"x-vital-api-key", "sk_us_test"}}, secure_);
}

}  // namespace lab_orders::testing
