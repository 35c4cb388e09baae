#pragma once

// The fixture of the OpenAPI conformance tests (openapi_conformance_test.cpp, and the booking
// page's, openapi_conformance_booking_test.cpp): a real lab-orders and junction-sim, and the
// document's view of the answers each test provokes.

#include <Poco/Process.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "lab_orders/orders/order_service.h"
#include "lab_orders/sim/openapi_validator.h"
#include "support/committed_file.h"
#include "support/order_bodies.h"
#include "support/service_process.h"
#include "support/sim_process.h"
#include "support/webhooks.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;

constexpr const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kBrand = "brand-openapi";
constexpr const char* kReadScope = "labs:orders:read";
constexpr const char* kWriteScope = "labs:orders:write";
constexpr const char* kWebhooksScope = "labs:webhooks:manage";
constexpr const char* kResultsScope = "labs:orders:read labs:results:read";

inline std::string CommittedDocumentText() { return CommittedFile("schemas/openapi.json"); }

// The booking links' and the patient's page's routes.
inline bool IsBookingRoute(const std::string& path_template) {
  return path_template.rfind("/book/", 0) == 0 ||
         path_template.find("/booking-url") != std::string::npos;
}

inline std::string Operation(const std::string& method, const std::string& path_template) {
  return method + " " + path_template;
}

// "post" (an OpenAPI operation key) -> "POST".
inline std::string HttpMethod(const std::string& operation_key) {
  std::string method;
  for (char c : operation_key) method += char(std::toupper(static_cast<unsigned char>(c)));
  return method;
}

// The document's view of the answers: what it lists, and what the service was seen to send.
class DocumentedSurface {
 public:
  explicit DocumentedSurface(const json& document) : validator_(document) {
    for (const auto& [path_template, path_item] : document.at("paths").items()) {
      for (const auto& [method, operation] : path_item.items()) {
        for (const auto& [status, response] : operation.at("responses").items()) {
          const std::pair<std::string, int> answer{Operation(HttpMethod(method), path_template),
                                                   std::stoi(status)};
          documented_.insert(answer);
          const json content = response.value("content", json::object());
          for (const auto& [media_type, media] : content.items()) {
            media_types_[answer].insert(media_type);
          }
        }
      }
    }
  }

  // The answer's status must be documented for the operation, and its body and headers must be
  // what the document says for that status.
  void Check(const std::string& method, const std::string& path_template, const HttpReply& reply) {
    const std::string operation = Operation(method, path_template);
    SCOPED_TRACE(operation + " answered " + std::to_string(reply.status) + ": " +
                 reply.body.substr(0, 400));
    ASSERT_TRUE(documented_.contains({operation, reply.status})) << "status not documented";
    seen_.insert({operation, reply.status});
    EXPECT_TRUE(reply.headers.contains("X-Request-Id"));
    if (reply.status == 204) {
      EXPECT_EQ(reply.body, "");
      EXPECT_FALSE(reply.headers.contains("Content-Type"));
      return;
    }
    const json* schema = validator_.ResponseSchema(method, path_template, reply.status);
    if (schema == nullptr) {
      // Documented as another media type than JSON (the metrics, the reference page).
      const std::string content_type = reply.headers.at("Content-Type");
      const std::set<std::string>& documented = media_types_[{operation, reply.status}];
      EXPECT_TRUE(documented.contains(content_type.substr(0, content_type.find(';'))))
          << content_type << " is not documented";
      return;
    }
    EXPECT_EQ(reply.headers.at("Content-Type"), "application/json; charset=utf-8");
    json body = json::parse(reply.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << "not JSON";
    json violations = json::array();
    for (const auto& violation : validator_.Validate(*schema, body, json::array({"response"}))) {
      violations.push_back(violation.ToJson());
    }
    EXPECT_TRUE(violations.empty()) << violations.dump(2);
  }

  // Documented answers never seen, of the operations whose path template matches (all of them
  // when no matcher is given).
  std::vector<std::string> Unseen(
      const std::function<bool(const std::string& path_template)>& of = {}) const {
    std::vector<std::string> unseen;
    for (const auto& [operation, status] : documented_) {
      if (of && !of(operation.substr(operation.find(' ') + 1))) continue;
      if (!seen_.contains({operation, status})) {
        unseen.push_back(operation + " " + std::to_string(status));
      }
    }
    return unseen;
  }

 private:
  sim::OpenApiValidator validator_;
  std::set<std::pair<std::string, int>> documented_;
  std::set<std::pair<std::string, int>> seen_;
  std::map<std::pair<std::string, int>, std::set<std::string>> media_types_;
};

// Leaves an action's key claimed and leased for an hour in the service's own database, as a
// request still at work would: the same request under it is then 409.
inline void HoldActionKey(const ServiceProcess& service, const std::string& key,
                          const std::string& route, const std::string& path,
                          const std::optional<json>& body = std::nullopt) {
  const std::string fingerprint = body ? orders::RequestFingerprint("POST", path, *body)
                                       : orders::RequestBodyDigest("POST", path, "");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((service.directory() / "lab-orders.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "INSERT INTO idempotency_keys (brand_id, key, fingerprint, "
                               "recovery_point, locked_until, created_at, action) "
                               "VALUES (?1, ?2, ?3, 'started', ?4, ?5, ?6)",
                               -1, &insert, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_bind_text(insert, 1, kBrand, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(insert, 2, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(insert, 3, fingerprint.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(insert, 4, now + 3'600'000);
  sqlite3_bind_int64(insert, 5, now);
  sqlite3_bind_text(insert, 6, route.c_str(), -1, SQLITE_TRANSIENT);
  EXPECT_EQ(sqlite3_step(insert), SQLITE_DONE) << sqlite3_errmsg(db);
  sqlite3_finalize(insert);
  sqlite3_close(db);
}

class OpenApiConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<SimProcess>();
    service_ = std::make_unique<ServiceProcess>(
        sim_->base_url(), FastWorkflow({{"JUNCTION_WEBHOOK_SECRET", kWebhookSecret}}));
    read_write_token_ = service_->Token(kBrand, "user-openapi");
    read_only_token_ = service_->Token(kBrand, "user-openapi", kReadScope);
    write_only_token_ = service_->Token(kBrand, "user-openapi", kWriteScope);
    webhooks_token_ = service_->Token(kBrand, "user-openapi", kWebhooksScope);
    results_token_ = service_->Token(kBrand, "user-openapi", kResultsScope);
    document_ = json::parse(CommittedDocumentText());
    surface_ = std::make_unique<DocumentedSurface>(document_);
  }

  std::map<std::string, std::string> Auth(const std::string& token) const {
    return {{"Authorization", "Bearer " + token}};
  }

  // Sends a request to an operation and checks the answer against the document. headers: added
  // to a read-and-write token (pass an Authorization of its own to replace it).
  HttpReply Call(ServiceProcess& service, const std::string& method,
                 const std::string& path_template, const std::string& path,
                 const std::string& body = "", std::map<std::string, std::string> headers = {}) {
    headers.emplace("Authorization", "Bearer " + read_write_token_);
    if (method == "POST") headers.emplace("Content-Type", "application/json");
    HttpReply reply = HttpCall(service.port(), method, path, body, headers);
    surface_->Check(method, path_template, reply);
    return reply;
  }
  HttpReply Call(const std::string& method, const std::string& path_template,
                 const std::string& path, const std::string& body = "",
                 std::map<std::string, std::string> headers = {}) {
    return Call(*service_, method, path_template, path, body, std::move(headers));
  }

  HttpReply CreateOrder(const json& body, const std::string& key,
                        std::map<std::string, std::string> headers = {}) {
    headers["Idempotency-Key"] = key;
    return Call("POST", "/v1/labs/orders", "/v1/labs/orders", body.dump(), headers);
  }

  // Sends every example of every request body in the document, with what its operation asks
  // for (a token, a fresh Idempotency-Key, a Svix signature, an order id in the path).
  void SendEveryRequestExample(const std::string& order_id) {
    int sent = 0;
    for (const auto& [path_template, path_item] : document_.at("paths").items()) {
      for (const auto& [method, operation] : path_item.items()) {
        // The booking page's form is sent by its own tour (openapi_conformance_booking_test.cpp).
        if (!operation.contains("requestBody") ||
            !operation["requestBody"]["content"].contains("application/json")) {
          continue;
        }
        const json& media = operation["requestBody"]["content"]["application/json"];
        std::vector<std::pair<std::string, json>> examples;
        if (media.contains("example")) examples.emplace_back("example", media["example"]);
        const json named_examples = media.value("examples", json::object());
        for (const auto& [name, example] : named_examples.items()) {
          examples.emplace_back(name, example.at("value"));
        }
        std::string path = path_template;
        if (size_t id = path.find("{id}"); id != std::string::npos) path.replace(id, 4, order_id);
        const std::string http_method = HttpMethod(method);
        for (const auto& [name, example] : examples) {
          SCOPED_TRACE("example " + name + " of " + Operation(http_method, path_template));
          std::map<std::string, std::string> headers;
          const std::string body = example.dump();
          if (path_template == "/v1/webhooks/junction") {
            headers = SignedWebhookHeaders(kWebhookSecret, "msg_example_" + name, body);
          } else if (path_template == "/v1/labs/orders") {
            headers["Idempotency-Key"] = "example-" + name;
          } else if (path_template == "/v1/webhooks/endpoints") {
            headers = Auth(webhooks_token_);
          }
          HttpReply reply = Call(http_method, path_template, path, body, headers);
          if (path_template == "/v1/labs/orders" || path_template == "/v1/webhooks/endpoints") {
            EXPECT_EQ(reply.status, 201);
          }
          ++sent;
        }
      }
    }
    EXPECT_GE(sent, 6);
  }

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::string read_write_token_, read_only_token_, write_only_token_, webhooks_token_,
      results_token_;
  json document_;
  std::unique_ptr<DocumentedSurface> surface_;
};

}  // namespace
}  // namespace lab_orders::testing
