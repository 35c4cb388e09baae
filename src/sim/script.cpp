#include "lab_orders/sim/script.h"

#include <algorithm>
#include <stdexcept>

namespace lab_orders::sim {
namespace {

using nlohmann::json;

[[noreturn]] void Invalid(const std::string& where, const std::string& what) {
  throw std::invalid_argument("script " + where + ": " + what);
}

int IntField(const json& object, const char* key, int fallback, const std::string& where,
             int min_value = 0) {
  if (!object.contains(key)) return fallback;
  const json& value = object.at(key);
  if (!value.is_number_integer()) Invalid(where + "." + key, "must be an integer");
  long long number = value.get<long long>();
  if (number < min_value || number > 1000000000) Invalid(where + "." + key, "out of range");
  return int(number);
}

std::string StringField(const json& object, const char* key, const std::string& fallback,
                        const std::string& where) {
  if (!object.contains(key)) return fallback;
  if (!object.at(key).is_string()) Invalid(where + "." + key, "must be a string");
  return object.at(key).get<std::string>();
}

// A list of 5-digit ZIP codes, empty when the field is absent.
std::vector<std::string> ZipList(const json& document, const char* key) {
  std::vector<std::string> zips;
  if (!document.contains(key)) return zips;
  if (!document[key].is_array()) Invalid(key, "must be an array");
  for (const json& zip : document[key]) {
    if (!zip.is_string() || zip.get<std::string>().size() != 5 ||
        zip.get<std::string>().find_first_not_of("0123456789") != std::string::npos) {
      Invalid(key, "must hold 5-digit ZIP codes");
    }
    zips.push_back(zip.get<std::string>());
  }
  return zips;
}

void CheckKeys(const json& object, const std::vector<std::string>& allowed,
               const std::string& where) {
  if (!object.is_object()) Invalid(where, "must be an object");
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      Invalid(where, "unknown field \"" + key + "\"");
    }
  }
}

// "call", "calls" and "from_call" select call numbers.
void ParseSelector(const json& object, const std::string& where, std::vector<int>* calls,
                   int* from_call) {
  if (object.contains("call")) calls->push_back(IntField(object, "call", 0, where, 1));
  if (object.contains("calls")) {
    if (!object["calls"].is_array()) Invalid(where + ".calls", "must be an array");
    for (const json& call : object["calls"]) {
      if (!call.is_number_integer() || call.get<long long>() < 1) {
        Invalid(where + ".calls", "must hold call numbers from 1");
      }
      calls->push_back(call.get<int>());
    }
  }
  *from_call = IntField(object, "from_call", 0, where, 1);
}

bool SelectorMatches(const std::vector<int>& calls, int from_call, int call_number) {
  if (calls.empty() && from_call == 0) return true;
  if (from_call > 0 && call_number >= from_call) return true;
  return std::find(calls.begin(), calls.end(), call_number) != calls.end();
}

CallRule ParseCallRule(const json& object, const std::string& where) {
  CheckKeys(object,
            {"call", "calls", "from_call", "delay_ms", "fault", "hang_ms", "trickle_ms",
             "retry_after", "status", "body", "raw_body", "headers", "when", "comment"},
            where);
  CallRule rule;
  ParseSelector(object, where, &rule.calls, &rule.from_call);
  rule.delay_ms = IntField(object, "delay_ms", 0, where);
  rule.hang_ms = IntField(object, "hang_ms", 60000, where);
  rule.trickle_ms = IntField(object, "trickle_ms", 1000, where, 1);
  rule.retry_after_seconds = IntField(object, "retry_after", 1, where);
  if (object.contains("fault")) {
    if (!object["fault"].is_string()) Invalid(where + ".fault", "must be a string");
    auto fault = ParseFault(object["fault"].get<std::string>());
    if (!fault)
      Invalid(where + ".fault", "unknown fault \"" + object["fault"].get<std::string>() + "\"");
    rule.fault = *fault;
  }
  if (object.contains("status")) {
    int status = IntField(object, "status", 200, where, 100);
    if (status > 599) Invalid(where + ".status", "must be an HTTP status");
    rule.status = status;
  }
  if (object.contains("body")) rule.body = object["body"];
  if (object.contains("raw_body")) {
    if (!object["raw_body"].is_string()) Invalid(where + ".raw_body", "must be a string");
    rule.raw_body = object["raw_body"].get<std::string>();
  }
  if ((rule.body || rule.raw_body) && !rule.status) Invalid(where, "a body needs a status");
  if (rule.body && rule.raw_body) Invalid(where, "give body or raw_body, not both");
  if (rule.status && rule.fault != Fault::kNone) Invalid(where, "give status or fault, not both");
  if (object.contains("headers")) {
    if (!object["headers"].is_object()) Invalid(where + ".headers", "must be an object");
    for (const auto& [name, value] : object["headers"].items()) {
      if (!value.is_string()) Invalid(where + ".headers." + name, "must be a string");
      rule.headers[name] = value.get<std::string>();
    }
  }
  if (object.contains("when")) {
    std::string when = object["when"].is_string() ? object["when"].get<std::string>() : "";
    if (when != "before" && when != "after") Invalid(where + ".when", "is \"before\" or \"after\"");
    rule.after = when == "after";
  }
  return rule;
}

BookingRule ParseBookingRule(const json& object, const std::string& where) {
  CheckKeys(object,
            {"call", "calls", "from_call", "outcome", "provider_delay_ms", "resolve_after_polls",
             "resolve_after_ms", "comment"},
            where);
  BookingRule rule;
  ParseSelector(object, where, &rule.calls, &rule.from_call);
  std::string outcome = StringField(object, "outcome", "confirmed", where);
  if (outcome == "confirmed") {
    rule.outcome = BookingOutcome::kConfirmed;
  } else if (outcome == "reserved") {
    rule.outcome = BookingOutcome::kReserved;
  } else if (outcome == "cancelled") {
    rule.outcome = BookingOutcome::kCancelled;
  } else {
    Invalid(where + ".outcome", "is confirmed, reserved or cancelled");
  }
  rule.provider_delay_ms = IntField(object, "provider_delay_ms", 0, where);
  if (object.contains("resolve_after_polls")) {
    rule.resolve_after_polls = IntField(object, "resolve_after_polls", 1, where, 1);
  }
  if (object.contains("resolve_after_ms")) {
    rule.resolve_after_ms = IntField(object, "resolve_after_ms", 0, where);
  }
  return rule;
}

RequisitionRule ParseRequisition(const json& object) {
  CheckKeys(object, {"mode", "polls", "ms", "comment"}, "requisition");
  RequisitionRule rule;
  std::string mode = StringField(object, "mode", "immediate", "requisition");
  if (mode == "immediate") {
    rule.mode = RequisitionRule::Mode::kImmediate;
  } else if (mode == "after_polls") {
    rule.mode = RequisitionRule::Mode::kAfterPolls;
    rule.polls = IntField(object, "polls", 1, "requisition", 1);
  } else if (mode == "after_ms") {
    rule.mode = RequisitionRule::Mode::kAfterMs;
    rule.ms = IntField(object, "ms", 0, "requisition");
  } else if (mode == "manual") {
    rule.mode = RequisitionRule::Mode::kManual;
  } else {
    Invalid("requisition.mode", "is immediate, after_polls, after_ms or manual");
  }
  return rule;
}

KitRule ParseKit(const json& object) {
  CheckKeys(
      object,
      {"shipped_after_ms", "delivered_after_ms", "returned_after_ms", "at_lab_after_ms", "comment"},
      "kit");
  KitRule rule;
  // A number of ms, or null: only by hand. Absent: the default.
  auto after = [&](const char* key, std::optional<int>* field) {
    if (!object.contains(key)) return;
    if (object[key].is_null()) {
      field->reset();
    } else {
      *field = IntField(object, key, 0, "kit");
    }
  };
  after("shipped_after_ms", &rule.shipped_after_ms);
  after("delivered_after_ms", &rule.delivered_after_ms);
  after("returned_after_ms", &rule.returned_after_ms);
  after("at_lab_after_ms", &rule.at_lab_after_ms);
  return rule;
}

}  // namespace

const std::vector<std::string>& OperationNames() {
  static const std::vector<std::string> kNames = {
      "create_user",
      "resolve_user",
      "get_user",
      "list_lab_tests",
      "create_order",
      "get_order",
      "cancel_order",
      "area_info",
      "psc_info",
      "psc_availability",
      "psc_book_appointment",
      "psc_get_appointment",
      "psc_reschedule_appointment",
      "psc_cancel_appointment",
      "psc_cancellation_reasons",
      "availability",
      "book_appointment",
      "get_appointment",
      "reschedule_appointment",
      "cancel_appointment",
      "cancellation_reasons",
      "get_result",
      "get_result_metadata",
      "get_result_pdf",
  };
  return kNames;
}

std::optional<Fault> ParseFault(const std::string& name) {
  static const std::map<std::string, Fault> kFaults = {
      {"reset", Fault::kReset},
      {"close", Fault::kClose},
      {"hang", Fault::kHang},
      {"malformed_json", Fault::kMalformedJson},
      {"truncated_body", Fault::kTruncatedBody},
      {"trickle", Fault::kTrickle},
      {"rate_limited", Fault::kRateLimited},
      {"unavailable", Fault::kUnavailable},
  };
  auto it = kFaults.find(name);
  if (it == kFaults.end()) return std::nullopt;
  return it->second;
}

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kNone:
      return "none";
    case Fault::kReset:
      return "reset";
    case Fault::kClose:
      return "close";
    case Fault::kHang:
      return "hang";
    case Fault::kMalformedJson:
      return "malformed_json";
    case Fault::kTrickle:
      return "trickle";
    case Fault::kTruncatedBody:
      return "truncated_body";
    case Fault::kRateLimited:
      return "rate_limited";
    case Fault::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

bool CallRule::Matches(int call_number) const {
  return SelectorMatches(calls, from_call, call_number);
}

bool BookingRule::Matches(int call_number) const {
  return SelectorMatches(calls, from_call, call_number);
}

const CallRule* Script::RuleFor(const std::string& operation, int call_number) const {
  auto it = operations.find(operation);
  if (it == operations.end()) return nullptr;
  for (const CallRule& rule : it->second) {
    if (rule.Matches(call_number)) return &rule;
  }
  return nullptr;
}

BookingRule Script::BookingFor(int call_number) const {
  for (const BookingRule& rule : bookings) {
    if (rule.Matches(call_number)) return rule;
  }
  return BookingRule{};
}

Script ParseScript(const json& document) {
  CheckKeys(document,
            {"name", "description", "operations", "bookings", "requisition", "kit",
             "allow_booking_before_requisition", "webhooks", "served_zips", "psc_unserved_zips",
             "slot_capacity", "comment"},
            "");
  Script script;
  if (document.contains("operations")) {
    const json& operations = document["operations"];
    if (!operations.is_object()) Invalid("operations", "must be an object");
    for (const auto& [name, rules] : operations.items()) {
      const auto& known = OperationNames();
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        Invalid("operations", "unknown operation \"" + name + "\"");
      }
      if (!rules.is_array()) Invalid("operations." + name, "must be an array of rules");
      for (size_t i = 0; i < rules.size(); ++i) {
        script.operations[name].push_back(
            ParseCallRule(rules[i], "operations." + name + "[" + std::to_string(i) + "]"));
      }
    }
  }
  if (document.contains("bookings")) {
    if (!document["bookings"].is_array()) Invalid("bookings", "must be an array");
    for (size_t i = 0; i < document["bookings"].size(); ++i) {
      script.bookings.push_back(
          ParseBookingRule(document["bookings"][i], "bookings[" + std::to_string(i) + "]"));
    }
  }
  if (document.contains("requisition"))
    script.requisition = ParseRequisition(document["requisition"]);
  if (document.contains("kit")) script.kit = ParseKit(document["kit"]);
  if (document.contains("allow_booking_before_requisition")) {
    if (!document["allow_booking_before_requisition"].is_boolean()) {
      Invalid("allow_booking_before_requisition", "must be true or false");
    }
    script.allow_booking_before_requisition = document["allow_booking_before_requisition"];
  }
  if (document.contains("webhooks")) {
    CheckKeys(document["webhooks"], {"duplicate", "comment"}, "webhooks");
    const json& webhooks = document["webhooks"];
    if (webhooks.contains("duplicate") && !webhooks["duplicate"].is_boolean()) {
      Invalid("webhooks.duplicate", "must be true or false");
    }
    script.duplicate_webhooks = webhooks.value("duplicate", false);
  }
  script.served_zips = ZipList(document, "served_zips");
  script.psc_unserved_zips = ZipList(document, "psc_unserved_zips");
  script.slot_capacity = IntField(document, "slot_capacity", 10, "", 1);
  return script;
}

}  // namespace lab_orders::sim
