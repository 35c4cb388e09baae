#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/error.h"
#include "lab_orders/common/schema_validator.h"
#include "lab_orders/model/order.h"

namespace lab_orders::orders {

// The bounds of a body (common/schema_validator.h), here for the validator's callers.
using InputLimits = lab_orders::InputLimits;

// Checks a POST /v1/labs/orders body: bounds first, then the request schema (valijson), then the
// lab's rules (the contract (HTTP surface)). Every violation is reported at once, each with a JSON
// pointer.
class RequestValidator {
 public:
  // schema: #/components/schemas/LabOrderRequest of schemas/openapi.json (the seed contract).
  RequestValidator(const nlohmann::json& schema, const Clock& clock, InputLimits limits = {});

  // The normalised request (names transliterated to ASCII, sex mapped to Junction's gender
  // values kept as given), or every violation found.
  std::variant<model::OrderRequest, std::vector<FieldViolation>> Validate(
      const nlohmann::json& body) const;

 private:
  SchemaValidator schema_;
  const Clock& clock_;
  // The schema's top-level properties, when it closes the object to others
  // (additionalProperties: false): every other field is refused by name.
  std::optional<std::set<std::string, std::less<>>> top_level_fields_;
};

// José → Jose, Zoë → Zoe, Łukasz → Lukasz; drops what the lab cannot print (ASCII letters,
// digits, space and -.,' stay). Input must be valid UTF-8.
std::string TransliterateName(std::string_view utf8);

}  // namespace lab_orders::orders
