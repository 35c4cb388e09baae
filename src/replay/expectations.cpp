#include "lab_orders/replay/expectations.h"

#include <cstdlib>
#include <regex>

namespace lab_orders::replay {
namespace {

using nlohmann::json;

const json* Find(const json& document, const std::string& pointer) {
  try {
    json::json_pointer where(pointer);
    if (!document.contains(where)) return nullptr;
    return &document.at(where);
  } catch (const json::exception&) {
    throw ScenarioError("\"" + pointer + "\" is not a JSON pointer (it starts with / or is \"\")");
  }
}

std::string Join(const std::vector<std::string>& names) {
  std::string text = "[";
  for (size_t i = 0; i < names.size(); ++i) text += (i ? ", " : "") + names[i];
  return text + "]";
}

std::optional<std::string> CheckCount(const json& expected, int actual) {
  if (expected.is_number_integer()) {
    if (actual == expected.get<int>()) return std::nullopt;
    return "expected " + std::to_string(expected.get<int>()) + ", got " + std::to_string(actual);
  }
  if (expected.is_object()) {
    if (expected.contains("at_least") && actual < expected["at_least"].get<int>()) {
      return "expected at least " + Brief(expected["at_least"]) + ", got " + std::to_string(actual);
    }
    if (expected.contains("at_most") && actual > expected["at_most"].get<int>()) {
      return "expected at most " + Brief(expected["at_most"]) + ", got " + std::to_string(actual);
    }
    return std::nullopt;
  }
  throw ScenarioError("a junction count is a number or {\"at_least\"/\"at_most\": N}");
}

}  // namespace

std::string Brief(const json& value) {
  std::string text = value.dump();
  return text.size() <= 200 ? text : text.substr(0, 197) + "...";
}

json Substitute(const json& value, const std::map<std::string, std::string>& saved) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    std::string out;
    size_t at = 0;
    while (true) {
      size_t open = text.find("${", at);
      if (open == std::string::npos) break;
      size_t close = text.find('}', open);
      if (close == std::string::npos) break;
      out += text.substr(at, open - at);
      std::string name = text.substr(open + 2, close - open - 2);
      if (name.rfind("env.", 0) == 0) {
        const char* env = std::getenv(name.substr(4).c_str());
        out += env ? env : "";
      } else {
        auto found = saved.find(name);
        if (found == saved.end()) throw ScenarioError("${" + name + "} was never saved");
        out += found->second;
      }
      at = close + 1;
    }
    return out + text.substr(at);
  }
  if (value.is_array()) {
    json out = json::array();
    for (const json& item : value) out.push_back(Substitute(item, saved));
    return out;
  }
  if (value.is_object()) {
    json out = json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      out[Substitute(json(it.key()), saved).get<std::string>()] = Substitute(it.value(), saved);
    }
    return out;
  }
  return value;
}

std::optional<std::string> CheckMatcher(const json& matcher, const json* found) {
  if (!matcher.is_object()) {
    if (found && *found == matcher) return std::nullopt;
    return "expected " + Brief(matcher) + ", got " + (found ? Brief(*found) : "absent");
  }
  if (matcher.size() != 1) {
    throw ScenarioError("a matcher has one of equals, matches, present, absent: " + Brief(matcher));
  }
  const std::string& kind = matcher.begin().key();
  const json& operand = matcher.begin().value();
  if (kind == "equals") {
    if (found && *found == operand) return std::nullopt;
    return "expected " + Brief(operand) + ", got " + (found ? Brief(*found) : "absent");
  }
  if (kind == "matches") {
    if (!operand.is_string()) throw ScenarioError("\"matches\" takes a regex string");
    std::regex pattern;
    try {
      pattern = std::regex(operand.get<std::string>(), std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      throw ScenarioError("\"matches\": not a valid regex: " + operand.get<std::string>());
    }
    if (!found) return "expected a value matching " + Brief(operand) + ", got absent";
    std::string text = found->is_string() ? found->get<std::string>() : found->dump();
    if (std::regex_search(text, pattern)) return std::nullopt;
    return "expected a value matching " + Brief(operand) + ", got " + Brief(*found);
  }
  if (kind == "present") {
    bool want = operand.get<bool>();
    if ((found != nullptr) == want) return std::nullopt;
    return want ? std::string("expected present, got absent")
                : "expected absent, got " + Brief(*found);
  }
  if (kind == "absent") {
    bool want = operand.get<bool>();
    if ((found == nullptr) == want) return std::nullopt;
    return want ? "expected absent, got " + Brief(*found)
                : std::string("expected present, got absent");
  }
  throw ScenarioError("unknown matcher \"" + kind + "\" (equals, matches, present, absent)");
}

std::vector<std::string> CheckPointers(const json& checks, const json& document,
                                       const std::string& what) {
  if (!checks.is_object()) throw ScenarioError(what + ": expected {\"/pointer\": matcher, ...}");
  std::vector<std::string> differences;
  for (auto it = checks.begin(); it != checks.end(); ++it) {
    // "/list/*/rest": some element of the array at /list matches at /rest.
    if (const std::size_t star = it.key().find("/*"); star != std::string::npos) {
      const json* list = Find(document, it.key().substr(0, star));
      const std::string rest = it.key().substr(star + 2);
      bool any = false;
      for (const json& element : list && list->is_array() ? *list : json::array()) {
        any = any || !CheckMatcher(it.value(), Find(element, rest));
      }
      if (!any) differences.push_back(what + " " + it.key() + ": no element matches");
      continue;
    }
    if (auto difference = CheckMatcher(it.value(), Find(document, it.key()))) {
      differences.push_back(what + " " + (it.key().empty() ? "(whole)" : it.key()) + ": " +
                            *difference);
    }
  }
  return differences;
}

namespace {

// The checks on a list of names in order (Junction operations, brand event types): "sequence"
// (exactly these), "starts_with", "includes" (these in this order, others between), "first",
// "counts" ({"name": n or {"at_least", "at_most"}}). what names the list in messages.
std::vector<std::string> CheckNames(const json& expected, const std::vector<std::string>& names,
                                    const std::string& what) {
  std::vector<std::string> differences;
  if (expected.contains("sequence")) {
    auto want = expected["sequence"].get<std::vector<std::string>>();
    if (want != names) {
      differences.push_back(what + " sequence: expected " + Join(want) + ", got " + Join(names));
    }
  }
  if (expected.contains("starts_with")) {
    auto want = expected["starts_with"].get<std::vector<std::string>>();
    bool starts =
        names.size() >= want.size() && std::equal(want.begin(), want.end(), names.begin());
    if (!starts) {
      differences.push_back(what + ": expected to start with " + Join(want) + ", got " +
                            Join(names));
    }
  }
  if (expected.contains("includes")) {
    auto want = expected["includes"].get<std::vector<std::string>>();
    auto at = names.begin();
    bool all = true;
    for (const std::string& name : want) {
      at = std::find(at, names.end(), name);
      if (at == names.end()) {
        all = false;
        break;
      }
      ++at;
    }
    if (!all) {
      differences.push_back(what + ": expected to include, in order, " + Join(want) + ", got " +
                            Join(names));
    }
  }
  if (expected.contains("first")) {
    const std::string want = expected["first"].get<std::string>();
    if (names.empty() || names.front() != want) {
      differences.push_back(what + ": expected " + want + " first, got " + Join(names));
    }
  }
  if (expected.contains("counts")) {
    for (auto it = expected["counts"].begin(); it != expected["counts"].end(); ++it) {
      int actual = int(std::count(names.begin(), names.end(), it.key()));
      if (auto difference = CheckCount(it.value(), actual)) {
        differences.push_back(what + " count of " + it.key() + ": " + *difference);
      }
    }
  }
  return differences;
}

}  // namespace

std::vector<std::string> CheckJunctionCalls(const json& expected, const json& calls) {
  static const char* const kKeys[] = {"sequence", "starts_with", "counts", "calls"};
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    if (std::find(std::begin(kKeys), std::end(kKeys), it.key()) == std::end(kKeys)) {
      throw ScenarioError("junction: unknown field \"" + it.key() + "\"");
    }
  }
  std::vector<std::string> operations;
  for (const json& call : calls) operations.push_back(call.value("operation", ""));
  std::vector<std::string> differences = CheckNames(expected, operations, "junction");
  if (expected.contains("calls")) {
    for (const json& check : expected["calls"]) {
      std::string operation = check.at("operation").get<std::string>();
      int index = check.value("index", 0);
      std::vector<const json*> matching;
      for (const json& call : calls) {
        if (call.value("operation", "") == operation) matching.push_back(&call);
      }
      std::string what = "junction " + operation + "[" + std::to_string(index) + "]";
      if (index < 0 || size_t(index) >= matching.size()) {
        differences.push_back(what + ": expected the call, got " + std::to_string(matching.size()) +
                              " calls");
        continue;
      }
      const json& call = *matching[size_t(index)];
      for (auto it = check.begin(); it != check.end(); ++it) {
        if (it.key() == "operation" || it.key() == "index") continue;
        if (it.key() == "body") {
          json body = call.contains("body") ? call["body"] : json(nullptr);
          auto more = CheckPointers(it.value(), body, what + " body");
          differences.insert(differences.end(), more.begin(), more.end());
        } else if (it.key() == "path" || it.key() == "query" || it.key() == "idempotency_key" ||
                   it.key() == "outcome") {
          const json* found =
              call.contains(it.key()) && !call[it.key()].is_null() ? &call[it.key()] : nullptr;
          if (auto difference = CheckMatcher(it.value(), found)) {
            differences.push_back(what + " " + it.key() + ": " + *difference);
          }
        } else {
          throw ScenarioError("junction calls: unknown field \"" + it.key() + "\"");
        }
      }
    }
  }
  return differences;
}

std::vector<std::string> CheckBrandDeliveries(const json& expected, const json& deliveries) {
  static const char* const kKeys[] = {"order", "sequence", "starts_with", "includes",
                                      "first", "counts",   "within_ms"};
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    if (std::find(std::begin(kKeys), std::end(kKeys), it.key()) == std::end(kKeys)) {
      throw ScenarioError("deliveries: unknown field \"" + it.key() + "\"");
    }
  }
  const std::string order = expected.at("order").get<std::string>();
  // What the brand received: the deliveries it acknowledged, for this order, in arrival order.
  std::vector<std::string> types;
  for (const json& delivery : deliveries) {
    if (delivery.value("order_id", json()) != json(order)) continue;
    if (delivery.value("status", 0) / 100 != 2) continue;
    types.push_back(delivery.value("type", ""));
  }
  return CheckNames(expected, types, "brand deliveries");
}

}  // namespace lab_orders::replay
