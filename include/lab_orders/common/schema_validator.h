#pragma once

// Checks a JSON request body against a JSON schema taken from schemas/openapi.json: bounds
// first (valijson's std::regex overflows the stack on strings of about 12 000 characters, and
// deep nesting costs recursion), then the schema (valijson, draft 7). Every violation comes back
// at once, each with a JSON pointer and a message worded from the schema, never from the value.

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "lab_orders/common/error.h"

namespace lab_orders {

// Limits applied before the schema validator sees a body.
struct InputLimits {
  int max_depth = 16;
  std::size_t max_string_length = 1024;
  std::size_t max_object_members = 64;
};

class SchemaValidator {
 public:
  explicit SchemaValidator(const nlohmann::json& schema, InputLimits limits = {});
  ~SchemaValidator();
  SchemaValidator(const SchemaValidator&) = delete;
  SchemaValidator& operator=(const SchemaValidator&) = delete;

  // The bounds, then (only when they hold) the schema; empty when the body passes both.
  std::vector<FieldViolation> Validate(const nlohmann::json& body) const;
  // Each step alone: CheckSchema must only see a body CheckBounds passed.
  std::vector<FieldViolation> CheckBounds(const nlohmann::json& body) const;
  std::vector<FieldViolation> CheckSchema(const nlohmann::json& body) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  InputLimits limits_;
};

// Counts code points the way JSON Schema's maxLength does, without decoding: every byte that is
// not a continuation byte starts one.
std::size_t CodePointCount(std::string_view text);

// A JSON pointer token: "~" and "/" escaped (RFC 6901).
std::string PointerToken(std::string_view token);
// True when `pointer` is `ancestor` or lies beneath it.
bool IsAtOrUnder(const std::string& pointer, const std::string& ancestor);

}  // namespace lab_orders
