// A server started on a port another process already listens on stops at once, naming the
// address, instead of saying "listening on" and sharing the port (SO_REUSEPORT) with it.

#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

struct Exit {
  int code = 0;
  std::string out;
  std::string err;
};

// Runs binary to its end and returns what it printed (both streams read at once, so that neither
// pipe fills while the other is read).
Exit RunToExit(const std::string& binary, const std::vector<std::string>& args,
               const Poco::Process::Env& env) {
  Poco::Pipe out, err;
  Poco::ProcessHandle handle = Poco::Process::launch(binary, args, "", nullptr, &out, &err, env);
  Exit exit;
  Poco::PipeInputStream out_stream(out), err_stream(err);
  Poco::StreamCopier::copyToString(err_stream, exit.err);
  Poco::StreamCopier::copyToString(out_stream, exit.out);
  exit.code = handle.wait();
  return exit;
}

TEST(BusyPortTest, ASecondServiceOnABusyPortStopsBeforeTouchingTheStore) {
  SimProcess sim;
  ServiceProcess first(sim.base_url());
  const std::string address = "127.0.0.1:" + std::to_string(first.port());
  // Its own SQLite file, which opening the store would create: a start-up that went as far as
  // the store would, on a shared file, have freed the first one's job leases.
  const std::filesystem::path database = first.directory() / "second.db";
  Poco::Process::Env env = {
      {"LAB_ORDERS_ENV", "development"},
      {"LAB_ORDERS_LISTEN", address},
      {"LAB_ORDERS_DATABASE", "sqlite:" + database.string()},
      {"LAB_ORDERS_PANELS", std::string(PROJECT_SOURCE_DIR) + "/config/panels.json"},
      {"JUNCTION_BASE_URL", sim.base_url()},
  };

  Exit second = RunToExit(LAB_ORDERS_BINARY, {"serve"}, env);

  EXPECT_EQ(second.code, 1);
  EXPECT_EQ(second.out.find("listening on"), std::string::npos) << second.out;
  EXPECT_NE(second.err.find("cannot listen on " + address), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("already in use"), std::string::npos) << second.err;
  EXPECT_FALSE(std::filesystem::exists(database)) << "the store was opened";
  // The first goes on serving alone.
  EXPECT_EQ(first.Get("/healthz").status, 200);
}

TEST(BusyPortTest, ASecondSimulatorOnABusyPortStops) {
  SimProcess first;
  const std::string address = "127.0.0.1:" + std::to_string(first.port());

  Exit second = RunToExit(JUNCTION_SIM_BINARY, {"--listen", address}, {});

  EXPECT_EQ(second.code, 1);
  EXPECT_EQ(second.out.find("listening on"), std::string::npos) << second.out;
  EXPECT_NE(second.err.find("cannot listen on " + address), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("already in use"), std::string::npos) << second.err;
  EXPECT_EQ(first.Junction("GET", "/v3/lab_tests").status, 200);
}

}  // namespace
}  // namespace lab_orders::testing
