#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lab_orders/app/error.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/orders/types.h"

namespace lab_orders::orders {

// Limits applied before the schema validator sees a body: valijson's std::regex overflows the
// stack on strings of about 12 000 characters, and deep nesting costs recursion.
struct InputLimits {
  int max_depth = 16;
  std::size_t max_string_length = 1024;
  std::size_t max_object_members = 64;
};

// Checks a POST /v1/labs/orders body: bounds first, then the request schema (valijson), then the
// lab's rules (CONTRACT §1). Every violation is reported at once, each with a JSON pointer.
class RequestValidator {
 public:
  // schema: #/components/schemas/LabOrderRequest of schemas/openapi.json (the seed contract).
  RequestValidator(const nlohmann::json& schema, const Clock& clock, InputLimits limits = {});
  ~RequestValidator();
  RequestValidator(const RequestValidator&) = delete;
  RequestValidator& operator=(const RequestValidator&) = delete;

  // The normalised request (names transliterated to ASCII, sex mapped to Junction's gender
  // values kept as given), or every violation found.
  std::variant<OrderRequest, std::vector<FieldViolation>> Validate(
      const nlohmann::json& body) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  const Clock& clock_;
  InputLimits limits_;
};

// José → Jose, Zoë → Zoe, Łukasz → Lukasz; drops what the lab cannot print (ASCII letters,
// digits, space and -.,' stay). Input must be valid UTF-8.
std::string TransliterateName(std::string_view utf8);

// patient.sex → Junction's gender: female, male, other, anything else unknown.
std::string JunctionGenderFor(const std::optional<std::string>& sex);

}  // namespace lab_orders::orders
