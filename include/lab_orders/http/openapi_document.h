#pragma once

// schemas/openapi.json, compiled in: the one description of the HTTP surface. GET /openapi.json
// serves it, and the service validates request bodies with the schemas it holds, so the document
// and the checks cannot drift apart.

#include <nlohmann/json.hpp>
#include <string>

namespace lab_orders::http {

// The document as committed, byte for byte.
const char* OpenApiDocumentText();

// The document parsed, once.
const nlohmann::json& OpenApiDocument();

// #/components/schemas/<name> of the document. Throws std::out_of_range when there is none.
const nlohmann::json& OpenApiComponentSchema(const std::string& name);

// The body of POST /v1/labs/orders: #/components/schemas/LabOrderRequest.
inline const nlohmann::json& LabOrderRequestSchema() {
  return OpenApiComponentSchema("LabOrderRequest");
}

}  // namespace lab_orders::http
