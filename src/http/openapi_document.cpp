#include "lab_orders/http/openapi_document.h"

namespace lab_orders::http {

const nlohmann::json& OpenApiDocument() {
  static const nlohmann::json document = nlohmann::json::parse(OpenApiDocumentText());
  return document;
}

const nlohmann::json& OpenApiComponentSchema(const std::string& name) {
  return OpenApiDocument().at("components").at("schemas").at(name);
}

}  // namespace lab_orders::http
