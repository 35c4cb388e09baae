#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "lab_orders/sim/script.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The message of the std::invalid_argument ParseScript throws, or "" when it parses. Any other
// exception (a json type_error, say) is reported as such so the case fails on its own.
std::string ParseError(const json& document) {
  try {
    ParseScript(document);
  } catch (const std::invalid_argument& error) {
    return error.what();
  } catch (const std::exception& error) {
    return std::string("not std::invalid_argument: ") + error.what();
  }
  return "";
}

json WithCreateOrderRule(const json& rule) {
  return {{"operations", {{"create_order", json::array({rule})}}}};
}

TEST(ParseScriptTest, EmptyScriptHasTheDefaults) {
  Script script = ParseScript(json::object());
  EXPECT_TRUE(script.operations.empty());
  EXPECT_TRUE(script.bookings.empty());
  EXPECT_EQ(script.requisition.mode, RequisitionRule::Mode::kImmediate);
  EXPECT_FALSE(script.allow_booking_before_requisition);
  EXPECT_FALSE(script.duplicate_webhooks);
  EXPECT_TRUE(script.served_zips.empty());
  EXPECT_EQ(script.slot_capacity, 10);
  EXPECT_EQ(script.RuleFor("create_order", 1), nullptr);
}

TEST(ParseScriptTest, ReadsEveryCallRuleField) {
  Script script = ParseScript({{"name", "everything"},
                               {"description", "every call rule field"},
                               {"comment", "top-level comment"},
                               {"operations",
                                {{"get_order",
                                  {{{"calls", {2, 4}},
                                    {"from_call", 9},
                                    {"delay_ms", 150},
                                    {"status", 418},
                                    {"body", {{"detail", "teapot"}}},
                                    {"headers", {{"Retry-After", "3"}, {"X-Sim", "yes"}}},
                                    {"when", "after"},
                                    {"comment", "rule comment"}},
                                   {{"call", 3}, {"fault", "hang"}, {"hang_ms", 1200}},
                                   {{"call", 5}, {"fault", "rate_limited"}, {"retry_after", 7}},
                                   {{"call", 6}, {"status", 200}, {"raw_body", "{not json"}},
                                   {{"call", 7}, {"status", 503}, {"when", "before"}}}}}}});

  const auto& rules = script.operations.at("get_order");
  ASSERT_EQ(rules.size(), 5u);
  const CallRule& canned = rules[0];
  EXPECT_THAT(canned.calls, ElementsAre(2, 4));
  EXPECT_EQ(canned.from_call, 9);
  EXPECT_EQ(canned.delay_ms, 150);
  EXPECT_EQ(canned.status, 418);
  EXPECT_EQ(canned.body, json({{"detail", "teapot"}}));
  EXPECT_FALSE(canned.raw_body.has_value());
  EXPECT_EQ(canned.headers,
            (std::map<std::string, std::string>{{"Retry-After", "3"}, {"X-Sim", "yes"}}));
  EXPECT_TRUE(canned.after);
  EXPECT_EQ(canned.fault, Fault::kNone);
  EXPECT_TRUE(canned.ReplacesAnswer());

  const CallRule& hang = rules[1];
  EXPECT_THAT(hang.calls, ElementsAre(3));
  EXPECT_EQ(hang.from_call, 0);
  EXPECT_EQ(hang.fault, Fault::kHang);
  EXPECT_EQ(hang.hang_ms, 1200);
  EXPECT_FALSE(hang.status.has_value());
  EXPECT_FALSE(hang.after);
  EXPECT_TRUE(hang.ReplacesAnswer());

  EXPECT_EQ(rules[2].fault, Fault::kRateLimited);
  EXPECT_EQ(rules[2].retry_after_seconds, 7);

  EXPECT_EQ(rules[3].status, 200);
  EXPECT_EQ(rules[3].raw_body, "{not json");
  EXPECT_FALSE(rules[3].body.has_value());

  EXPECT_EQ(rules[4].status, 503);
  EXPECT_FALSE(rules[4].after);
}

TEST(ParseScriptTest, CallRuleDefaults) {
  Script script = ParseScript(WithCreateOrderRule({{"delay_ms", 10}}));
  const CallRule& rule = script.operations.at("create_order").at(0);
  EXPECT_TRUE(rule.calls.empty());
  EXPECT_EQ(rule.from_call, 0);
  EXPECT_EQ(rule.hang_ms, 60000);
  EXPECT_EQ(rule.retry_after_seconds, 1);
  EXPECT_FALSE(rule.status.has_value());
  EXPECT_TRUE(rule.headers.empty());
  EXPECT_FALSE(rule.after);
  // A delay alone lets the call be handled for real.
  EXPECT_FALSE(rule.ReplacesAnswer());
}

TEST(ParseScriptTest, ReadsEveryFaultName) {
  const std::map<std::string, Fault> faults = {
      {"reset", Fault::kReset},
      {"close", Fault::kClose},
      {"hang", Fault::kHang},
      {"malformed_json", Fault::kMalformedJson},
      {"truncated_body", Fault::kTruncatedBody},
      {"rate_limited", Fault::kRateLimited},
      {"unavailable", Fault::kUnavailable},
  };
  for (const auto& [name, fault] : faults) {
    Script script = ParseScript(WithCreateOrderRule({{"fault", name}}));
    EXPECT_EQ(script.operations.at("create_order").at(0).fault, fault) << name;
    EXPECT_EQ(ParseFault(name), fault);
    EXPECT_EQ(FaultName(fault), name);
  }
  EXPECT_EQ(ParseFault("explode"), std::nullopt);
  EXPECT_STREQ(FaultName(Fault::kNone), "none");
}

TEST(ParseScriptTest, AcceptsEveryOperationName) {
  json operations = json::object();
  for (const std::string& name : OperationNames()) {
    operations[name] = json::array({{{"status", 500}}});
  }
  Script script = ParseScript({{"operations", operations}});
  EXPECT_EQ(script.operations.size(), 24u);
  for (const std::string& name : OperationNames()) {
    const CallRule* rule = script.RuleFor(name, 1);
    ASSERT_NE(rule, nullptr) << name;
    EXPECT_EQ(rule->status, 500) << name;
  }
}

TEST(ParseScriptTest, ReadsBookingRules) {
  Script script =
      ParseScript({{"bookings",
                    {{{"call", 1}, {"outcome", "cancelled"}},
                     {{"calls", {2, 3}},
                      {"outcome", "reserved"},
                      {"provider_delay_ms", 4000},
                      {"comment", "slow"}},
                     {{"from_call", 4}, {"resolve_after_polls", 3}, {"resolve_after_ms", 9000}}}}});
  ASSERT_EQ(script.bookings.size(), 3u);
  EXPECT_THAT(script.bookings[0].calls, ElementsAre(1));
  EXPECT_EQ(script.bookings[0].outcome, BookingOutcome::kCancelled);
  EXPECT_EQ(script.bookings[0].provider_delay_ms, 0);
  EXPECT_FALSE(script.bookings[0].resolve_after_polls.has_value());
  EXPECT_FALSE(script.bookings[0].resolve_after_ms.has_value());
  EXPECT_THAT(script.bookings[1].calls, ElementsAre(2, 3));
  EXPECT_EQ(script.bookings[1].outcome, BookingOutcome::kReserved);
  EXPECT_EQ(script.bookings[1].provider_delay_ms, 4000);
  EXPECT_EQ(script.bookings[2].from_call, 4);
  EXPECT_EQ(script.bookings[2].outcome, BookingOutcome::kConfirmed);
  EXPECT_EQ(script.bookings[2].resolve_after_polls, 3);
  EXPECT_EQ(script.bookings[2].resolve_after_ms, 9000);
}

TEST(ParseScriptTest, ReadsRequisitionModes) {
  EXPECT_EQ(ParseScript({{"requisition", {{"mode", "immediate"}}}}).requisition.mode,
            RequisitionRule::Mode::kImmediate);

  RequisitionRule polls =
      ParseScript({{"requisition", {{"mode", "after_polls"}, {"polls", 3}}}}).requisition;
  EXPECT_EQ(polls.mode, RequisitionRule::Mode::kAfterPolls);
  EXPECT_EQ(polls.polls, 3);
  EXPECT_EQ(ParseScript({{"requisition", {{"mode", "after_polls"}}}}).requisition.polls, 1);

  RequisitionRule timed =
      ParseScript({{"requisition", {{"mode", "after_ms"}, {"ms", 2500}, {"comment", "x"}}}})
          .requisition;
  EXPECT_EQ(timed.mode, RequisitionRule::Mode::kAfterMs);
  EXPECT_EQ(timed.ms, 2500);

  EXPECT_EQ(ParseScript({{"requisition", {{"mode", "manual"}}}}).requisition.mode,
            RequisitionRule::Mode::kManual);
}

TEST(ParseScriptTest, ReadsTopLevelSwitches) {
  Script script = ParseScript({{"allow_booking_before_requisition", true},
                               {"webhooks", {{"duplicate", true}, {"comment", "twice"}}},
                               {"served_zips", {"10001", "94107"}},
                               {"psc_unserved_zips", {"60601"}},
                               {"slot_capacity", 1}});
  EXPECT_TRUE(script.allow_booking_before_requisition);
  EXPECT_TRUE(script.duplicate_webhooks);
  EXPECT_THAT(script.served_zips, ElementsAre("10001", "94107"));
  EXPECT_THAT(script.psc_unserved_zips, ElementsAre("60601"));
  EXPECT_EQ(script.slot_capacity, 1);
}

// ---- selectors -------------------------------------------------------------------------------

TEST(CallRuleTest, SelectorsPickCalls) {
  CallRule every;
  CallRule listed;
  listed.calls = {2, 4};
  CallRule from;
  from.from_call = 3;
  CallRule both;
  both.calls = {1};
  both.from_call = 5;

  for (int call = 1; call <= 6; ++call) EXPECT_TRUE(every.Matches(call)) << call;
  EXPECT_FALSE(listed.Matches(1));
  EXPECT_TRUE(listed.Matches(2));
  EXPECT_FALSE(listed.Matches(3));
  EXPECT_TRUE(listed.Matches(4));
  EXPECT_FALSE(listed.Matches(5));
  EXPECT_FALSE(from.Matches(2));
  EXPECT_TRUE(from.Matches(3));
  EXPECT_TRUE(from.Matches(1000));
  EXPECT_TRUE(both.Matches(1));
  EXPECT_FALSE(both.Matches(2));
  EXPECT_FALSE(both.Matches(4));
  EXPECT_TRUE(both.Matches(5));
}

TEST(ScriptTest, RuleForReturnsTheFirstMatchingRule) {
  Script script = ParseScript(
      {{"operations",
        {{"create_order",
          {{{"call", 2}, {"status", 503}}, {{"from_call", 2}, {"status", 500}}, {{"status", 429}}}},
         {"get_order", {{{"call", 1}, {"fault", "reset"}}}}}}});
  ASSERT_NE(script.RuleFor("create_order", 1), nullptr);
  EXPECT_EQ(script.RuleFor("create_order", 1)->status, 429);
  EXPECT_EQ(script.RuleFor("create_order", 2)->status, 503);
  EXPECT_EQ(script.RuleFor("create_order", 3)->status, 500);
  EXPECT_EQ(script.RuleFor("get_order", 1)->fault, Fault::kReset);
  EXPECT_EQ(script.RuleFor("get_order", 2), nullptr);
  EXPECT_EQ(script.RuleFor("cancel_order", 1), nullptr);
}

TEST(ScriptTest, BookingForReturnsTheFirstMatchingRuleOrAPlainConfirmation) {
  Script script = ParseScript({{"bookings",
                                {{{"call", 1}, {"outcome", "cancelled"}},
                                 {{"calls", {1, 2}}, {"outcome", "reserved"}},
                                 {{"from_call", 4}, {"provider_delay_ms", 3000}}}}});
  EXPECT_EQ(script.BookingFor(1).outcome, BookingOutcome::kCancelled);
  EXPECT_EQ(script.BookingFor(2).outcome, BookingOutcome::kReserved);

  BookingRule third = script.BookingFor(3);
  EXPECT_EQ(third.outcome, BookingOutcome::kConfirmed);
  EXPECT_EQ(third.provider_delay_ms, 0);
  EXPECT_FALSE(third.resolve_after_polls.has_value());
  EXPECT_FALSE(third.resolve_after_ms.has_value());

  EXPECT_EQ(script.BookingFor(4).provider_delay_ms, 3000);
  EXPECT_EQ(Script{}.BookingFor(1).outcome, BookingOutcome::kConfirmed);
}

// ---- errors ----------------------------------------------------------------------------------

TEST(ParseScriptErrorTest, UnknownOperationIsNamed) {
  EXPECT_THAT(ParseError({{"operations", {{"create_orders", json::array()}}}}),
              HasSubstr("unknown operation \"create_orders\""));
}

TEST(ParseScriptErrorTest, UnknownFaultIsNamedWithItsLocation) {
  std::string error = ParseError(WithCreateOrderRule({{"fault", "explode"}}));
  EXPECT_THAT(error, HasSubstr("operations.create_order[0].fault"));
  EXPECT_THAT(error, HasSubstr("unknown fault \"explode\""));
}

TEST(ParseScriptErrorTest, UnknownFieldsAreNamedWherever) {
  EXPECT_THAT(ParseError({{"operation", json::object()}}),
              HasSubstr("unknown field \"operation\""));
  EXPECT_THAT(ParseError(WithCreateOrderRule({{"stauts", 500}})),
              HasSubstr("unknown field \"stauts\""));
  EXPECT_THAT(ParseError({{"bookings", {{{"outcome", "confirmed"}, {"delay", 5}}}}}),
              HasSubstr("unknown field \"delay\""));
  EXPECT_THAT(ParseError({{"requisition", {{"mode", "manual"}, {"after", 5}}}}),
              HasSubstr("unknown field \"after\""));
  EXPECT_THAT(ParseError({{"webhooks", {{"duplicates", true}}}}),
              HasSubstr("unknown field \"duplicates\""));
}

TEST(ParseScriptErrorTest, BodyNeedsAStatus) {
  EXPECT_THAT(ParseError(WithCreateOrderRule({{"body", {{"detail", "x"}}}})),
              HasSubstr("a body needs a status"));
  EXPECT_THAT(ParseError(WithCreateOrderRule({{"raw_body", "x"}})),
              HasSubstr("a body needs a status"));
}

TEST(ParseScriptErrorTest, StatusAndFaultTogetherAreRefused) {
  EXPECT_THAT(ParseError(WithCreateOrderRule({{"status", 500}, {"fault", "reset"}})),
              HasSubstr("give status or fault, not both"));
}

TEST(ParseScriptErrorTest, BodyAndRawBodyTogetherAreRefused) {
  EXPECT_THAT(ParseError(WithCreateOrderRule({{"status", 200}, {"body", 1}, {"raw_body", "1"}})),
              HasSubstr("body or raw_body"));
}

TEST(ParseScriptErrorTest, BadValuesAreNamed) {
  struct Case {
    json document;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {json::array(), "must be an object"},
      {{{"operations", json::array()}}, "operations"},
      {{{"operations", {{"create_order", json::object()}}}}, "operations.create_order"},
      {WithCreateOrderRule({{"status", 99}}), "operations.create_order[0].status"},
      {WithCreateOrderRule({{"status", 600}}), "operations.create_order[0].status"},
      {WithCreateOrderRule({{"status", "500"}}), "operations.create_order[0].status"},
      {WithCreateOrderRule({{"call", 0}}), "operations.create_order[0].call"},
      {WithCreateOrderRule({{"calls", {1, 0}}}), "operations.create_order[0].calls"},
      {WithCreateOrderRule({{"calls", 2}}), "operations.create_order[0].calls"},
      {WithCreateOrderRule({{"from_call", 0}}), "operations.create_order[0].from_call"},
      {WithCreateOrderRule({{"delay_ms", -1}}), "operations.create_order[0].delay_ms"},
      {WithCreateOrderRule({{"delay_ms", 1.5}}), "operations.create_order[0].delay_ms"},
      {WithCreateOrderRule({{"fault", 3}}), "operations.create_order[0].fault"},
      {WithCreateOrderRule({{"headers", {{"X", 1}}}}), "operations.create_order[0].headers.X"},
      {WithCreateOrderRule({{"when", "during"}}), "operations.create_order[0].when"},
      {{{"bookings", {{{"outcome", "maybe"}}}}}, "bookings[0].outcome"},
      {{{"bookings", {{{"outcome", 1}}}}}, "bookings[0].outcome"},
      {{{"bookings", {{{"resolve_after_polls", 0}}}}}, "bookings[0].resolve_after_polls"},
      {{{"bookings", json::object()}}, "bookings"},
      {{{"requisition", {{"mode", "someday"}}}}, "requisition.mode"},
      {{{"requisition", {{"mode", 2}}}}, "requisition.mode"},
      {{{"requisition", {{"mode", "after_polls"}, {"polls", 0}}}}, "requisition.polls"},
      {{{"allow_booking_before_requisition", "yes"}}, "allow_booking_before_requisition"},
      {{{"webhooks", {{"duplicate", "yes"}}}}, "webhooks.duplicate"},
      {{{"served_zips", {"8500"}}}, "served_zips"},
      {{{"served_zips", {"8500a"}}}, "served_zips"},
      {{{"served_zips", "85004"}}, "served_zips"},
      {{{"slot_capacity", 0}}, "slot_capacity"},
  };
  for (const Case& bad : cases) {
    std::string error = ParseError(bad.document);
    EXPECT_THAT(error, HasSubstr(bad.expected)) << bad.document.dump();
    EXPECT_THAT(error, ::testing::StartsWith("script ")) << bad.document.dump();
  }
}

}  // namespace
}  // namespace lab_orders::sim
