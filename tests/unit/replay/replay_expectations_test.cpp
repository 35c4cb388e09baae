#include <gtest/gtest.h>

#include "lab_orders/replay/expectations.h"

namespace lab_orders::replay {
namespace {

using nlohmann::json;

TEST(ReplayMatcherTest, EqualsMatchesPresentAbsent) {
  json value = "ordered";
  EXPECT_FALSE(CheckMatcher({{"equals", "ordered"}}, &value));
  EXPECT_EQ(*CheckMatcher({{"equals", "received"}}, &value),
            "expected \"received\", got \"ordered\"");
  EXPECT_FALSE(CheckMatcher("ordered", &value));  // a bare value means equals
  EXPECT_FALSE(CheckMatcher({{"matches", "^ord"}}, &value));
  EXPECT_TRUE(CheckMatcher({{"matches", "^rec"}}, &value));
  EXPECT_FALSE(CheckMatcher({{"present", true}}, &value));
  EXPECT_EQ(*CheckMatcher({{"absent", true}}, &value), "expected absent, got \"ordered\"");
  EXPECT_FALSE(CheckMatcher({{"absent", true}}, nullptr));
  EXPECT_EQ(*CheckMatcher({{"equals", 1}}, nullptr), "expected 1, got absent");
  json number = 201;
  EXPECT_FALSE(CheckMatcher({{"matches", "^20"}}, &number));  // the JSON text of non-strings
}

TEST(ReplayMatcherTest, MistakesInTheScenarioAreScenarioErrors) {
  json value = 1;
  EXPECT_THROW(CheckMatcher({{"equal", 1}}, &value), ScenarioError);
  EXPECT_THROW(CheckMatcher({{"matches", "("}}, &value), ScenarioError);
  EXPECT_THROW(CheckMatcher({{"equals", 1}, {"present", true}}, &value), ScenarioError);
  EXPECT_THROW(CheckPointers({{"status", "x"}}, json::object(), "body"), ScenarioError);
}

TEST(ReplayMatcherTest, PointersReportEveryDifference) {
  json document = {{"status", "ordered"}, {"details", {{{"path", "/patient/phone"}}}}};
  auto differences = CheckPointers({{"/status", "ordered"},
                                    {"/details/0/path", {{"equals", "/patient/email"}}},
                                    {"/missing", {{"present", true}}},
                                    {"", {{"present", true}}}},
                                   document, "step 1: body");
  ASSERT_EQ(differences.size(), 2u);
  EXPECT_EQ(differences[0],
            "step 1: body /details/0/path: expected \"/patient/email\", got \"/patient/phone\"");
  EXPECT_EQ(differences[1], "step 1: body /missing: expected present, got absent");
}

TEST(ReplayMatcherTest, SubstitutesSavedValuesEverywhere) {
  json step = {{"path", "/v1/labs/orders/${order}"}, {"list", {"${order}-x"}}, {"n", 3}};
  json done = Substitute(step, {{"order", "abc"}});
  EXPECT_EQ(done["path"], "/v1/labs/orders/abc");
  EXPECT_EQ(done["list"][0], "abc-x");
  EXPECT_EQ(done["n"], 3);
  EXPECT_THROW(Substitute(json("${nope}"), {}), ScenarioError);
  EXPECT_EQ(Substitute(json("no ${ end"), {}), "no ${ end");
}

TEST(ReplayJunctionCheckTest, SequenceCountsAndCallBodies) {
  json calls = json::array(
      {{{"operation", "create_user"}, {"body", {{"client_user_id", "b:p"}}}},
       {{"operation", "create_order"},
        {"body", {{"order_set", {{"lab_test_ids", {"t-1"}}}}}},
        {"idempotency_key", "lab-orders:1"},
        {"outcome", 200}},
       {{"operation", "create_order"}, {"idempotency_key", "lab-orders:1"}, {"outcome", "reset"}}});
  EXPECT_TRUE(
      CheckJunctionCalls({{"sequence", {"create_user", "create_order", "create_order"}},
                          {"starts_with", {"create_user"}},
                          {"counts", {{"create_order", 2}, {"get_order", {{"at_most", 0}}}}},
                          {"calls",
                           {{{"operation", "create_order"},
                             {"index", 0},
                             {"body", {{"/order_set/lab_test_ids/0", "t-1"}}},
                             {"idempotency_key", {{"matches", "^lab-orders:"}}},
                             {"outcome", 200}},
                            {{"operation", "create_order"}, {"index", 1}, {"outcome", "reset"}}}}},
                         calls)
          .empty());
  auto differences = CheckJunctionCalls({{"sequence", {"create_user"}},
                                         {"counts", {{"create_order", {{"at_least", 3}}}}},
                                         {"calls", {{{"operation", "get_order"}}}}},
                                        calls);
  ASSERT_EQ(differences.size(), 3u);
  EXPECT_EQ(differences[0],
            "junction sequence: expected [create_user], got [create_user, create_order, "
            "create_order]");
  EXPECT_EQ(differences[1], "junction count of create_order: expected at least 3, got 2");
  EXPECT_EQ(differences[2], "junction get_order[0]: expected the call, got 0 calls");
  EXPECT_THROW(CheckJunctionCalls({{"sequences", json::array()}}, calls), ScenarioError);
}

}  // namespace
}  // namespace lab_orders::replay
