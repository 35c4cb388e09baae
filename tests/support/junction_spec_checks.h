#pragma once

// What Junction's spec (the simulator's copy) says of an answer: its violations of one documented
// response, as JSON (compare with json::array() so a failure prints them).

#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"

namespace lab_orders::testing {

inline const sim::OpenApiValidator& JunctionSpecValidator() {
  static const sim::OpenApiValidator validator(nlohmann::json::parse(sim::JunctionSpecText()));
  return validator;
}

inline nlohmann::json JunctionResponseViolations(const std::string& method, const std::string& path,
                                                 int status, const nlohmann::json& body) {
  const nlohmann::json* schema = JunctionSpecValidator().ResponseSchema(method, path, status);
  if (schema == nullptr) return {{"no schema for", method + " " + path}};
  nlohmann::json all = nlohmann::json::array();
  for (const sim::SchemaViolation& violation :
       JunctionSpecValidator().Validate(*schema, body, nlohmann::json::array({"response"}))) {
    all.push_back(violation.ToJson());
  }
  return all;
}

}  // namespace lab_orders::testing
