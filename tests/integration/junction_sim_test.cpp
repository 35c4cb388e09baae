// junction-sim as a black box over real sockets: the checks it makes on requests, its admin
// surface, its webhooks and how many connections it holds.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "lab_orders/common/svix.h"
#include "support/junction_fixtures.h"
#include "support/shared_sim_test.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;

json OrderBody(const std::string& user_id) {
  return {{"user_id", user_id},
          {"patient_details",
           {{"first_name", "Ana"},
            {"last_name", "Lopez"},
            {"dob", "1988-04-12"},
            {"gender", "female"},
            {"phone_number", "+16025550123"},
            {"email", "ana.lopez@example.com"}}},
          {"patient_address",
           {{"first_line", "1 West Lincoln Street"},
            {"city", "Phoenix"},
            {"state", "AZ"},
            {"zip", "85004"},
            {"country", "US"}}},
          {"order_set", {{"lab_test_ids", {kPcosLabTestId}}}},
          {"collection_method", "at_home_phlebotomy"}};
}

std::string NewUser(SimProcess& sim, const std::string& client_user_id) {
  HttpReply reply = sim.Junction("POST", "/v2/user", {{"client_user_id", client_user_id}});
  return reply.Json()["user_id"];
}

class JunctionSimTest : public SharedSimTest {};

TEST_F(JunctionSimTest, OrderAddressWithZipCodeInsteadOfZipIs422NamingTheField) {
  json body = OrderBody(NewUser(*sim_, "brand-s:p1"));
  body["patient_address"].erase("zip");
  body["patient_address"]["zip_code"] = "85004";
  HttpReply reply = sim_->Junction("POST", "/v3/order", body);
  ASSERT_EQ(reply.status, 422) << reply.body;
  json detail = reply.Json()["detail"];
  ASSERT_EQ(detail.size(), 1u);
  EXPECT_EQ(detail[0]["loc"], json({"body", "patient_address", "zip"}));
  EXPECT_EQ(detail[0]["type"], "missing");
  EXPECT_TRUE(sim_->Calls("create_order")[0]["outcome"] == 422);
}

TEST_F(JunctionSimTest, EveryRequestBodyIsCheckedAgainstTheSpec) {
  std::string user_id = NewUser(*sim_, "brand-s:p2");
  HttpReply created = sim_->Junction("POST", "/v3/order", OrderBody(user_id));
  ASSERT_EQ(created.status, 200);
  std::string order_id = created.Json()["order"]["id"];

  // USAddress wants zip_code: the order's "zip" is the wrong name here.
  HttpReply availability = sim_->Junction(
      "POST", "/v3/order/phlebotomy/appointment/availability",
      {{"first_line", "1 Main"}, {"city", "Phoenix"}, {"state", "AZ"}, {"zip", "85004"}});
  EXPECT_EQ(availability.status, 422);
  HttpReply booking =
      sim_->Junction("POST", "/v3/order/" + order_id + "/phlebotomy/appointment/book",
                     {{"booking_key", "k"}, {"sync_confirmation_timeout_millisecond", 500}});
  ASSERT_EQ(booking.status, 422);
  EXPECT_EQ(booking.Json()["detail"][0]["loc"],
            json({"body", "sync_confirmation_timeout_millisecond"}));
  HttpReply cancel =
      sim_->Junction("PATCH", "/v3/order/" + order_id + "/phlebotomy/appointment/cancel",
                     {{"cancellationReasonId", "x"}});
  EXPECT_EQ(cancel.status, 422) << "the phlebotomy cancel body is snake_case";
  HttpReply bad_path = sim_->Junction("GET", "/v3/order/not-a-uuid");
  ASSERT_EQ(bad_path.status, 422);
  EXPECT_EQ(bad_path.Json()["detail"][0]["loc"], json({"path", "order_id"}));
  HttpReply no_zip = sim_->Junction("GET", "/v3/order/area/info");
  ASSERT_EQ(no_zip.status, 422);
  EXPECT_EQ(no_zip.Json()["detail"][0]["loc"], json({"query", "zip_code"}));
  HttpReply not_json = HttpCall(sim_->port(), "POST", "/v2/user",
                                "{\"client_user_id\": ", {{"x-vital-api-key", "sk_us_test"}});
  ASSERT_EQ(not_json.status, 422);
  EXPECT_EQ(not_json.Json()["detail"][0]["type"], "json_invalid");
}

TEST_F(JunctionSimTest, HostileBodiesGetAnswersAndBreakNothing) {
  std::string deep = std::string(5000, '[') + std::string(5000, ']');
  EXPECT_EQ(HttpCall(sim_->port(), "POST", "/v2/user", deep, {{"x-vital-api-key", "k"}}).status,
            422);
  std::string bad_utf8 = "{\"client_user_id\": \"\xff\xfe\xc3\"}";
  HttpReply reply =
      HttpCall(sim_->port(), "POST", "/v2/user", bad_utf8, {{"x-vital-api-key", "k"}});
  EXPECT_EQ(reply.status, 422);
  auto calls = sim_->Calls("create_user");  // the log still prints
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0]["body"].is_string()) << "a deeply nested body is logged as text";
  EXPECT_EQ(sim_->Junction("GET", "/v3/lab_tests").status, 200);
}

// Sends raw bytes on a new connection and returns everything the server sends back.
std::string RawExchange(unsigned short port, const std::string& bytes) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
  socket.setReceiveTimeout(Poco::Timespan(10, 0));
  socket.sendBytes(bytes.data(), int(bytes.size()));
  std::string answer;
  char buffer[4096];
  int received = 0;
  while ((received = socket.receiveBytes(buffer, sizeof buffer)) > 0)
    answer.append(buffer, received);
  return answer;
}

TEST_F(JunctionSimTest, TooLargeBodyIs413AndClosesTheConnection) {
  std::string answer = RawExchange(
      sim_->port(),
      "POST /v2/user HTTP/1.1\r\nHost: sim\r\nx-vital-api-key: k\r\nContent-Length: 2097152\r\n"
      "\r\n{\"client_user_id\": \"");
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 Request Entity Too Large", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: Close"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << "nothing after the 413";
}

TEST_F(JunctionSimTest, PostWithoutABodyIsAnsweredAtOnce) {
  // Neither Content-Length nor chunked: the request has no body, and nothing is waited for.
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", sim_->port()));
  socket.setReceiveTimeout(Poco::Timespan(10, 0));
  const std::string request = "POST /_sim/reset HTTP/1.1\r\nHost: sim\r\n\r\n";
  socket.sendBytes(request.data(), int(request.size()));
  char buffer[12] = {};
  ASSERT_EQ(socket.receiveBytes(buffer, sizeof buffer), 12);
  EXPECT_EQ(std::string(buffer, 12), "HTTP/1.1 200");
}

// As Junction's spec says (and FastAPI does): a JSON body sent as another media type is not
// read, and a header parameter is checked against its schema like any other.
TEST_F(JunctionSimTest, ContentTypeAndHeaderParametersAreCheckedAgainstTheSpec) {
  int users = 0;
  auto post_user = [&](const std::string& content_type) {
    const std::string user =
        json{{"client_user_id", "content-type-" + std::to_string(++users)}}.dump();
    return HttpCall(sim_->port(), "POST", "/v2/user", user,
                    {{"x-vital-api-key", "sk_us_test"}, {"Content-Type", content_type}});
  };
  HttpReply as_text = post_user("text/plain");
  ASSERT_EQ(as_text.status, 422) << as_text.body;
  EXPECT_EQ(as_text.Json()["detail"][0]["loc"], json::array({"body"}));
  EXPECT_EQ(as_text.Json()["detail"][0]["type"], "model_attributes_type");
  EXPECT_EQ(post_user("application/x-www-form-urlencoded").status, 422);
  EXPECT_EQ(post_user("Application/JSON; charset=utf-8").status, 200);
  EXPECT_EQ(post_user("application/vnd.api+json").status, 200);

  const std::string user_id = NewUser(*sim_, "content-type-order");
  const std::string order = OrderBody(user_id).dump();
  auto post_order = [&](const std::string& idempotency_error) {
    return HttpCall(sim_->port(), "POST", "/v3/order", order,
                    {{"x-vital-api-key", "sk_us_test"},
                     {"X-Idempotency-Key", "content-type-order"},
                     {"x-idempotency-error", idempotency_error}});
  };
  HttpReply refused = post_order("cache-everything");
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.Json()["detail"][0]["loc"], json::array({"header", "X-Idempotency-Error"}));
  EXPECT_EQ(post_order("no-cache").status, 200);
}

TEST_F(JunctionSimTest, ApiKeyIsRequired) {
  HttpReply reply = HttpCall(sim_->port(), "GET", "/v3/lab_tests");
  EXPECT_EQ(reply.status, 401);
  EXPECT_TRUE(reply.Json().contains("detail"));
}

TEST_F(JunctionSimTest, UnknownPathsAndMethodsAnswerLikeFastApi) {
  EXPECT_EQ(sim_->Junction("GET", "/v3/nothing").status, 404);
  HttpReply wrong_method = sim_->Junction("DELETE", "/v3/lab_tests");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers["Allow"], "GET");
}

TEST_F(JunctionSimTest, AdvanceMovesAnOrderThroughItsLife) {
  std::string user_id = NewUser(*sim_, "brand-s:p3");
  std::string order_id =
      sim_->Junction("POST", "/v3/order", OrderBody(user_id)).Json()["order"]["id"];
  json advanced =
      sim_->Admin("POST", "/_sim/orders/" + order_id + "/advance", {{"status", "draw_completed"}});
  EXPECT_EQ(advanced["last_event"]["status"],
            "collecting_sample.at_home_phlebotomy.draw_completed");
  sim_->Admin("POST", "/_sim/orders/" + order_id + "/advance",
              {{"status", "completed.at_home_phlebotomy.completed"}});
  HttpReply cancel = sim_->Junction("POST", "/v3/order/" + order_id + "/cancel");
  EXPECT_EQ(cancel.status, 400) << "Junction refuses to cancel a completed order";
  HttpReply bad = HttpCall(sim_->port(), "POST", "/_sim/orders/" + order_id + "/advance",
                           json{{"status", "teleported"}}.dump());
  EXPECT_EQ(bad.status, 400);
}

TEST_F(JunctionSimTest, ScriptErrorsAreExplained) {
  HttpReply reply =
      HttpCall(sim_->port(), "POST", "/_sim/script",
               json{{"operations", {{"create_order", {{{"fault", "explode"}}}}}}}.dump());
  ASSERT_EQ(reply.status, 400);
  EXPECT_NE(reply.Json()["detail"].get<std::string>().find("explode"), std::string::npos);
}

TEST_F(JunctionSimTest, ClockAdvanceExpiresBookingKeys) {
  std::string user_id = NewUser(*sim_, "brand-s:p4");
  std::string order_id =
      sim_->Junction("POST", "/v3/order", OrderBody(user_id)).Json()["order"]["id"];
  json slots = sim_->Junction("POST", "/v3/order/phlebotomy/appointment/availability",
                              {{"first_line", "1 Main"},
                               {"city", "Phoenix"},
                               {"state", "AZ"},
                               {"zip_code", "85004"}})
                   .Json()["slots"];
  std::string key = slots[0]["slots"][0]["booking_key"];
  sim_->Admin("POST", "/_sim/clock", {{"advance_seconds", 16 * 60}});
  HttpReply booking = sim_->Junction(
      "POST", "/v3/order/" + order_id + "/phlebotomy/appointment/book", {{"booking_key", key}});
  EXPECT_EQ(booking.status, 400);
}

// Receives webhooks and hands them to the test as they come. Declare it before the simulator
// that calls it, so the simulator stops sending first. Its state is shared with the handlers
// (POCO does not wait for them when the server stops), so a late delivery touches nothing freed.
class WebhookReceiver {
 public:
  struct Delivery {
    std::string id, timestamp, signature, body;
  };

  WebhookReceiver()
      : state_(std::make_shared<State>()),
        server_(new Factory(state_),
                Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
                new Poco::Net::HTTPServerParams) {
    server_.start();
  }
  ~WebhookReceiver() {
    Release();
    server_.stopAll(true);
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/hooks";
  }

  // Waits (up to a generous bound, so a broken simulator fails rather than hangs) for count.
  std::vector<Delivery> WaitFor(size_t count) {
    std::unique_lock lock(state_->mutex);
    state_->changed.wait_for(lock, std::chrono::seconds(20),
                             [&] { return state_->deliveries.size() >= count; });
    return state_->deliveries;
  }
  // While held, each delivery is recorded but not answered until Release (a slow receiver, so
  // the sender's queue backs up).
  void Hold() {
    std::lock_guard lock(state_->mutex);
    state_->held = true;
  }
  void Release() {
    {
      std::lock_guard lock(state_->mutex);
      state_->held = false;
    }
    state_->changed.notify_all();
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable changed;  // a delivery came, or the hold was released
    std::vector<Delivery> deliveries;
    bool held = false;
  };

  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(std::shared_ptr<State> state) : state_(std::move(state)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      Delivery delivery{request.get("svix-id", ""), request.get("svix-timestamp", ""),
                        request.get("svix-signature", ""), ""};
      Poco::StreamCopier::copyToString(request.stream(), delivery.body);
      {
        std::unique_lock lock(state_->mutex);
        state_->deliveries.push_back(delivery);
        state_->changed.notify_all();
        state_->changed.wait_for(lock, std::chrono::seconds(20), [&] { return !state_->held; });
      }
      response.setStatus(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
      response.send();
    }

   private:
    std::shared_ptr<State> state_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(std::shared_ptr<State> state) : state_(std::move(state)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(state_);
    }

   private:
    std::shared_ptr<State> state_;
  };

  std::shared_ptr<State> state_;
  Poco::Net::HTTPServer server_;
};

TEST(JunctionSimWebhookTest, SendsSvixSignedEventsAsOrdersAndAppointmentsChange) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  WebhookReceiver receiver;
  SimProcess sim({"--webhook-url", receiver.url(), "--webhook-secret", secret});
  sim.LoadScript({{"bookings", {{{"resolve_after_polls", 1}}}}});
  std::string user_id = NewUser(sim, "brand-s:p5");
  std::string order_id =
      sim.Junction("POST", "/v3/order", OrderBody(user_id)).Json()["order"]["id"];
  json slots = sim.Junction("POST", "/v3/order/phlebotomy/appointment/availability",
                            {{"first_line", "1 Main"},
                             {"city", "Phoenix"},
                             {"state", "AZ"},
                             {"zip_code", "85004"}})
                   .Json()["slots"];
  ASSERT_EQ(sim.Junction("POST", "/v3/order/" + order_id + "/phlebotomy/appointment/book",
                         {{"booking_key", slots[0]["slots"][0]["booking_key"]},
                          {"async_confirmation", true}})
                .status,
            200);
  sim.Junction("GET", "/v3/order/" + order_id + "/phlebotomy/appointment");  // resolves it

  // ordered, requisition_created, appointment created (pending), order appointment_pending,
  // appointment confirmed, order appointment_scheduled.
  auto deliveries = receiver.WaitFor(6);
  ASSERT_EQ(deliveries.size(), 6u);
  std::vector<std::string> seen;
  WebhookSigner signer(secret);
  std::set<std::string> ids;
  for (const auto& delivery : deliveries) {
    EXPECT_EQ(signer.Verify(delivery.id, delivery.timestamp, delivery.signature, delivery.body,
                            std::chrono::system_clock::now()),
              WebhookSigner::Verdict::kValid);
    ids.insert(delivery.id);
    json event = json::parse(delivery.body);
    EXPECT_EQ(event["user_id"], user_id);
    EXPECT_EQ(event["client_user_id"], "brand-s:p5");
    EXPECT_TRUE(event.contains("team_id"));
    std::string type = event["event_type"];
    seen.push_back(type.find("order") != std::string::npos
                       ? type + ":" + event["data"]["last_event"]["status"].get<std::string>()
                       : type + ":" + event["data"]["status"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 6u) << "each event has its own svix-id";
  EXPECT_EQ(seen,
            (std::vector<std::string>{
                "labtest.order.created:received.at_home_phlebotomy.ordered",
                "labtest.order.updated:received.at_home_phlebotomy.requisition_created",
                "labtest.appointment.created:pending",
                "labtest.order.updated:collecting_sample.at_home_phlebotomy.appointment_pending",
                "labtest.appointment.updated:confirmed",
                "labtest.order.updated:collecting_sample.at_home_phlebotomy.appointment_scheduled",
            }));
}

json ParsedBody(const WebhookReceiver::Delivery& delivery) { return json::parse(delivery.body); }

// The simulator starts before the service it calls back, so it learns the target afterwards.
TEST(JunctionSimWebhookTest, TargetGivenAtRunTimeGetsSignedEvents) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  WebhookReceiver receiver;
  SimProcess sim;  // no webhook flags
  EXPECT_EQ(sim.Admin("GET", "/_sim/webhooks/config"), json({{"url", nullptr}}));

  json answer =
      sim.Admin("POST", "/_sim/webhooks/config", {{"url", receiver.url()}, {"secret", secret}});
  EXPECT_EQ(answer, json({{"url", receiver.url()}})) << "the secret is never echoed";
  EXPECT_EQ(sim.Admin("GET", "/_sim/webhooks/config"), answer);

  junction::HttpJunctionClient client(ClientOptions(sim.base_url(), std::chrono::seconds(10)));
  CreatedOrder created = CreateUserAndOrder(client, "brand-s:p6");
  ASSERT_FALSE(created.order_id.empty());

  std::vector<WebhookReceiver::Delivery> deliveries = receiver.WaitFor(1);
  ASSERT_GE(deliveries.size(), 1u);
  const WebhookReceiver::Delivery& first = deliveries[0];
  EXPECT_EQ(WebhookSigner(secret).Verify(first.id, first.timestamp, first.signature, first.body,
                                         std::chrono::system_clock::now()),
            WebhookSigner::Verdict::kValid);
  EXPECT_EQ(WebhookSigner("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
                .Verify(first.id, first.timestamp, first.signature, first.body,
                        std::chrono::system_clock::now()),
            WebhookSigner::Verdict::kBadSignature);
  json event = ParsedBody(first);
  EXPECT_EQ(event["event_type"], "labtest.order.created");
  EXPECT_EQ(event["user_id"], created.user_id);
  EXPECT_EQ(event["client_user_id"], "brand-s:p6");
  EXPECT_EQ(event["data"]["id"], created.order_id);
  EXPECT_EQ(event["data"]["last_event"]["status"], "received.at_home_phlebotomy.ordered");
}

TEST(JunctionSimWebhookTest, BadTargetIsRefusedNamingTheProblemAndChangesNothing) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  SimProcess sim;
  sim.Admin("POST", "/_sim/webhooks/config",
            {{"url", "http://127.0.0.1:9/v1/webhooks/junction"}, {"secret", secret}});
  struct Refused {
    std::string body;
    std::string named;
  };
  const Refused cases[] = {
      {"", "url"},
      {"{}", "url"},
      {"[]", "url"},
      {R"({"url": 8080, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})", "url"},
      {R"({"url": "ftp://127.0.0.1/hooks", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})",
       "http"},
      {R"({"url": "127.0.0.1:8080/hooks", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})",
       "http"},
      {R"({"url": "http:///hooks", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})", "host"},
      {R"({"url": "http://127.0.0.1:8080/hooks"})", "secret"},
      {R"({"url": "http://127.0.0.1:8080/hooks", "secret": null})", "secret"},
      {R"({"url": "http://127.0.0.1:8080/hooks", "secret": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})",
       "whsec_"},
      {R"({"url": "http://127.0.0.1:8080/hooks", "secret": "whsec_not base64!"})", "base64"},
      {R"({"url": "http://127.0.0.1:8080/hooks", "secret": "whsec_"})", "base64"},
      {R"({"url": "http://127.0.0.1:8080/hooks", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
           "retries": 3})",
       "retries"},
  };
  for (const Refused& refused : cases) {
    SCOPED_TRACE(refused.body);
    HttpReply reply = HttpCall(sim.port(), "POST", "/_sim/webhooks/config", refused.body);
    EXPECT_EQ(reply.status, 400);
    std::string detail = reply.Json().value("detail", "");
    EXPECT_NE(detail.find(refused.named), std::string::npos) << detail;
    EXPECT_EQ(detail.find("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string::npos) << detail;
  }
  EXPECT_EQ(sim.Admin("GET", "/_sim/webhooks/config")["url"],
            "http://127.0.0.1:9/v1/webhooks/junction");
  EXPECT_EQ(sim.Admin("POST", "/_sim/webhooks/config",
                      {{"url", "https://hooks.example.com/junction"}, {"secret", secret}})["url"],
            "https://hooks.example.com/junction");
}

TEST(JunctionSimWebhookTest, NullUrlStopsSendingAndANewTargetTakesOnlyLaterEvents) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  WebhookReceiver receiver;
  SimProcess sim({"--webhook-url", "http://127.0.0.1:9/hooks", "--webhook-secret", secret});
  EXPECT_EQ(sim.Admin("GET", "/_sim/webhooks/config")["url"], "http://127.0.0.1:9/hooks");
  EXPECT_EQ(sim.Admin("POST", "/_sim/webhooks/config", {{"url", nullptr}}),
            json({{"url", nullptr}}));

  // Events while off are dropped when they happen, not kept for a later target.
  std::string user_id = NewUser(sim, "brand-s:p7");
  std::string order_id =
      sim.Junction("POST", "/v3/order", OrderBody(user_id)).Json()["order"]["id"];
  EXPECT_EQ(sim.Admin("GET", "/_sim/webhooks")["deliveries"], json::array());

  sim.Admin("POST", "/_sim/webhooks/config", {{"url", receiver.url()}, {"secret", secret}});
  sim.Admin("POST", "/_sim/orders/" + order_id + "/advance", {{"status", "draw_completed"}});
  std::vector<WebhookReceiver::Delivery> deliveries = receiver.WaitFor(1);
  ASSERT_GE(deliveries.size(), 1u);
  json event = ParsedBody(deliveries[0]);
  EXPECT_EQ(event["event_type"], "labtest.order.updated");
  EXPECT_EQ(event["data"]["last_event"]["status"],
            "collecting_sample.at_home_phlebotomy.draw_completed");
}

TEST(JunctionSimWebhookTest, QueuedMessagesKeepTheirTargetAndSecretWhenItChanges) {
  const std::string old_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string new_secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
  WebhookReceiver old_receiver;
  WebhookReceiver new_receiver;
  SimProcess sim;
  old_receiver.Hold();  // the first delivery stays unanswered: the rest wait in the queue
  sim.Admin("POST", "/_sim/webhooks/config", {{"url", old_receiver.url()}, {"secret", old_secret}});
  std::string user_id = NewUser(sim, "brand-s:p8");
  // ordered, then requisition_created: both queued for the old target before this answers.
  std::string order_id =
      sim.Junction("POST", "/v3/order", OrderBody(user_id)).Json()["order"]["id"];
  ASSERT_EQ(old_receiver.WaitFor(1).size(), 1u);

  sim.Admin("POST", "/_sim/webhooks/config", {{"url", new_receiver.url()}, {"secret", new_secret}});
  old_receiver.Release();
  sim.Admin("POST", "/_sim/orders/" + order_id + "/advance", {{"status", "draw_completed"}});

  // Deliveries go one at a time, in order: once the new target has the third event, the old one
  // has had both of its own.
  std::vector<WebhookReceiver::Delivery> later = new_receiver.WaitFor(1);
  ASSERT_EQ(later.size(), 1u);
  std::vector<WebhookReceiver::Delivery> earlier = old_receiver.WaitFor(2);
  ASSERT_EQ(earlier.size(), 2u);
  auto statuses = [](const std::vector<WebhookReceiver::Delivery>& deliveries) {
    std::vector<std::string> out;
    for (const auto& delivery : deliveries) {
      out.push_back(ParsedBody(delivery)["data"]["last_event"]["status"]);
    }
    return out;
  };
  EXPECT_EQ(statuses(earlier),
            (std::vector<std::string>{"received.at_home_phlebotomy.ordered",
                                      "received.at_home_phlebotomy.requisition_created"}));
  EXPECT_EQ(statuses(later),
            (std::vector<std::string>{"collecting_sample.at_home_phlebotomy.draw_completed"}));
  auto now = std::chrono::system_clock::now();
  for (const auto& delivery : earlier) {
    EXPECT_EQ(WebhookSigner(old_secret)
                  .Verify(delivery.id, delivery.timestamp, delivery.signature, delivery.body, now),
              WebhookSigner::Verdict::kValid);
  }
  EXPECT_EQ(WebhookSigner(new_secret)
                .Verify(later[0].id, later[0].timestamp, later[0].signature, later[0].body, now),
            WebhookSigner::Verdict::kValid);
  // The simulator records a delivery once it is answered, so the third may not be in yet; the
  // first two were recorded before the third was sent.
  json recorded = sim.Admin("GET", "/_sim/webhooks")["deliveries"];
  ASSERT_GE(recorded.size(), 2u);
  EXPECT_EQ(recorded[0]["url"], old_receiver.url());
  EXPECT_EQ(recorded[1]["url"], old_receiver.url());
  if (recorded.size() > 2) {
    EXPECT_EQ(recorded[2]["url"], new_receiver.url());
  }
}

TEST(JunctionSimCapacityTest, Holds512ConcurrentConnections) {
  SimProcess sim;
  constexpr int kConnections = 512;
  std::vector<Poco::Net::StreamSocket> sockets;
  sockets.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    sockets.emplace_back(Poco::Net::SocketAddress("127.0.0.1", sim.port()));
  }
  const std::string request =
      "GET /v3/lab_tests HTTP/1.1\r\nHost: sim\r\nx-vital-api-key: sk_us_test\r\n\r\n";
  for (auto& socket : sockets) socket.sendBytes(request.data(), int(request.size()));
  int answered = 0;
  for (auto& socket : sockets) {
    socket.setReceiveTimeout(Poco::Timespan(20, 0));
    char buffer[32] = {};
    int received = socket.receiveBytes(buffer, 12);
    if (received >= 12 && std::string(buffer, 12) == "HTTP/1.1 200") ++answered;
  }
  EXPECT_EQ(answered, kConnections);
  EXPECT_EQ(sim.Stats()["connections_current"].get<int>(), kConnections + 1);
}

TEST(JunctionSimLatencyTest, ResetCutsShortEveryCallSleepingOutItsLatency) {
  SimProcess sim({"--latency-ms", "60000"});
  constexpr int kCalls = 50;
  std::vector<Poco::Net::StreamSocket> sockets;
  const std::string request =
      "GET /v3/lab_tests HTTP/1.1\r\nHost: sim\r\nx-vital-api-key: sk_us_test\r\n\r\n";
  for (int i = 0; i < kCalls; ++i) {
    sockets.emplace_back(Poco::Net::SocketAddress("127.0.0.1", sim.port()));
    sockets.back().sendBytes(request.data(), int(request.size()));
  }
  // Every call is logged before it starts its wait.
  auto started = std::chrono::steady_clock::now();
  while (sim.Calls().size() < std::size_t(kCalls)) {
    ASSERT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  }

  sim.Reset();

  // Each ends at once, unanswered, instead of a minute later.
  for (auto& socket : sockets) {
    socket.setReceiveTimeout(Poco::Timespan(20, 0));
    char buffer[16] = {};
    EXPECT_EQ(socket.receiveBytes(buffer, sizeof buffer), 0);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

TEST(JunctionSimCommandLineTest, LoadsAScriptFileAtStartUp) {
  auto path = std::filesystem::temp_directory_path() /
              ("sim-script-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << R"({"operations": {"list_lab_tests": [{"call": 1, "fault": "unavailable",
                             "retry_after": 3}]}})";
  SimProcess sim({"--script", path.string()});
  HttpReply first = sim.Junction("GET", "/v3/lab_tests");
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.headers["Retry-After"], "3");
  EXPECT_EQ(sim.Junction("GET", "/v3/lab_tests").status, 200);
  std::filesystem::remove(path);
}

TEST(JunctionSimCommandLineTest, HelpDocumentsEveryFlagAndBadFlagsFail) {
  auto run = [](const std::vector<std::string>& args, std::string* output) {
    Poco::Pipe out;
    Poco::ProcessHandle handle =
        Poco::Process::launch(JUNCTION_SIM_BINARY, args, nullptr, &out, &out);
    Poco::PipeInputStream stream(out);
    Poco::StreamCopier::copyToString(stream, *output);
    return handle.wait();
  };
  std::string help;
  EXPECT_EQ(run({"--help"}, &help), 0);
  for (const char* flag : {"--listen", "--script", "--latency-ms", "--api-key", "--webhook-url",
                           "--webhook-secret", "--zip", "--threads", "--tls-cert", "--tls-key"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  std::string error;
  EXPECT_EQ(run({"--latency-ms", "soon"}, &error), 2);
  EXPECT_NE(error.find("--latency-ms"), std::string::npos);
}

}  // namespace
}  // namespace lab_orders::testing
