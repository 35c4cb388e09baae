// The lab-orders command line as a user meets it: the version, help for each command, and
// mistakes refused at once with exit status 2, before any configuration is read (so a missing
// secret never hides a typo), and every missing production secret named in one go.

#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lab_orders::testing {
namespace {

struct CliRun {
  int status = -1;
  std::string out;
  std::string err;
};

// lab-orders in production mode with no secrets at all (whatever the test's environment has).
CliRun LabOrders(const std::vector<std::string>& args) {
  Poco::Process::Env env = {{"LAB_ORDERS_ENV", "production"}, {"LAB_ORDERS_CONFIG", ""},
                            {"LAB_ORDERS_JWT_SECRET", ""},    {"LAB_ORDERS_JWT_PUBLIC_KEY", ""},
                            {"LAB_ORDERS_PHI_KEY", ""},       {"JUNCTION_API_KEY", ""}};
  Poco::Pipe out, err;
  Poco::ProcessHandle handle =
      Poco::Process::launch(LAB_ORDERS_BINARY, args, "", nullptr, &out, &err, env);
  CliRun run;
  Poco::PipeInputStream out_stream(out);
  Poco::StreamCopier::copyToString(out_stream, run.out);
  Poco::PipeInputStream err_stream(err);
  Poco::StreamCopier::copyToString(err_stream, run.err);
  run.status = handle.wait();
  return run;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CommandLineTest, SaysItsVersionAndTheApis) {
  CliRun run = LabOrders({"--version"});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out.rfind("lab-orders ", 0), 0u) << run.out;
  EXPECT_TRUE(Has(run.out, "(API ")) << run.out;
}

TEST(CommandLineTest, EachCommandHasItsOwnHelp) {
  CliRun serve = LabOrders({"serve", "--help"});
  EXPECT_EQ(serve.status, 0) << serve.err;
  EXPECT_EQ(serve.out.rfind("Usage: lab-orders serve", 0), 0u) << serve.out;
  EXPECT_TRUE(Has(serve.out, "LAB_ORDERS_DATABASE"));
  EXPECT_FALSE(Has(serve.out, "  replay")) << "the help of serve lists the other commands";
  CliRun token = LabOrders({"token", "-h"});
  EXPECT_EQ(token.status, 0) << token.err;
  EXPECT_TRUE(Has(token.out, "--brand BRAND --user USER"));
  CliRun all = LabOrders({"--help"});
  EXPECT_EQ(all.status, 0);
  for (const char* command : {"serve", "migrate", "token", "healthcheck", "replay"}) {
    EXPECT_TRUE(Has(all.out, std::string("  ") + command)) << command;
  }
}

TEST(CommandLineTest, MistakesAreRefusedWithUsageBeforeAnySecretIsNeeded) {
  CliRun unknown = LabOrders({"frobnicate"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_TRUE(Has(unknown.err, "unknown command frobnicate")) << unknown.err;
  EXPECT_TRUE(Has(unknown.err, "Usage: lab-orders <command>")) << unknown.err;
  EXPECT_FALSE(Has(unknown.err, "configuration error")) << unknown.err;

  CliRun flag = LabOrders({"serve", "--port", "9"});
  EXPECT_EQ(flag.status, 2);
  EXPECT_TRUE(Has(flag.err, "serve: unknown flag --port")) << flag.err;
  EXPECT_TRUE(Has(flag.err, "Usage: lab-orders serve")) << flag.err;

  CliRun no_value = LabOrders({"token", "--brand"});
  EXPECT_EQ(no_value.status, 2);
  EXPECT_TRUE(Has(no_value.err, "token: --brand needs a value")) << no_value.err;

  CliRun stray = LabOrders({"migrate", "now"});
  EXPECT_EQ(stray.status, 2);
  EXPECT_TRUE(Has(stray.err, "migrate: takes no argument now")) << stray.err;

  EXPECT_EQ(LabOrders({}).status, 2);
}

TEST(CommandLineTest, EveryMissingProductionSecretIsNamedInOneGo) {
  CliRun run = LabOrders({"migrate"});
  EXPECT_EQ(run.status, 2);
  for (const char* name : {"LAB_ORDERS_JWT_SECRET", "LAB_ORDERS_PHI_KEY", "JUNCTION_API_KEY"}) {
    EXPECT_TRUE(Has(run.err, name)) << name << " in: " << run.err;
  }
}

}  // namespace
}  // namespace lab_orders::testing
