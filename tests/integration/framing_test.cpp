// RFC 9112 framing over a real socket: every ambiguous head is answered with the JSON error
// envelope and an X-Request-Id, and a body cut short is never processed.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/order_bodies.h"
#include "support/raw_http.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using json = nlohmann::json;

class FramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<SimProcess>();
    service_ = std::make_unique<ServiceProcess>(sim_->base_url());
    token_ = service_->Token("brand-a", "user-1");
  }

  // An order request with these extra head lines ("Name: value\r\n" each) and this body, sent as
  // is; then the write side is closed and everything the service answers is read.
  RawReply Send(const std::string& extra_head, const std::string& body) {
    RawClient client(service_->port());
    client.Send("POST /v1/labs/orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token_ +
                "\r\nIdempotency-Key: framing\r\nContent-Type: application/json\r\n" + extra_head +
                "\r\n" + body);
    client.EndSending();
    return ParseReply(client.ReadToEnd());
  }

  void ExpectJsonError(const RawReply& reply, int status, const std::string& code) {
    EXPECT_EQ(reply.status, status) << reply.head;
    EXPECT_NE(reply.head.find("X-Request-Id: "), std::string::npos) << reply.head;
    json body = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << reply.body;
    EXPECT_EQ(body["error"], code) << reply.body;
    EXPECT_TRUE(body["request_id"].is_string()) << reply.body;
  }

  // No order was made by any of it: nothing listed, nothing sent to Junction.
  void ExpectNothingCreated() {
    json list = service_->Get("/v1/labs/orders", {{"Authorization", "Bearer " + token_}}).Json();
    EXPECT_TRUE(list["data"].empty()) << list.dump();
    EXPECT_TRUE(sim_->Calls("create_order").empty());
  }

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::string token_;
};

TEST_F(FramingTest, AmbiguousLengthsAreRefusedWithTheJsonEnvelope) {
  const std::string body = WorkflowOrderBody("patient-framing").dump();
  const std::string length = std::to_string(body.size());
  ExpectJsonError(Send("Content-Length: " + length + "\r\nContent-Length: 7\r\n", body), 400,
                  "malformed_request");
  ExpectJsonError(Send("Content-Length: 7\r\nContent-Length: " + length + "\r\n", body), 400,
                  "malformed_request");
  ExpectJsonError(Send("Content-Length: " + length + "\r\nTransfer-Encoding: chunked\r\n", body),
                  400, "malformed_request");
  ExpectJsonError(Send("Transfer-Encoding: gzip\r\n", body), 400, "malformed_request");
  ExpectJsonError(Send("Content-Length: +" + length + "\r\n", body), 400, "malformed_request");
  ExpectJsonError(Send("Transfer-Encoding : chunked\r\nContent-Length: " + length + "\r\n", body),
                  400, "malformed_request");
  ExpectJsonError(Send("Content-Length: " + length + "\r\nContent-Encoding: gzip\r\n", body), 415,
                  "unsupported_media_type");
  ExpectNothingCreated();
  EXPECT_EQ(service_->Get("/healthz").status, 200);
}

TEST_F(FramingTest, AContentLengthThatIsNoNumberIsAJson400AndNothingIsMade) {
  const std::string body = WorkflowOrderBody("patient-framing").dump();
  for (const char* length : {"abc", "12345678901234567890"}) {
    ExpectJsonError(Send(std::string("Content-Length: ") + length + "\r\n", body), 400,
                    "malformed_request");
  }
  ExpectNothingCreated();
  EXPECT_EQ(service_->Get("/healthz").status, 200);
}

TEST_F(FramingTest, ABodyCutShortIsNeverProcessed) {
  const std::string body = WorkflowOrderBody("patient-framing").dump();
  // The whole order but its last byte, announced at its full length, then the client closes.
  RawReply reply = Send("Content-Length: " + std::to_string(body.size()) + "\r\n",
                        body.substr(0, body.size() - 1));
  ExpectJsonError(reply, 400, "malformed_request");
  ExpectNothingCreated();
  // The same request, whole, goes through.
  RawReply whole = Send("Content-Length: " + std::to_string(body.size()) + "\r\n", body);
  EXPECT_EQ(whole.status, 201) << whole.head << whole.body;
}

}  // namespace
}  // namespace lab_orders::testing
