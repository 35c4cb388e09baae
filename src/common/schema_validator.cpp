#include "lab_orders/common/schema_validator.h"

// valijson's exceptions.hpp includes <stdexcept> inside its own namespace, so the standard
// header has to be seen first.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#include <vector>

namespace lab_orders {

using nlohmann::json;

std::size_t CodePointCount(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string PointerToken(std::string_view token) {
  std::string escaped;
  escaped.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string PointerFromTokens(const std::vector<std::string>& tokens) {
  std::string pointer;
  for (const std::string& token : tokens) pointer += "/" + PointerToken(token);
  return pointer;
}

bool IsAtOrUnder(const std::string& pointer, const std::string& ancestor) {
  if (pointer == ancestor) return true;
  return pointer.size() > ancestor.size() && pointer.compare(0, ancestor.size(), ancestor) == 0 &&
         pointer[ancestor.size()] == '/';
}

namespace {

// ---- step 1: bounds ---------------------------------------------------------------------------

constexpr std::uint64_t kLargestInteger =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// Walks the body with an explicit stack (no recursion, so no depth can overflow it). Children are
// visited in document order. On the first container nested beyond the limit the walk stops: its
// pointer holds at most max_depth + 1 tokens, where the deepest container's could be megabytes.
std::vector<FieldViolation> BoundsViolations(const json& body, const InputLimits& limits) {
  struct Pending {
    const json* value;
    std::string pointer;
    int depth;  // containers from the root, the root being 1
  };
  const std::string too_long =
      "is longer than the " + std::to_string(limits.max_string_length) + " characters allowed";

  std::vector<FieldViolation> violations;
  std::vector<Pending> pending;
  pending.push_back({&body, "", 1});
  while (!pending.empty()) {
    Pending current = std::move(pending.back());
    pending.pop_back();
    const json& value = *current.value;
    if (value.is_string()) {
      if (CodePointCount(value.get_ref<const std::string&>()) > limits.max_string_length) {
        violations.push_back({current.pointer, too_long});
      }
      continue;
    }
    if (value.is_number_unsigned() && value.get<std::uint64_t>() > kLargestInteger) {
      // valijson reads integers as int64_t: 2^64 - 1 would pass for -1.
      violations.push_back({current.pointer, "is too large"});
      continue;
    }
    if (!value.is_structured()) continue;
    if (current.depth > limits.max_depth) {
      violations.push_back(
          {current.pointer,
           "is nested deeper than the " + std::to_string(limits.max_depth) + " levels allowed"});
      return violations;
    }
    if (value.is_array()) {
      for (std::size_t index = value.size(); index-- > 0;) {
        pending.push_back(
            {&value[index], current.pointer + "/" + std::to_string(index), current.depth + 1});
      }
      continue;
    }
    if (value.size() > limits.max_object_members) {
      violations.push_back(
          {current.pointer,
           "has more than the " + std::to_string(limits.max_object_members) + " members allowed"});
    }
    bool has_overlong_name = false;
    for (auto member = value.rbegin(); member != value.rend(); ++member) {
      // An overlong name is reported at its object: as a pointer token it would be just as long.
      if (CodePointCount(member.key()) > limits.max_string_length) {
        has_overlong_name = true;
        continue;
      }
      pending.push_back(
          {&member.value(), current.pointer + "/" + PointerToken(member.key()), current.depth + 1});
    }
    if (has_overlong_name) {
      violations.push_back({current.pointer, "has a member name longer than the " +
                                                 std::to_string(limits.max_string_length) +
                                                 " characters allowed"});
    }
  }
  return violations;
}

// ---- step 2: the request schema ---------------------------------------------------------------

// valijson 1.0 checks no "format" but date/time ones, and its format check calls asString() on
// whatever it meets, so a one-element array where a string belongs throws. The lab rules check
// email and dates by hand; the compiled copy drops the keyword (a string-valued "format", so a
// property that happened to be named "format" would survive).
json WithoutFormatKeywords(json schema) {
  std::vector<json*> pending{&schema};
  while (!pending.empty()) {
    json* node = pending.back();
    pending.pop_back();
    if (node->is_object()) {
      auto format = node->find("format");
      if (format != node->end() && format->is_string()) node->erase(format);
    }
    if (node->is_structured()) {
      for (json& child : *node) pending.push_back(&child);
    }
  }
  return schema;
}

enum class SchemaFailure {
  kRequired,
  kType,
  kEnum,
  kTooShort,
  kTooLong,
  kTooSmall,
  kTooLarge,
  kTooManyMembers,
  kTooFewItems,
  kTooManyItems,
  kNotUnique,
  kUnknownProperty,  // additionalProperties: false
  kOther,
  kNested,  // "failed to validate against the schema of property x": the inner error says why
};

SchemaFailure ClassifyValijsonError(std::string_view description) {
  auto starts_with = [&](std::string_view prefix) { return description.starts_with(prefix); };
  if (starts_with("Missing required property")) return SchemaFailure::kRequired;
  if (starts_with("Value type not permitted")) return SchemaFailure::kType;
  if (starts_with("Failed to match against any enum")) return SchemaFailure::kEnum;
  if (starts_with("String should be no fewer")) return SchemaFailure::kTooShort;
  if (starts_with("String should be no more")) return SchemaFailure::kTooLong;
  if (starts_with("Expected number greater")) return SchemaFailure::kTooSmall;
  if (starts_with("Expected number less")) return SchemaFailure::kTooLarge;
  if (starts_with("Object should have no more")) return SchemaFailure::kTooManyMembers;
  if (starts_with("Array should contain no fewer")) return SchemaFailure::kTooFewItems;
  if (starts_with("Array should contain no more")) return SchemaFailure::kTooManyItems;
  if (starts_with("Object contains a property that could not be validated")) {
    return SchemaFailure::kUnknownProperty;
  }
  if (description.find("violate uniqueness") != std::string_view::npos) {
    return SchemaFailure::kNotUnique;
  }
  if (starts_with("Failed to validate")) return SchemaFailure::kNested;
  return SchemaFailure::kOther;
}

// Lower is more specific: a type error says more than "not in the enum" for panel_slug: 5.
int Specificity(SchemaFailure failure) {
  switch (failure) {
    case SchemaFailure::kRequired:
    case SchemaFailure::kType:
      return 0;
    case SchemaFailure::kOther:
      return 2;
    case SchemaFailure::kNested:
      return 3;
    default:
      return 1;
  }
}

// The subschema that governs the value at `tokens`, following "properties", then an object
// "additionalProperties", or an array's object "items"; nullptr where the schema says nothing.
const json* SubschemaAt(const json& schema, const std::vector<std::string>& tokens) {
  const json* node = &schema;
  for (const std::string& token : tokens) {
    if (!node->is_object()) return nullptr;
    auto items = node->find("items");
    if (items != node->end() && items->is_object() && !token.empty() &&
        token.find_first_not_of("0123456789") == std::string::npos) {
      node = &*items;
      continue;
    }
    auto properties = node->find("properties");
    if (properties != node->end() && properties->is_object()) {
      if (auto child = properties->find(token); child != properties->end()) {
        node = &*child;
        continue;
      }
    }
    auto additional = node->find("additionalProperties");
    if (additional == node->end() || !additional->is_object()) return nullptr;
    node = &*additional;
  }
  return node;
}

std::string NumberText(const json& number) {
  if (number.is_number_integer()) return number.dump();
  if (number.is_number_float()) {
    const double value = number.get<double>();
    if (value == static_cast<double>(static_cast<std::int64_t>(value))) {
      return std::to_string(static_cast<std::int64_t>(value));
    }
  }
  return number.dump();
}

std::string TypePhrase(const json& type) {
  auto phrase = [](const std::string& name) -> std::string {
    if (name == "string") return "a string";
    if (name == "integer") return "an integer";
    if (name == "number") return "a number";
    if (name == "object") return "an object";
    if (name == "array") return "an array";
    if (name == "boolean") return "true or false";
    return name;  // "null"
  };
  if (type.is_string()) return phrase(type.get<std::string>());
  std::string joined;
  for (const json& name : type) {
    if (!name.is_string()) continue;
    if (!joined.empty()) joined += " or ";
    joined += phrase(name.get<std::string>());
  }
  return joined;
}

// Client-facing wording for a schema failure, taken from the schema (never from the value).
std::string SchemaMessage(SchemaFailure failure, const json* subschema) {
  auto keyword = [&](const char* name) -> const json* {
    if (subschema == nullptr || !subschema->is_object()) return nullptr;
    auto found = subschema->find(name);
    return found == subschema->end() ? nullptr : &*found;
  };
  switch (failure) {
    case SchemaFailure::kRequired:
      return "is required";
    case SchemaFailure::kType:
      if (const json* type = keyword("type"); type != nullptr && !TypePhrase(*type).empty()) {
        return "must be " + TypePhrase(*type);
      }
      return "has the wrong type";
    case SchemaFailure::kEnum: {
      const json* values = keyword("enum");
      if (values == nullptr || !values->is_array()) return "is not one of the allowed values";
      std::string listed;
      for (const json& value : *values) {
        if (!listed.empty()) listed += ", ";
        listed += value.is_string() ? value.get<std::string>() : value.dump();
      }
      return "must be one of: " + listed;
    }
    case SchemaFailure::kTooShort:
      if (const json* min = keyword("minLength"); min != nullptr && min->is_number()) {
        if (min->get<double>() == 1) return "must not be empty";
        return "must be at least " + NumberText(*min) + " characters";
      }
      return "is too short";
    case SchemaFailure::kTooLong:
      if (const json* max = keyword("maxLength"); max != nullptr && max->is_number()) {
        return "must be at most " + NumberText(*max) + " characters";
      }
      return "is too long";
    case SchemaFailure::kTooSmall:
      if (const json* min = keyword("minimum"); min != nullptr && min->is_number()) {
        return "must be at least " + NumberText(*min);
      }
      return "is too small";
    case SchemaFailure::kTooLarge:
      if (const json* max = keyword("maximum"); max != nullptr && max->is_number()) {
        return "must be at most " + NumberText(*max);
      }
      return "is too large";
    case SchemaFailure::kTooManyMembers:
      if (const json* max = keyword("maxProperties"); max != nullptr && max->is_number()) {
        return "must have at most " + NumberText(*max) + " keys";
      }
      return "has too many keys";
    case SchemaFailure::kTooFewItems:
      if (const json* min = keyword("minItems"); min != nullptr && min->is_number()) {
        if (min->get<double>() == 1) return "must not be empty";
        return "must have at least " + NumberText(*min) + " items";
      }
      return "has too few items";
    case SchemaFailure::kTooManyItems:
      if (const json* max = keyword("maxItems"); max != nullptr && max->is_number()) {
        return "must have at most " + NumberText(*max) + " items";
      }
      return "has too many items";
    case SchemaFailure::kNotUnique:
      return "must not list an item twice";
    case SchemaFailure::kUnknownProperty:
      return "is not a field of this request";
    case SchemaFailure::kOther:
    case SchemaFailure::kNested:
      break;
  }
  return "is invalid";
}

// valijson's context for an error is {"<root>", "[patient]", "[email]"}.
std::vector<std::string> TokensFromContext(const std::vector<std::string>& context) {
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < context.size(); ++i) {
    const std::string& part = context[i];
    if (i == 0 && part == "<root>") continue;
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']') {
      tokens.push_back(part.substr(1, part.size() - 2));
    } else {
      tokens.push_back(part);
    }
  }
  return tokens;
}

// "Missing required property 'dob'." → "dob". The name comes from the schema, not the body.
std::optional<std::string> RequiredPropertyName(const std::string& description) {
  const std::size_t open = description.find('\'');
  const std::size_t close = description.rfind('\'');
  if (open == std::string::npos || close <= open) return std::nullopt;
  return description.substr(open + 1, close - open - 1);
}

struct SchemaViolation {
  std::string pointer;
  SchemaFailure failure;
  std::string message;
};

// One violation per offending path, the most specific one; "property x failed" wrappers go
// wherever the error inside them is reported.
std::vector<FieldViolation> TranslateValijsonErrors(const valijson::ValidationResults& results,
                                                    const json& schema) {
  std::vector<SchemaViolation> kept;
  for (const valijson::ValidationResults::Error& error : results) {
    std::vector<std::string> tokens = TokensFromContext(error.context);
    const SchemaFailure failure = ClassifyValijsonError(error.description);
    if (failure == SchemaFailure::kRequired) {
      // valijson reports a missing property at its parent; the client wants the property.
      if (auto name = RequiredPropertyName(error.description)) tokens.push_back(*name);
    } else if (failure == SchemaFailure::kUnknownProperty) {
      // Reported at the object too; the name (from the body, bounded) ends the description.
      const std::string marker = "constraints: '";
      const std::size_t start = error.description.rfind(marker);
      if (start != std::string::npos && error.description.size() >= start + marker.size() + 2) {
        tokens.push_back(error.description.substr(
            start + marker.size(), error.description.size() - start - marker.size() - 2));
      }
    }
    SchemaViolation candidate{PointerFromTokens(tokens), failure,
                              SchemaMessage(failure, SubschemaAt(schema, tokens))};
    auto same_path = std::find_if(kept.begin(), kept.end(), [&](const SchemaViolation& seen) {
      return seen.pointer == candidate.pointer;
    });
    if (same_path == kept.end()) {
      kept.push_back(std::move(candidate));
    } else if (Specificity(candidate.failure) < Specificity(same_path->failure)) {
      *same_path = std::move(candidate);
    }
  }
  std::vector<FieldViolation> violations;
  for (const SchemaViolation& violation : kept) {
    if (violation.failure == SchemaFailure::kNested) {
      const bool explained_below =
          std::any_of(kept.begin(), kept.end(), [&](const SchemaViolation& other) {
            return other.pointer != violation.pointer &&
                   IsAtOrUnder(other.pointer, violation.pointer);
          });
      if (explained_below) continue;
    }
    violations.push_back({violation.pointer, violation.message});
  }
  return violations;
}

}  // namespace

struct SchemaValidator::Compiled {
  json schema_document;  // the compiled copy, kept for wording messages
  valijson::Schema schema;
};

SchemaValidator::SchemaValidator(const json& schema, InputLimits limits)
    : compiled_(std::make_unique<Compiled>()), limits_(limits) {
  compiled_->schema_document = WithoutFormatKeywords(schema);
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter adapter(compiled_->schema_document);
  parser.populateSchema(adapter, compiled_->schema);
}

SchemaValidator::~SchemaValidator() = default;

std::vector<FieldViolation> SchemaValidator::Validate(const json& body) const {
  std::vector<FieldViolation> violations = CheckBounds(body);
  if (!violations.empty()) return violations;
  return CheckSchema(body);
}

std::vector<FieldViolation> SchemaValidator::CheckBounds(const json& body) const {
  return BoundsViolations(body, limits_);
}

std::vector<FieldViolation> SchemaValidator::CheckSchema(const json& body) const {
  // A Validator per call: it caches regexes, so sharing one would need a lock.
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(body);
  try {
    validator.validate(compiled_->schema, target, &results);
  } catch (const std::exception&) {
    // valijson throws instead of abort()ing (VALIJSON_USE_EXCEPTIONS); its text may quote input.
    return {{"", "could not be checked against the request schema"}};
  }
  return TranslateValijsonErrors(results, compiled_->schema_document);
}

}  // namespace lab_orders
