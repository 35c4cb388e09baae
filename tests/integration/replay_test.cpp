// `lab-orders replay` as a QA engineer runs it: a real scenario passes, a scenario broken on
// purpose fails with what differed and a non-zero exit, and bad files are refused.

#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace lab_orders::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Outcome {
  int exit_code;
  std::string output;
};

Outcome Replay(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"replay", "--panels",
                                  std::string(PROJECT_SOURCE_DIR) + "/config/panels.json"};
  all.insert(all.end(), args.begin(), args.end());
  Poco::Pipe out;
  Poco::ProcessHandle handle = Poco::Process::launch(LAB_ORDERS_BINARY, all, nullptr, &out, &out);
  Poco::PipeInputStream stream(out);
  std::string output;
  Poco::StreamCopier::copyToString(stream, output);
  return {handle.wait(), output};
}

// The step of the scenario that creates the order.
json& CreateStep(json& scenario) {
  for (json& step : scenario["steps"]) {
    if (step.contains("request")) return step;
  }
  throw std::logic_error("the happy scenario has no request step");
}

json HappyScenario() {
  std::ifstream in(std::string(PROJECT_SOURCE_DIR) +
                   "/fixtures/scenarios/happy_pending_confirmed_after_polls.json");
  return json::parse(in);
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("replay-test-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }

  std::string Write(const std::string& name, const json& scenario) {
    fs::path file = directory_ / name;
    std::ofstream(file) << scenario.dump(2);
    return file.string();
  }

  fs::path directory_;
};

TEST_F(ReplayTest, PassingScenarioPassesAndWritesJUnit) {
  std::string junit = (directory_ / "replay.xml").string();
  Outcome outcome = Replay({"--junit", junit, Write("happy.json", HappyScenario())});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("PASS happy path"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("1 passed, 0 failed"), std::string::npos) << outcome.output;
  std::ifstream in(junit);
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("<testsuite name=\"lab-orders replay\" tests=\"1\" failures=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase classname=\"replay.happy\""), std::string::npos) << xml;
}

TEST_F(ReplayTest, ChangedExpectationFailsSayingWhatDiffered) {
  json broken = HappyScenario();
  broken["name"] = "broken on purpose";
  CreateStep(broken)["expect"]["body"]["/status"] = {{"equals", "received"}};
  broken["junction"]["sequence"].erase(broken["junction"]["sequence"].size() - 1);
  std::string junit = (directory_ / "replay.xml").string();
  Outcome outcome = Replay(
      {"--junit", junit, Write("broken.json", broken), Write("happy.json", HappyScenario())});
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  const std::string& text = outcome.output;
  EXPECT_NE(text.find("FAIL broken on purpose"), std::string::npos) << text;
  EXPECT_NE(text.find("body /status: expected \"received\", got \"ordered\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("junction sequence: expected [area_info, create_user, create_order"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("PASS happy path"), std::string::npos) << text;
  EXPECT_NE(text.find("1 passed, 1 failed"), std::string::npos) << text;
  std::ifstream in(junit);
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message="), std::string::npos) << xml;
}

TEST_F(ReplayTest, AFailureBeforeTheScenarioCannotGoOnIsShownWithTheRunsTrace) {
  // The create step is answered otherwise than expected, so its order id is not saved and the
  // next step cannot run: the report keeps the first failure (the cause), not only the second.
  json broken = HappyScenario();
  broken["name"] = "stops on purpose";
  CreateStep(broken)["expect"]["status"] = 200;
  CreateStep(broken)["save"] = {{"order", "/no_such_field"}};
  Outcome outcome = Replay({Write("stops.json", broken)});
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  const std::string& text = outcome.output;
  size_t cause = text.find("status: expected 200, got 201");
  size_t stop = text.find("scenario error: ${order} was never saved");
  ASSERT_NE(cause, std::string::npos) << text;
  ASSERT_NE(stop, std::string::npos) << text;
  EXPECT_LT(cause, stop) << text;
  // Junction's calls in order, and the service's answers that were not a success, are printed:
  // on a CI machine the kept folder is gone by the time anyone reads the failure.
  EXPECT_NE(text.find("| junction #1 area_info on connection"), std::string::npos) << text;
  EXPECT_NE(text.find("create_user on connection"), std::string::npos) << text;
  EXPECT_EQ(text.find("ana@example.com"), std::string::npos) << "no body is printed: " << text;
}

TEST_F(ReplayTest, FilterRunsOnlyMatchingScenarios) {
  json other = HappyScenario();
  other["name"] = "another one";
  Write("a.json", HappyScenario());
  Write("b.json", other);
  Outcome outcome = Replay({"--filter", "another", directory_.string()});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("1 passed, 0 failed"), std::string::npos) << outcome.output;
  EXPECT_EQ(outcome.output.find("happy path"), std::string::npos) << outcome.output;
}

TEST_F(ReplayTest, BadScenarioFilesAreRefusedNamingTheProblem) {
  json unknown = HappyScenario();
  unknown["expectations"] = json::object();
  Outcome outcome = Replay({Write("unknown.json", unknown)});
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("unknown field \"expectations\""), std::string::npos)
      << outcome.output;

  std::ofstream(directory_ / "broken.json") << "{\"name\": ";
  outcome = Replay({(directory_ / "broken.json").string()});
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("not valid JSON"), std::string::npos) << outcome.output;

  outcome = Replay({(directory_ / "missing.json").string()});
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("no such file"), std::string::npos) << outcome.output;

  json unsaved = HappyScenario();
  unsaved["name"] = "uses a value never saved";
  CreateStep(unsaved).erase("save");
  outcome = Replay({Write("unsaved.json", unsaved)});
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_NE(outcome.output.find("${order} was never saved"), std::string::npos) << outcome.output;
}

}  // namespace
}  // namespace lab_orders::testing
