#include "lab_orders/common/strict_json.h"

#include <gtest/gtest.h>

#include <string>

namespace lab_orders {
namespace {

using json = nlohmann::json;

// The pointer of the repeated member, "(parsed)" or "(malformed)".
std::string Outcome(std::string_view text) {
  auto parsed = ParseStrictJson(text, 64);
  if (auto* repeated = std::get_if<RepeatedMember>(&parsed)) return repeated->pointer;
  if (std::holds_alternative<MalformedJson>(parsed)) return "(malformed)";
  if (std::holds_alternative<TooDeep>(parsed)) return "(too deep)";
  return "(parsed)";
}

TEST(StrictJsonTest, ParsesWhatNlohmannParses) {
  auto parsed = ParseStrictJson(R"({"a":[1,{"b":null}],"c":"\u00e9","d":{"a":1}})", 64);
  ASSERT_TRUE(std::holds_alternative<json>(parsed));
  EXPECT_EQ(std::get<json>(parsed),
            json::parse(R"({"a":[1,{"b":null}],"c":"\u00e9","d":{"a":1}})"));
  EXPECT_EQ(Outcome("[1,2,3]"), "(parsed)");
  EXPECT_EQ(Outcome("\"text\""), "(parsed)");
  EXPECT_EQ(Outcome("{}"), "(parsed)");
}

TEST(StrictJsonTest, NestingBeyondTheLimitIsTooDeepEvenUnbalanced) {
  EXPECT_EQ(Outcome(std::string(64, '[') + std::string(64, ']')), "(parsed)");
  EXPECT_EQ(Outcome(std::string(65, '[') + std::string(65, ']')), "(too deep)");
  EXPECT_EQ(Outcome(std::string(100000, '{')), "(too deep)");
}

TEST(StrictJsonTest, MalformedTextAndInvalidUtf8AreMalformed) {
  for (std::string_view text : {"", "{", "{\"a\":1,}", "[1 2]", "nul", "{\"a\":1}x"}) {
    EXPECT_EQ(Outcome(text), "(malformed)") << text;
  }
  EXPECT_EQ(Outcome("\"\xff\""), "(malformed)");
  EXPECT_EQ(Outcome("{\"\xc3\x28\":1}"), "(malformed)");
}

TEST(StrictJsonTest, AMemberNamedTwiceIsFoundWhereverItIs) {
  EXPECT_EQ(Outcome(R"({"panel_slug":"pcos","panel_slug":"wellness"})"), "/panel_slug");
  EXPECT_EQ(Outcome(R"({"patient":{"dob":"1990-01-01","email":"a@b.c","dob":"1800-01-01"}})"),
            "/patient/dob");
  EXPECT_EQ(Outcome(R"({"a":[0,{"x":1},{"x":1,"x":2}]})"), "/a/2/x");
  EXPECT_EQ(Outcome(R"([[1],[2,{"k":{"k":1,"k":2}}]])"), "/1/1/k/k");
  // The same name written with an escape is the same name; the pointer escapes ~ and /.
  EXPECT_EQ(Outcome(R"({"a":1,"\u0061":2})"), "/a");
  EXPECT_EQ(Outcome(R"({"x":{"a/b~":1,"a/b~":2}})"), "/x/a~1b~0");
}

TEST(StrictJsonTest, TheSameNameInDifferentObjectsIsNotRepeated) {
  EXPECT_EQ(Outcome(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})"), "(parsed)");
  EXPECT_EQ(Outcome(R"({"a":1,"b":{"c":1},"c":2})"), "(parsed)");
}

}  // namespace
}  // namespace lab_orders
