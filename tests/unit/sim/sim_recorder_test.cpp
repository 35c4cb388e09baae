#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "lab_orders/sim/recorder.h"
#include "lab_orders/sim/script.h"

namespace lab_orders::sim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(RecorderTest, NumbersCallsPerOperationInTheOrderTheyCame) {
  Recorder recorder("recorded from https://api.sandbox.tryvital.io at 2025-01-02T03:04:05+00:00");
  EXPECT_EQ(recorder.Add("create_user", 200, R"({"user_id": "u-1"})"), 1);
  EXPECT_EQ(recorder.Add("get_order", 404, R"({"detail": "Order not found"})"), 1);
  EXPECT_EQ(recorder.Add("get_order", 200, R"({"order": {"id": "o-1"}})"), 2);
  EXPECT_EQ(recorder.Add("create_user", 400, R"({"detail": {"user_id": "u-1"}})"), 2);
  EXPECT_EQ(recorder.calls(), 4);

  json expected = {
      {"name", "recorded from https://api.sandbox.tryvital.io at 2025-01-02T03:04:05+00:00"},
      {"operations",
       {{"create_user",
         {{{"call", 1}, {"status", 200}, {"body", {{"user_id", "u-1"}}}},
          {{"call", 2}, {"status", 400}, {"body", {{"detail", {{"user_id", "u-1"}}}}}}}},
        {"get_order",
         {{{"call", 1}, {"status", 404}, {"body", {{"detail", "Order not found"}}}},
          {{"call", 2}, {"status", 200}, {"body", {{"order", {{"id", "o-1"}}}}}}}}}}};
  EXPECT_EQ(recorder.ToScript(), expected);
}

TEST(RecorderTest, BodiesThatAreNotJsonAreRawAndRetryAfterIsKept) {
  Recorder recorder("r");
  recorder.Add("list_lab_tests", 502, "<html>Bad Gateway</html>",
               {{"content-type", "text/html"}, {"retry-after", "30"}});
  recorder.Add("list_lab_tests", 204, "");
  recorder.Add("list_lab_tests", 429, R"({"detail": "Too Many Requests"})",
               {{"Retry-After", "2"}, {"X-Request-Id", "abc"}});
  recorder.Add("list_lab_tests", 200, "[1, 2");  // cut short: not JSON
  recorder.Add("list_lab_tests", 200, "null");   // JSON: the body is null
  json rules = recorder.ToScript()["operations"]["list_lab_tests"];
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules[0], json({{"call", 1},
                            {"status", 502},
                            {"raw_body", "<html>Bad Gateway</html>"},
                            {"headers", {{"Retry-After", "30"}}}}));
  EXPECT_EQ(rules[1], json({{"call", 2}, {"status", 204}, {"raw_body", ""}}));
  EXPECT_EQ(rules[2], json({{"call", 3},
                            {"status", 429},
                            {"body", {{"detail", "Too Many Requests"}}},
                            {"headers", {{"Retry-After", "2"}}}}));
  EXPECT_EQ(rules[3]["raw_body"], "[1, 2");
  EXPECT_TRUE(rules[4].contains("body"));
  EXPECT_TRUE(rules[4]["body"].is_null());
}

TEST(RecorderTest, DeeplyNestedBodiesAreKeptAsText) {
  Recorder recorder("r");
  std::string deep = std::string(1000, '[') + std::string(1000, ']');
  recorder.Add("get_user", 200, deep);
  EXPECT_EQ(recorder.ToScript()["operations"]["get_user"][0]["raw_body"], deep);
}

TEST(RecorderTest, TheRecordingIsAScriptThatAnswersTheSameCalls) {
  Recorder recorder("r");
  recorder.Add("create_order", 200, R"({"order": {"id": "o-1"}, "status": "received"})");
  recorder.Add("create_order", 503, "busy", {{"Retry-After", "3"}});
  recorder.Add("get_appointment", 200, R"({"status": "confirmed"})");
  recorder.Add("get_appointment", 200, R"({"status": "completed"})");

  Script script = ParseScript(recorder.ToScript());
  const CallRule* first = script.RuleFor("create_order", 1);
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(first->ReplacesAnswer());
  EXPECT_FALSE(first->after);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, json::parse(R"({"order": {"id": "o-1"}, "status": "received"})"));
  const CallRule* second = script.RuleFor("create_order", 2);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->status, 503);
  EXPECT_FALSE(second->body.has_value());
  EXPECT_EQ(second->raw_body, "busy");
  EXPECT_EQ(second->headers.at("Retry-After"), "3");
  EXPECT_EQ(script.RuleFor("create_order", 3), nullptr) << "later calls are the simulator's own";
  EXPECT_EQ(script.RuleFor("get_appointment", 2)->body, json({{"status", "completed"}}));
  EXPECT_EQ(script.RuleFor("get_order", 1), nullptr);
}

TEST(RecorderTest, EveryOperationNameIsAcceptedByTheScriptParser) {
  Recorder recorder("r");
  for (const std::string& operation : OperationNames()) recorder.Add(operation, 200, "{}");
  Script script = ParseScript(recorder.ToScript());
  for (const std::string& operation : OperationNames()) {
    EXPECT_NE(script.RuleFor(operation, 1), nullptr) << operation;
  }
}

TEST(RecorderTest, AddingFromManyThreadsLosesNoAnswerAndRepeatsNoCallNumber) {
  Recorder recorder("r");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&recorder] {
      for (int i = 0; i < 100; ++i) recorder.Add("get_order", 200, "{}");
    });
  }
  for (auto& thread : threads) thread.join();
  json rules = recorder.ToScript()["operations"]["get_order"];
  ASSERT_EQ(rules.size(), 400u);
  for (size_t i = 0; i < rules.size(); ++i) EXPECT_EQ(rules[i]["call"], int(i + 1));
}

class RecordingFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sim-recorder-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static json ReadJson(const fs::path& path) {
    std::ifstream in(path);
    return json::parse(in);
  }

  static inline int counter_ = 0;
  fs::path dir_;
};

TEST_F(RecordingFileTest, FlushWritesTheScriptReadableByItsOwnerOnlyAndLeavesNoTemporary) {
  fs::path path = dir_ / "session.json";
  Recorder recorder("r", path.string());
  recorder.Flush();
  EXPECT_EQ(ReadJson(path), json({{"name", "r"}, {"operations", json::object()}}));
  recorder.Add("get_user", 200, R"({"user_id": "u-1"})");
  recorder.Flush();
  EXPECT_EQ(ReadJson(path), recorder.ToScript());
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(RecordingFileTest, WriteFileAtomicallyReplacesTheFileAndNamesItsErrors) {
  fs::path path = dir_ / "file.json";
  std::ofstream(path) << "old";
  WriteFileAtomically(path.string(), "new");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "new");
  try {
    WriteFileAtomically((dir_ / "missing" / "file.json").string(), "x");
    FAIL() << "wrote into a directory that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/file.json"), std::string::npos) << e.what();
  }
}

TEST(RecordingNameTest, NamesTheUpstreamAndTheTime) {
  auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1735787045));
  EXPECT_EQ(RecordingName("https://api.sandbox.tryvital.io", at),
            "recorded from https://api.sandbox.tryvital.io at 2025-01-02T03:04:05+00:00");
}

}  // namespace
}  // namespace lab_orders::sim
