#include "lab_orders/sim/openapi_validator.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string_view>
#include <tuple>
#include <utility>

namespace lab_orders::sim {

using nlohmann::json;

struct OpenApiValidator::CompiledPatterns {
  std::map<std::string, std::regex, std::less<>> by_source;
};

namespace {

// Deeper instances are rejected rather than walked, so hostile input cannot exhaust the stack.
constexpr int kMaxInstanceDepth = 64;
// Bounds $ref / anyOf chains that never step into the instance (e.g. a cycle of refs).
constexpr int kMaxCallDepth = 1024;
// Caps total work so unions over recursive schemas cannot blow up exponentially.
constexpr long kMaxNodeVisits = 1'000'000;
// std::regex matches recursively and overflows the stack on long subjects.
constexpr std::size_t kMaxPatternSubjectCodePoints = 2048;
// The spec is trusted, but its walk is bounded anyway.
constexpr int kMaxSpecDepth = 256;

const json* Child(const json* node, std::string_view key) {
  if (node == nullptr || !node->is_object()) return nullptr;
  auto it = node->find(key);
  return it == node->end() ? nullptr : &*it;
}

std::string ToLower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::size_t CountCodePoints(const std::string& utf8) {
  // Every code point has exactly one byte that is not a continuation byte (10xxxxxx).
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Numbers as pydantic prints its constraints: 1000.0 in the spec came from `ge=1000`.
std::string FormatNumber(double value) {
  if (std::isfinite(value) && std::trunc(value) == value && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// A schema value (never an instance value) rendered the way Python's repr() would.
std::string PythonRepr(const json& value) {
  if (value.is_string()) return "'" + value.get<std::string>() + "'";
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  if (value.is_null()) return "None";
  if (value.is_number()) return FormatNumber(value.get<double>());
  return value.dump();
}

// "'a', 'b' or 'c'", as in pydantic's enum and literal messages.
std::string JoinAlternatives(const json& values) {
  std::string joined;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) joined += (i + 1 == values.size()) ? " or " : ", ";
    joined += PythonRepr(values[i]);
  }
  return joined;
}

std::optional<double> NumberKeyword(const json& schema, std::string_view key) {
  const json* value = Child(&schema, key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->get<double>();
}

bool IsWholeNumber(const json& instance) {
  if (instance.is_number_integer()) return true;  // covers unsigned too
  if (!instance.is_number_float()) return false;
  double value = instance.get<double>();
  return std::isfinite(value) && std::trunc(value) == value;
}

bool MatchesType(std::string_view type, const json& instance) {
  if (type == "string") return instance.is_string();
  if (type == "integer") return IsWholeNumber(instance);
  if (type == "number") return instance.is_number();
  if (type == "boolean") return instance.is_boolean();
  if (type == "object") return instance.is_object();
  if (type == "array") return instance.is_array();
  if (type == "null") return instance.is_null();
  return true;  // an unknown type name constrains nothing
}

struct TypeError {
  std::string type;
  std::string msg;
};

TypeError TypeErrorFor(std::string_view expected, const json& instance) {
  if (expected == "string") return {"string_type", "Input should be a valid string"};
  if (expected == "integer") {
    if (instance.is_number_float() && std::isfinite(instance.get<double>())) {
      return {"int_from_float",
              "Input should be a valid integer, got a number with a fractional part"};
    }
    return {"int_type", "Input should be a valid integer"};
  }
  if (expected == "number") return {"float_type", "Input should be a valid number"};
  if (expected == "boolean") return {"bool_type", "Input should be a valid boolean"};
  if (expected == "object") return {"dict_type", "Input should be a valid dictionary"};
  if (expected == "array") return {"list_type", "Input should be a valid list"};
  return {"none_required", "Input should be None"};
}

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int ParseDigits(std::string_view text) {
  int value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  return value;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// YYYY-MM-DD naming a day that exists.
bool IsCalendarDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  std::string_view year = text.substr(0, 4), month = text.substr(5, 2), day = text.substr(8, 2);
  if (!AllDigits(year) || !AllDigits(month) || !AllDigits(day)) return false;
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int month_number = ParseDigits(month);
  int day_number = ParseDigits(day);
  if (month_number < 1 || month_number > 12 || day_number < 1) return false;
  int days = kDaysInMonth[month_number - 1];
  if (month_number == 2 && IsLeapYear(ParseDigits(year))) days = 29;
  return day_number <= days;
}

bool IsTwoDigitsBelow(std::string_view text, int limit) {
  return text.size() == 2 && AllDigits(text) && ParseDigits(text) < limit;
}

// RFC 3339 date-time. The offset is optional because pydantic emits naive datetimes and the spec's
// own examples (e.g. "2022-01-01T00:00:00") carry none.
bool IsDateTime(std::string_view text) {
  if (text.size() < 19 || !IsCalendarDate(text.substr(0, 10))) return false;
  char separator = text[10];
  if (separator != 'T' && separator != 't' && separator != ' ') return false;
  if (text[13] != ':' || text[16] != ':') return false;
  // 60 allows a leap second.
  if (!IsTwoDigitsBelow(text.substr(11, 2), 24) || !IsTwoDigitsBelow(text.substr(14, 2), 60) ||
      !IsTwoDigitsBelow(text.substr(17, 2), 61)) {
    return false;
  }
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 1) return false;
    rest.remove_prefix(digits);
  }
  if (rest.empty() || rest == "Z" || rest == "z") return true;
  return rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
         IsTwoDigitsBelow(rest.substr(1, 2), 24) && IsTwoDigitsBelow(rest.substr(4, 2), 60);
}

// 8-4-4-4-12 hexadecimal digits.
bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool hyphen_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen_position ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

// A sanity check, not RFC 5322: the reason is returned so the message can explain the failure
// without echoing the address. Empty means acceptable.
std::string EmailProblem(std::string_view text) {
  if (std::count(text.begin(), text.end(), '@') != 1) {
    return "An email address must have exactly one @-sign.";
  }
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return "An email address cannot contain whitespace.";
  }
  std::size_t at = text.find('@');
  if (at == 0) return "There must be something before the @-sign.";
  std::string_view domain = text.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.') {
    return "The part after the @-sign is not valid. It should have a period.";
  }
  return "";
}

class SchemaWalker {
 public:
  SchemaWalker(const json& spec, const std::map<std::string, std::regex, std::less<>>& patterns,
               json loc_prefix)
      : spec_(spec), patterns_(patterns), loc_(std::move(loc_prefix)) {}

  std::vector<SchemaViolation> Run(const json& schema, const json& instance) {
    json root_loc = loc_;
    Check(schema, instance, 0, 0);
    // An exhausted budget means parts went unchecked; say so even if a union hid the report.
    if (budget_exhausted_ && violations_.empty()) {
      violations_.push_back({root_loc, "Input is too large to validate", "value_error"});
    }
    return std::move(violations_);
  }

 private:
  void Report(std::string msg, std::string type) {
    violations_.push_back({loc_, std::move(msg), std::move(type)});
  }

  // Checks a child of the instance, so the location grows by one step while inside it.
  template <typename Step>
  void CheckChild(const json& schema, const json& child, Step step, int instance_depth,
                  int call_depth) {
    loc_.push_back(json(step));
    Check(schema, child, instance_depth + 1, call_depth + 1);
    loc_.erase(loc_.size() - 1);
  }

  std::vector<SchemaViolation> CheckIsolated(const json& schema, const json& instance,
                                             int instance_depth, int call_depth) {
    std::vector<SchemaViolation> saved;
    saved.swap(violations_);
    Check(schema, instance, instance_depth, call_depth + 1);
    saved.swap(violations_);
    return saved;
  }

  void Check(const json& schema, const json& instance, int instance_depth, int call_depth) {
    if (budget_exhausted_) return;
    if (++node_visits_ > kMaxNodeVisits) {
      budget_exhausted_ = true;
      Report("Input is too large to validate", "value_error");
      return;
    }
    if (instance_depth > kMaxInstanceDepth) {
      Report("Input is nested too deeply", "value_error");
      return;
    }
    if (call_depth > kMaxCallDepth) {
      Report("Schema is nested too deeply", "value_error");
      return;
    }
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) Report("Input is not permitted here", "value_error");
      return;
    }
    if (!schema.is_object()) return;

    // Siblings of $ref are documentation (description, default) in this spec, so only the
    // target counts.
    if (const json* ref = Child(&schema, "$ref"); ref != nullptr && ref->is_string()) {
      const json* target = ResolveRef(ref->get<std::string>());
      if (target == nullptr) {
        Report("Schema reference could not be resolved", "value_error");
        return;
      }
      Check(*target, instance, instance_depth, call_depth + 1);
      return;
    }

    // pydantic reports a bad enum or literal instead of a type error, and nothing else.
    if (const json* allowed = Child(&schema, "enum"); allowed != nullptr && allowed->is_array()) {
      if (std::find(allowed->begin(), allowed->end(), instance) == allowed->end()) {
        Report("Input should be " + JoinAlternatives(*allowed), "enum");
        return;
      }
    }
    if (const json* constant = Child(&schema, "const"); constant != nullptr) {
      if (instance != *constant) {
        Report("Input should be " + PythonRepr(*constant), "literal_error");
        return;
      }
    }
    if (!CheckType(schema, instance)) return;

    if (instance.is_string()) CheckString(schema, instance.get_ref<const std::string&>());
    if (instance.is_number()) CheckNumber(schema, instance);
    if (instance.is_object()) CheckObject(schema, instance, instance_depth, call_depth);
    if (instance.is_array()) CheckArray(schema, instance, instance_depth, call_depth);

    if (const json* all_of = Child(&schema, "allOf"); all_of != nullptr && all_of->is_array()) {
      for (const json& branch : *all_of) Check(branch, instance, instance_depth, call_depth + 1);
    }
    if (const json* any_of = Child(&schema, "anyOf"); any_of != nullptr && any_of->is_array()) {
      CheckUnion(*any_of, instance, instance_depth, call_depth, /*exactly_one=*/false);
    }
    if (const json* one_of = Child(&schema, "oneOf"); one_of != nullptr && one_of->is_array()) {
      CheckUnion(*one_of, instance, instance_depth, call_depth, /*exactly_one=*/true);
    }
  }

  const json* ResolveRef(const std::string& ref) const {
    if (ref.empty() || ref.front() != '#') return nullptr;  // only local references exist here
    try {
      json::json_pointer pointer(ref.substr(1));
      return spec_.contains(pointer) ? &spec_.at(pointer) : nullptr;
    } catch (const json::exception&) {
      return nullptr;
    }
  }

  // Returns whether the instance has an allowed type (so type-specific keywords apply).
  bool CheckType(const json& schema, const json& instance) {
    const json* type = Child(&schema, "type");
    if (type == nullptr) return true;
    std::vector<std::string> allowed;
    if (type->is_string()) allowed.push_back(type->get<std::string>());
    if (type->is_array()) {
      for (const json& name : *type) {
        if (name.is_string()) allowed.push_back(name.get<std::string>());
      }
    }
    if (allowed.empty()) return true;
    for (const std::string& name : allowed) {
      if (MatchesType(name, instance)) return true;
    }
    // Name the most informative expectation: "null" only when nothing else is allowed.
    std::string expected = allowed.front();
    for (const std::string& name : allowed) {
      if (name != "null") {
        expected = name;
        break;
      }
    }
    TypeError error = TypeErrorFor(expected, instance);
    Report(std::move(error.msg), std::move(error.type));
    return false;
  }

  void CheckString(const json& schema, const std::string& text) {
    std::size_t length = CountCodePoints(text);
    bool reported_too_long = false;
    if (auto min_length = NumberKeyword(schema, "minLength");
        min_length && static_cast<double>(length) < *min_length) {
      std::string count = FormatNumber(*min_length);
      Report("String should have at least " + count + (count == "1" ? " character" : " characters"),
             "string_too_short");
    }
    if (auto max_length = NumberKeyword(schema, "maxLength");
        max_length && static_cast<double>(length) > *max_length) {
      std::string count = FormatNumber(*max_length);
      Report("String should have at most " + count + (count == "1" ? " character" : " characters"),
             "string_too_long");
      reported_too_long = true;
    }
    if (const json* pattern = Child(&schema, "pattern");
        pattern != nullptr && pattern->is_string()) {
      if (length > kMaxPatternSubjectCodePoints) {
        if (!reported_too_long) {
          Report("String should have at most " + std::to_string(kMaxPatternSubjectCodePoints) +
                     " characters",
                 "string_too_long");
        }
      } else {
        CheckPattern(pattern->get_ref<const std::string&>(), text);
      }
    }
    if (const json* format = Child(&schema, "format"); format != nullptr && format->is_string()) {
      CheckFormat(format->get_ref<const std::string&>(), text);
    }
  }

  void CheckPattern(const std::string& source, const std::string& text) {
    std::optional<std::regex> compiled_here;
    const std::regex* regex = nullptr;
    if (auto it = patterns_.find(source); it != patterns_.end()) {
      regex = &it->second;
    } else {
      // A schema from outside the spec: compile it now.
      try {
        compiled_here.emplace(source, std::regex::ECMAScript);
        regex = &*compiled_here;
      } catch (const std::regex_error&) {
        return;  // a pattern std::regex cannot express says nothing about the instance
      }
    }
    bool matches = false;
    try {
      matches = std::regex_search(text, *regex);
    } catch (const std::regex_error&) {
      matches = false;  // too complex to decide: refuse rather than accept
    }
    if (!matches) Report("String should match pattern '" + source + "'", "string_pattern_mismatch");
  }

  void CheckFormat(const std::string& format, const std::string& text) {
    if (format == "date") {
      if (!IsCalendarDate(text)) {
        Report("Input should be a valid date", "date_from_datetime_parsing");
      }
    } else if (format == "date-time") {
      if (!IsDateTime(text)) {
        Report("Input should be a valid datetime", "datetime_from_date_parsing");
      }
    } else if (format == "uuid" || format == "uuid4") {
      // uuid4 is checked for shape only; the version nibble is not enforced.
      if (!IsUuid(text)) Report("Input should be a valid UUID", "uuid_parsing");
    } else if (format == "email") {
      if (std::string problem = EmailProblem(text); !problem.empty()) {
        Report("value is not a valid email address: " + problem, "value_error");
      }
    }
  }

  void CheckNumber(const json& schema, const json& instance) {
    double value = instance.get<double>();
    if (!std::isfinite(value)) {
      Report("Input should be a finite number", "finite_number");
      return;
    }
    if (auto minimum = NumberKeyword(schema, "minimum"); minimum && value < *minimum) {
      Report("Input should be greater than or equal to " + FormatNumber(*minimum),
             "greater_than_equal");
    }
    if (auto maximum = NumberKeyword(schema, "maximum"); maximum && value > *maximum) {
      Report("Input should be less than or equal to " + FormatNumber(*maximum), "less_than_equal");
    }
    if (auto bound = NumberKeyword(schema, "exclusiveMinimum"); bound && value <= *bound) {
      Report("Input should be greater than " + FormatNumber(*bound), "greater_than");
    }
    if (auto bound = NumberKeyword(schema, "exclusiveMaximum"); bound && value >= *bound) {
      Report("Input should be less than " + FormatNumber(*bound), "less_than");
    }
  }

  void CheckObject(const json& schema, const json& instance, int instance_depth, int call_depth) {
    const json* properties = Child(&schema, "properties");
    if (properties != nullptr && !properties->is_object()) properties = nullptr;
    const json* required = Child(&schema, "required");
    if (required != nullptr && !required->is_array()) required = nullptr;

    if (properties != nullptr) {
      for (const auto& [name, property_schema] : properties->items()) {
        if (auto it = instance.find(name); it != instance.end()) {
          CheckChild(property_schema, *it, name, instance_depth, call_depth);
        }
      }
    }
    if (required != nullptr) {
      for (const json& name : *required) {
        if (name.is_string() && !instance.contains(name.get_ref<const std::string&>())) {
          loc_.push_back(name);
          Report("Field required", "missing");
          loc_.erase(loc_.size() - 1);
        }
      }
    }

    const json* additional = Child(&schema, "additionalProperties");
    const json* property_names = Child(&schema, "propertyNames");
    if (additional == nullptr && property_names == nullptr) return;
    for (const auto& [name, value] : instance.items()) {
      if (property_names != nullptr) {
        // pydantic locates a bad dict key at [..., key, "[key]"].
        loc_.push_back(name);
        CheckChild(*property_names, json(name), "[key]", instance_depth, call_depth);
        loc_.erase(loc_.size() - 1);
      }
      bool declared = properties != nullptr && properties->contains(name);
      if (additional == nullptr || declared) continue;
      if (additional->is_boolean() && !additional->get<bool>()) {
        loc_.push_back(name);
        Report("Extra inputs are not permitted", "extra_forbidden");
        loc_.erase(loc_.size() - 1);
      } else {
        CheckChild(*additional, value, name, instance_depth, call_depth);
      }
    }
  }

  void CheckArray(const json& schema, const json& instance, int instance_depth, int call_depth) {
    const json* items = Child(&schema, "items");
    if (items == nullptr) return;
    for (std::size_t index = 0; index < instance.size(); ++index) {
      CheckChild(*items, instance[index], index, instance_depth, call_depth);
      if (budget_exhausted_) return;
    }
  }

  // Ranks a failed branch; lower is closer to what the caller meant. A branch that already
  // rejects the instance itself (wrong type, enum, format) is a worse guess than one that only
  // objects to something inside it, and a mismatched const is the mark of the wrong variant.
  std::tuple<int, int, std::size_t> Distance(const std::vector<SchemaViolation>& violations) const {
    int rejects_whole_instance = 0;
    int literal_mismatches = 0;
    for (const SchemaViolation& violation : violations) {
      if (violation.loc == loc_) rejects_whole_instance = 1;
      if (violation.type == "literal_error") ++literal_mismatches;
    }
    return {rejects_whole_instance, literal_mismatches, violations.size()};
  }

  void CheckUnion(const json& branches, const json& instance, int instance_depth, int call_depth,
                  bool exactly_one) {
    if (branches.empty()) return;
    std::vector<SchemaViolation> closest;
    std::optional<std::tuple<int, int, std::size_t>> closest_distance;
    int accepting_branches = 0;
    for (const json& branch : branches) {
      std::vector<SchemaViolation> found =
          CheckIsolated(branch, instance, instance_depth, call_depth);
      if (found.empty()) {
        ++accepting_branches;
        if (!exactly_one) return;
        continue;
      }
      auto distance = Distance(found);
      if (!closest_distance || distance < *closest_distance) {
        closest_distance = distance;
        closest = std::move(found);
      }
    }
    if (accepting_branches == 0) {
      violations_.insert(violations_.end(), std::make_move_iterator(closest.begin()),
                         std::make_move_iterator(closest.end()));
    } else if (accepting_branches > 1) {
      Report("Input should match exactly one of the allowed schemas", "value_error");
    }
  }

  const json& spec_;
  const std::map<std::string, std::regex, std::less<>>& patterns_;
  json loc_;
  std::vector<SchemaViolation> violations_;
  long node_visits_ = 0;
  bool budget_exhausted_ = false;
};

void CompileSpecPatterns(const json& node, int depth,
                         std::map<std::string, std::regex, std::less<>>& compiled) {
  if (depth > kMaxSpecDepth) return;
  if (node.is_object()) {
    if (const json* pattern = Child(&node, "pattern");
        pattern != nullptr && pattern->is_string() &&
        !compiled.contains(pattern->get<std::string>())) {
      try {
        compiled.emplace(pattern->get<std::string>(),
                         std::regex(pattern->get<std::string>(), std::regex::ECMAScript));
      } catch (const std::regex_error&) {
        // Left out; CheckPattern will skip a pattern it cannot compile.
      }
    }
  }
  if (node.is_structured()) {
    for (const json& child : node) CompileSpecPatterns(child, depth + 1, compiled);
  }
}

const json* JsonSchemaOf(const json* operation_part) {
  return Child(Child(Child(operation_part, "content"), "application/json"), "schema");
}

}  // namespace

OpenApiValidator::OpenApiValidator(json spec) : spec_(std::move(spec)) {
  auto patterns = std::make_shared<CompiledPatterns>();
  CompileSpecPatterns(spec_, 0, patterns->by_source);
  patterns_ = std::move(patterns);
}

std::vector<SchemaViolation> OpenApiValidator::Validate(const json& schema, const json& instance,
                                                        const json& loc_prefix) const {
  json loc = json::array();
  if (loc_prefix.is_array()) {
    loc = loc_prefix;
  } else if (!loc_prefix.is_null()) {
    loc.push_back(loc_prefix);
  }
  static const CompiledPatterns kNoPatterns;  // a moved-from validator has none
  const CompiledPatterns& patterns = patterns_ ? *patterns_ : kNoPatterns;
  SchemaWalker walker(spec_, patterns.by_source, std::move(loc));
  return walker.Run(schema, instance);
}

const json* OpenApiValidator::RequestBodySchema(const std::string& method,
                                                const std::string& path_template) const {
  const json* operation = Child(Child(Child(&spec_, "paths"), path_template), ToLower(method));
  return JsonSchemaOf(Child(operation, "requestBody"));
}

const json* OpenApiValidator::ResponseSchema(const std::string& method,
                                             const std::string& path_template, int status) const {
  const json* operation = Child(Child(Child(&spec_, "paths"), path_template), ToLower(method));
  return JsonSchemaOf(Child(Child(operation, "responses"), std::to_string(status)));
}

}  // namespace lab_orders::sim
