// schemas/openapi.json is the single description of the HTTP surface: these tests hold it to the
// seed contract (the contract: its request fields never change, its response fields are never
// dropped or retyped) and to the error codes the service can send.

#include "lab_orders/http/openapi_document.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "lab_orders/common/error.h"
#include "lab_orders/model/order_events.h"
#include "lab_orders/model/order_status.h"
#include "lab_orders/webhooks/transport.h"

namespace lab_orders::http {
namespace {

using nlohmann::json;

json ReadJson(const std::filesystem::path& path) {
  std::ifstream file(path);
  return json::parse(file);
}

// The seed's schemas: shared/contract beside the repository where it is (a developer's machine
// and CI), and always the verbatim copy kept in schemas/.
std::vector<std::filesystem::path> SeedContractFiles(const std::string& name) {
  std::vector<std::filesystem::path> files = {std::filesystem::path(PROJECT_SOURCE_DIR) /
                                              "schemas" / name};
  std::filesystem::path shared =
      std::filesystem::path(PROJECT_SOURCE_DIR) / ".." / "shared" / "contract" / name;
  if (std::filesystem::exists(shared)) files.push_back(shared);
  return files;
}

// What a schema means to a validator: annotations (and the standalone file's $schema and $id)
// dropped, at schema positions only, so a property that happens to be named "description" stays.
json Meaning(json schema) {
  if (!schema.is_object()) return schema;
  for (const char* annotation :
       {"$schema", "$id", "description", "title", "examples", "example", "$comment"}) {
    schema.erase(annotation);
  }
  for (const char* keyword : {"properties", "patternProperties", "$defs", "definitions"}) {
    if (auto found = schema.find(keyword); found != schema.end() && found->is_object()) {
      for (auto& [name, subschema] : found->items()) subschema = Meaning(subschema);
    }
  }
  for (const char* keyword : {"items", "additionalProperties", "not", "if", "then", "else"}) {
    if (auto found = schema.find(keyword); found != schema.end()) *found = Meaning(*found);
  }
  for (const char* keyword : {"anyOf", "allOf", "oneOf"}) {
    if (auto found = schema.find(keyword); found != schema.end() && found->is_array()) {
      for (json& subschema : *found) subschema = Meaning(subschema);
    }
  }
  return schema;
}

TEST(OpenApiDocumentTest, IsOpenApi31AndServedAsCommitted) {
  std::ifstream file(std::string(PROJECT_SOURCE_DIR) + "/schemas/openapi.json");
  std::string committed((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(OpenApiDocumentText(), committed);
  EXPECT_EQ(OpenApiDocument().at("openapi"), "3.1.0");
}

// Optional request fields the service adds to the seed's (issue 8: the brand's own ids; issue 18:
// the channel; issue 19: who books).
constexpr const char* kAddedRequestFields[] = {"external_order_id", "metadata", "collection_method",
                                               "fallback", "auto_book"};

// The seed's request, plus optional fields, closed to any other top-level field (issue 16: a
// misspelt optional field is refused by name rather than dropped).
TEST(OpenApiDocumentTest, LabOrderRequestMeansWhatTheSeedContractSaysPlusOptionalFields) {
  json seed_fields = LabOrderRequestSchema();
  for (const char* added : kAddedRequestFields) {
    EXPECT_TRUE(seed_fields.at("properties").contains(added)) << added;
    seed_fields.at("properties").erase(added);
  }
  EXPECT_EQ(seed_fields.value("additionalProperties", json(true)), json(false));
  seed_fields.erase("additionalProperties");
  for (const auto& seed_file : SeedContractFiles("lab-order-request.schema.json")) {
    // Only optional fields are added: required stays the seed's (compared with the rest).
    EXPECT_EQ(Meaning(seed_fields), Meaning(ReadJson(seed_file)))
        << "#/components/schemas/LabOrderRequest differs from " << seed_file;
  }
}

// The service may add response fields; it never drops or retypes one of the seed's.
void ExpectExtends(const json& component, const std::filesystem::path& seed_file) {
  json seed = ReadJson(seed_file);
  std::set<std::string> required(component.at("required").begin(), component.at("required").end());
  for (const auto& [name, seed_property] : seed.at("properties").items()) {
    ASSERT_TRUE(component.at("properties").contains(name)) << name << " dropped; " << seed_file;
    EXPECT_EQ(component["properties"][name].value("type", json()), seed_property.at("type"))
        << name << " retyped; " << seed_file;
  }
  for (const json& name : seed.at("required")) {
    EXPECT_TRUE(required.contains(name.get<std::string>()))
        << name << " no longer required; " << seed_file;
  }
}

TEST(OpenApiDocumentTest, LabOrderKeepsEveryFieldOfTheSeed201) {
  for (const auto& seed_file : SeedContractFiles("lab-order-201.schema.json")) {
    ExpectExtends(OpenApiComponentSchema("LabOrder"), seed_file);
  }
}

TEST(OpenApiDocumentTest, ErrorKeepsEveryFieldOfTheSeedErrorBody) {
  for (const auto& seed_file : SeedContractFiles("error.schema.json")) {
    ExpectExtends(OpenApiComponentSchema("Error"), seed_file);
  }
}

TEST(OpenApiDocumentTest, ErrorCodesAreExactlyTheOnesTheServiceSends) {
  std::set<std::string> sent;
  // kInvalidJson and kRateLimited are the enum's first and last codes.
  for (int code = int(ErrorCode::kInvalidJson); code <= int(ErrorCode::kRateLimited); ++code) {
    sent.insert(ErrorCodeName(ErrorCode(code)));
  }
  const json& documented = OpenApiComponentSchema("Error").at("properties").at("error").at("enum");
  EXPECT_EQ(std::set<std::string>(documented.begin(), documented.end()), sent);
}

TEST(OpenApiDocumentTest, WebhookEventTypesAreExactlyTheOnesTheServiceSends) {
  const std::vector<std::string>& sent = model::EventTypes();
  for (const json* types :
       {&OpenApiComponentSchema("WebhookEndpointRequest")["properties"]["event_types"]["items"],
        &OpenApiComponentSchema("WebhookEndpoint")["properties"]["event_types"]["items"],
        &OpenApiComponentSchema("WebhookDelivery")["properties"]["event_type"]}) {
    EXPECT_EQ(types->at("enum").get<std::vector<std::string>>(), sent);
  }
  EXPECT_EQ(
      OpenApiComponentSchema("WebhookEndpointRequest")["properties"]["event_types"]["maxItems"],
      sent.size());
}

TEST(OpenApiDocumentTest, OrderStatusesAreExactlyTheModelsInTheOrderOfAnOrdersLife) {
  const std::vector<std::string> statuses(model::kOrderStatuses.begin(),
                                          model::kOrderStatuses.end());
  EXPECT_EQ(OpenApiComponentSchema("LabOrder")["properties"]["status"]["enum"], json(statuses));
  // The list's ?status= filter takes exactly these (and is documented).
  int filters = 0;
  for (const json& parameter : OpenApiDocument()["paths"]["/v1/labs/orders"]["get"]["parameters"]) {
    if (parameter["name"] == "status") {
      ++filters;
      EXPECT_EQ(parameter["schema"]["enum"], json(statuses));
    }
  }
  EXPECT_EQ(filters, 1);
}

TEST(OpenApiDocumentTest, DeliveryAttemptErrorsAreExactlyTheTransportsOwn) {
  std::set<json> sent = {nullptr};
  // kDestinationRefused and kMalformedResponse are the enum's first and last errors.
  for (int error = int(webhooks::TransportError::kDestinationRefused);
       error <= int(webhooks::TransportError::kMalformedResponse); ++error) {
    sent.insert(webhooks::TransportErrorName(webhooks::TransportError(error)));
  }
  const json& documented =
      OpenApiComponentSchema("WebhookAttempt").at("properties").at("error").at("enum");
  EXPECT_EQ(std::set<json>(documented.begin(), documented.end()), sent);
}

}  // namespace
}  // namespace lab_orders::http
