// RFC 9112 framing over a real socket: every ambiguous head is answered with the JSON error
// envelope and an X-Request-Id, and a body cut short is never processed.

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/order_bodies.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using json = nlohmann::json;

struct RawReply {
  int status = 0;
  std::string head;
  std::string body;
};

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
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", service_->port()));
    socket.setReceiveTimeout(Poco::Timespan(20, 0));
    const std::string request =
        "POST /v1/labs/orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token_ +
        "\r\nIdempotency-Key: framing\r\nContent-Type: application/json\r\n" + extra_head + "\r\n" +
        body;
    socket.sendBytes(request.data(), int(request.size()));
    socket.shutdownSend();
    std::string raw;
    char buffer[4096];
    for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;) raw.append(buffer, n);
    RawReply reply;
    const std::size_t end = raw.find("\r\n\r\n");
    reply.head = raw.substr(0, end);
    reply.body = end == std::string::npos ? "" : raw.substr(end + 4);
    if (raw.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::stoi(raw.substr(9, 3));
    return reply;
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

// POCO's parser throws on a Content-Length it cannot read before any handler runs: for now the
// connection is closed unanswered (issue 16 wants the JSON 400 here too), and nothing is made.
TEST_F(FramingTest, AContentLengthThatIsNoNumberIsClosedAndNothingIsMade) {
  const std::string body = WorkflowOrderBody("patient-framing").dump();
  for (const char* length : {"abc", "12345678901234567890"}) {
    EXPECT_EQ(Send(std::string("Content-Length: ") + length + "\r\n", body).status, 0) << length;
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
