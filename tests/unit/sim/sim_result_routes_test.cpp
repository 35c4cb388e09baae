// The result routes over HTTP, on a simulator in this process on a free port: routed, checked
// against the spec like every Junction call, logged under their operation names, and the PDF
// sent as a PDF.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab_orders/sim/catalog.h"
#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/server.h"
#include "support/http.h"
#include "support/junction_fixtures.h"

namespace lab_orders::sim {
namespace {

using lab_orders::testing::HttpCall;
using lab_orders::testing::HttpReply;
using nlohmann::json;

class SimResultRoutesTest : public ::testing::Test {
 protected:
  SimResultRoutesTest() : server_(Options()) { server_.Start(); }

  static SimOptions Options() {
    SimOptions options;
    options.listen_port = 0;
    options.max_threads = 8;
    return options;
  }

  HttpReply Junction(const std::string& method, const std::string& path,
                     const json& body = nullptr) {
    return HttpCall(server_.port(), method, path, body.is_null() ? "" : body.dump(),
                    {{"x-vital-api-key", "sk_test"}});
  }

  HttpReply Admin(const std::string& path, const json& body) {
    return HttpCall(server_.port(), "POST", path, body.dump());
  }

  std::string CreateOrder() {
    HttpReply user = Junction("POST", "/v2/user", {{"client_user_id", "patient-routes"}});
    EXPECT_EQ(user.status, 200) << user.body;
    json body = testing::SampleOrderJson(user.Json()["user_id"], Catalog().front().id);
    HttpReply order = Junction("POST", "/v3/order", body);
    EXPECT_EQ(order.status, 200) << order.body;
    return order.Json()["order"].value("id", "");
  }

  static json Violations(const std::string& path, const json& body) {
    static const OpenApiValidator validator(nlohmann::json::parse(JunctionSpecText()));
    json all = json::array();
    for (const SchemaViolation& violation :
         validator.Validate(*validator.ResponseSchema("GET", path, 200), body, json::array())) {
      all.push_back(violation.ToJson());
    }
    return all;
  }

  SimServer server_;
};

TEST_F(SimResultRoutesTest, ResultsAreServedOnceTheLabReports) {
  std::string order_id = CreateOrder();
  const std::string result_path = "/v3/order/" + order_id + "/result";
  HttpReply early = Junction("GET", result_path);
  EXPECT_EQ(early.status, 404);
  EXPECT_EQ(early.Json(), json({{"detail", "Lab results are not available yet."}}));

  HttpReply advanced = Admin("/_sim/orders/" + order_id + "/advance",
                             {{"status", "completed"}, {"missing_results", 1}});
  ASSERT_EQ(advanced.status, 200) << advanced.body;

  HttpReply result = Junction("GET", result_path);
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(Violations("/v3/order/{order_id}/result", result.Json()), json::array());
  EXPECT_EQ(result.Json()["missing_results"].size(), 1u);
  HttpReply metadata = Junction("GET", result_path + "/metadata");
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  EXPECT_EQ(Violations("/v3/order/{order_id}/result/metadata", metadata.Json()), json::array());
  HttpReply pdf = Junction("GET", result_path + "/pdf");
  ASSERT_EQ(pdf.status, 200);
  EXPECT_EQ(pdf.headers["Content-Type"], "application/pdf");
  EXPECT_EQ(pdf.body.rfind("%PDF-1.4\n", 0), 0u);
  EXPECT_EQ(pdf.headers["Content-Length"], std::to_string(pdf.body.size()));

  json calls = HttpCall(server_.port(), "GET", "/_sim/calls").Json();
  std::vector<std::string> operations;
  for (const json& call : calls["calls"]) operations.push_back(call["operation"]);
  EXPECT_THAT(operations,
              ::testing::ElementsAre("create_user", "create_order", "get_result", "get_result",
                                     "get_result_metadata", "get_result_pdf"));
}

TEST_F(SimResultRoutesTest, RequestsAreCheckedAgainstTheSpecAndUnknownOrdersAreNotFound) {
  HttpReply malformed = Junction("GET", "/v3/order/not-a-uuid/result/metadata");
  EXPECT_EQ(malformed.status, 422) << malformed.body;
  EXPECT_EQ(malformed.Json()["detail"][0]["loc"], json::array({"path", "order_id"}));
  HttpReply unknown = Junction("GET", "/v3/order/00000000-0000-4000-8000-00000000ffff/result/pdf");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json(), json({{"detail", "Order not found."}}));
  EXPECT_EQ(HttpCall(server_.port(), "GET", "/v3/order/00000000-0000-4000-8000-00000000ffff/result")
                .status,
            401)
      << "the API key is wanted as on every call";
  HttpReply wrong_method =
      Junction("POST", "/v3/order/00000000-0000-4000-8000-00000000ffff/result");
  EXPECT_EQ(wrong_method.status, 405);
}

TEST_F(SimResultRoutesTest, TheAdvanceAnswersABadResultFieldWith400) {
  std::string order_id = CreateOrder();
  HttpReply refused = Admin("/_sim/orders/" + order_id + "/advance",
                            {{"status", "completed"}, {"interpretation", "fatal"}});
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.Json()["detail"], "interpretation is normal, abnormal or critical.");
}

}  // namespace
}  // namespace lab_orders::sim
