#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lab_orders::sim {

// One violation, shaped like the entries of FastAPI's 422 "detail" array that Junction answers.
struct SchemaViolation {
  nlohmann::json loc;  // e.g. ["body", "patient_address", "zip"]; array indices are numbers
  std::string msg;
  std::string type;  // e.g. "missing", "string_type", "string_pattern_mismatch"

  nlohmann::json ToJson() const { return {{"loc", loc}, {"msg", msg}, {"type", type}}; }
};

// Checks JSON instances against the schemas of an OpenAPI 3.1 document (the keyword subset that
// Junction's spec uses: $ref, type, properties, required, additionalProperties, items, enum,
// const, anyOf, allOf, oneOf, minLength, maxLength, pattern, minimum, maximum, propertyNames,
// format date / date-time / uuid / email).
class OpenApiValidator {
 public:
  explicit OpenApiValidator(nlohmann::json spec);

  std::vector<SchemaViolation> Validate(const nlohmann::json& schema,
                                        const nlohmann::json& instance,
                                        const nlohmann::json& loc_prefix) const;

  // The JSON request body schema of an operation, or nullptr when it takes no body.
  const nlohmann::json* RequestBodySchema(const std::string& method,
                                          const std::string& path_template) const;
  // The JSON schema of one response of an operation, or nullptr.
  const nlohmann::json* ResponseSchema(const std::string& method, const std::string& path_template,
                                       int status) const;

  const nlohmann::json& spec() const { return spec_; }

 private:
  // Every "pattern" in the spec, compiled once up front so validation never recompiles and the
  // validator stays safe to share between threads.
  struct CompiledPatterns;

  nlohmann::json spec_;
  std::shared_ptr<const CompiledPatterns> patterns_;
};

}  // namespace lab_orders::sim
