#include "lab_orders/workflow/junction_webhook.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab_orders/workflow/junction_event.h"
#include "mocks/mock_job_store.h"
#include "support/fakes.h"

namespace lab_orders::workflow {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using std::chrono::system_clock;
using ::testing::_;
using ::testing::DoAll;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kOtherSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
constexpr long long kNow = 1740830400;  // 2025-03-01T12:00:00Z
constexpr const char* kJunctionOrderId = "7d0f4f0e-1c55-4a3f-9b4e-2d1c9a0b7e11";
constexpr const char* kOrderId = "0b7c6a1e-5d4f-4e3a-8b2c-1a0f9e8d7c6b";

// Published vector A (shared/WEBHOOK-VECTORS.md).
constexpr const char* kIdA = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr long long kTimestampA = 1614265330;
constexpr const char* kBodyA = R"({"test": 2432232314})";
constexpr const char* kSignatureA = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
constexpr const char* kSignatureALastCharChanged =
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
constexpr const char* kJunkSignature = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

const std::vector<std::string> kPhi = {"Marisol",          "Quintanilla", "marisol.q@example.org",
                                       "+16025550199",     "1979-11-23",  "4417 North Juniper Lane",
                                       "Flagstaff",        "86001",       "Gate code 7731",
                                       "Afraid of needles"};

system_clock::time_point At(long long unix_seconds) {
  return system_clock::time_point{seconds{unix_seconds}};
}

json Envelope(const std::string& event_type, json data) {
  return {{"event_type", event_type},
          {"user_id", "5e1a1f2c-6f3b-4d8a-9c0e-0a1b2c3d4e5f"},
          {"client_user_id", "01HZX3Q6V7K8M9N0P1R2S3T4U5"},
          {"team_id", "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
          {"data", std::move(data)}};
}

json Address() {
  return {{"first_line", "4417 North Juniper Lane"},
          {"city", "Flagstaff"},
          {"state", "AZ"},
          {"zip_code", "86001"},
          {"access_notes", "Gate code 7731"}};
}

// A labtest.order.updated body as Junction sends it, patient details and all.
std::string OrderUpdatedBody() {
  json events = json::array({{{"id", 1201},
                              {"created_at", "2025-03-01T11:59:00+00:00"},
                              {"status", "received.at_home_phlebotomy.ordered"}},
                             {{"id", 1202},
                              {"created_at", "2025-03-01T11:59:01+00:00"},
                              {"status", "received.at_home_phlebotomy.requisition_created"}}});
  json patient_address = Address();
  patient_address.erase("zip_code");
  patient_address["zip"] = "86001";
  patient_address["country"] = "US";
  json data = {{"id", kJunctionOrderId},
               {"user_id", "5e1a1f2c-6f3b-4d8a-9c0e-0a1b2c3d4e5f"},
               {"team_id", "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
               {"patient_details",
                {{"first_name", "Marisol"},
                 {"last_name", "Quintanilla"},
                 {"dob", "1979-11-23T00:00:00+00:00"},
                 {"gender", "female"},
                 {"phone_number", "+16025550199"},
                 {"email", "marisol.q@example.org"}}},
               {"patient_address", patient_address},
               {"notes", "Afraid of needles"},
               {"created_at", "2025-03-01T11:59:00+00:00"},
               {"updated_at", "2025-03-01T11:59:01+00:00"},
               {"events", events},
               {"last_event", events.back()},
               {"status", "received"}};
  return Envelope("labtest.order.updated", data).dump();
}

std::string AppointmentUpdatedBody() {
  json data = {{"id", "a1b2c3d4-0000-4a3f-9b4e-2d1c9a0b7e22"},
               {"user_id", "5e1a1f2c-6f3b-4d8a-9c0e-0a1b2c3d4e5f"},
               {"order_id", kJunctionOrderId},
               {"address", Address()},
               {"location", {{"lng", -111.6513}, {"lat", 35.1983}}},
               {"start_at", "2025-03-04T15:00:00+00:00"},
               {"end_at", "2025-03-04T16:00:00+00:00"},
               {"iana_timezone", "America/Phoenix"},
               {"type", "phlebotomy"},
               {"provider", "getlabs"},
               {"status", "confirmed"},
               {"provider_id", "gl-123"},
               {"can_reschedule", true},
               {"appointment_notes", "Afraid of needles"},
               {"event_status", "scheduled"},
               {"events",
                {{{"created_at", "2025-03-01T12:00:00+00:00"}, {"status", "pending"}},
                 {{"created_at", "2025-03-01T12:01:00+00:00"}, {"status", "scheduled"}}}}};
  return Envelope("labtest.appointment.updated", data).dump();
}

model::LabOrder KnownOrder() {
  model::LabOrder order;
  order.id = kOrderId;
  order.brand_id = "brand-a";
  order.junction_order_id = kJunctionOrderId;
  order.status = "ordered";
  return order;
}

class JunctionWebhookTest : public ::testing::Test {
 protected:
  // StrictMock: any store call a test does not expect fails it. A failure verdict never writes.
  StrictMock<testing::MockJobStore> store_;
  testing::FakeClock clock_{At(kNow)};
  testing::CountingIdGenerator ids_;
  JunctionWebhookReceiver receiver_{kSecret, store_, clock_, ids_};

  static WebhookHeaders Signed(const std::string& body, const std::string& id = "msg_1",
                               long long timestamp = kNow, const char* secret = kSecret) {
    return {id, std::to_string(timestamp), WebhookSigner(secret).Sign(id, timestamp, body)};
  }
};

TEST_F(JunctionWebhookTest, VerdictsHaveSnakeCaseNames) {
  EXPECT_STREQ(WebhookVerdictName(WebhookVerdict::kAccepted), "accepted");
  EXPECT_STREQ(WebhookVerdictName(WebhookVerdict::kDuplicate), "duplicate");
  EXPECT_STREQ(WebhookVerdictName(WebhookVerdict::kIgnored), "ignored");
  EXPECT_STREQ(WebhookVerdictName(WebhookVerdict::kUnknownOrder), "unknown_order");
  EXPECT_STREQ(WebhookVerdictName(WebhookVerdict::kBadSignature), "bad_signature");
  EXPECT_STREQ(WebhookVerdictName(WebhookVerdict::kStaleTimestamp), "stale_timestamp");
  EXPECT_STREQ(WebhookVerdictName(WebhookVerdict::kMalformedHeaders), "malformed_headers");
  EXPECT_STREQ(WebhookVerdictName(WebhookVerdict::kUnreadableBody), "unreadable_body");
}

TEST_F(JunctionWebhookTest, MalformedSecretIsRefused) {
  EXPECT_THROW(JunctionWebhookReceiver("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", store_, clock_, ids_),
               std::invalid_argument);
  EXPECT_THROW(JunctionWebhookReceiver("whsec_***", store_, clock_, ids_), std::invalid_argument);
}

TEST_F(JunctionWebhookTest, VerifiedOrderEventIsRecordedAndQueuedWithoutPhi) {
  std::string body = OrderUpdatedBody();
  store::NewJob job;
  EXPECT_CALL(store_, FindOrderByJunctionId(kJunctionOrderId)).WillOnce(Return(KnownOrder()));
  EXPECT_CALL(store_, RecordJunctionWebhook("msg_1", At(kNow), _))
      .WillOnce(DoAll(SaveArg<2>(&job), Return(true)));

  EXPECT_EQ(receiver_.Receive(Signed(body), body), WebhookVerdict::kAccepted);

  EXPECT_EQ(job.id, "00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(job.kind, store::kJobJunctionEvent);
  EXPECT_EQ(job.order_id, kOrderId);
  EXPECT_EQ(job.due_at, At(kNow));
  for (const std::string& value : kPhi) {
    EXPECT_EQ(job.payload.find(value), std::string::npos) << value << " in " << job.payload;
  }
  JunctionEvent event = JunctionEventFromJson(json::parse(job.payload));
  EXPECT_EQ(event.event_type, "labtest.order.updated");
  EXPECT_EQ(event.junction_order_id, kJunctionOrderId);
  EXPECT_EQ(event.order_status, "received.at_home_phlebotomy.requisition_created");
  EXPECT_EQ(event.order_event_id, 1202);
}

TEST_F(JunctionWebhookTest, VerifiedAppointmentEventIsQueuedWithoutItsAddress) {
  std::string body = AppointmentUpdatedBody();
  store::NewJob job;
  EXPECT_CALL(store_, FindOrderByJunctionId(kJunctionOrderId)).WillOnce(Return(KnownOrder()));
  EXPECT_CALL(store_, RecordJunctionWebhook("msg_1", At(kNow), _))
      .WillOnce(DoAll(SaveArg<2>(&job), Return(true)));

  EXPECT_EQ(receiver_.Receive(Signed(body), body), WebhookVerdict::kAccepted);

  for (const std::string& value : kPhi) {
    EXPECT_EQ(job.payload.find(value), std::string::npos) << value << " in " << job.payload;
  }
  JunctionEvent event = JunctionEventFromJson(json::parse(job.payload));
  ASSERT_TRUE(event.appointment.has_value());
  EXPECT_EQ(event.appointment->status, "confirmed");
  EXPECT_EQ(event.appointment->event_count, 2);
}

TEST_F(JunctionWebhookTest, SeenSvixIdIsADuplicate) {
  std::string body = OrderUpdatedBody();
  EXPECT_CALL(store_, FindOrderByJunctionId(kJunctionOrderId)).WillOnce(Return(KnownOrder()));
  EXPECT_CALL(store_, RecordJunctionWebhook("msg_1", At(kNow), _)).WillOnce(Return(false));
  EXPECT_EQ(receiver_.Receive(Signed(body), body), WebhookVerdict::kDuplicate);
}

TEST_F(JunctionWebhookTest, TamperedBodyIsABadSignature) {
  std::string body = OrderUpdatedBody();
  WebhookHeaders headers = Signed(body);
  std::string tampered = body;
  tampered.replace(tampered.find("requisition_created"), 19, "appointment_pending");
  EXPECT_EQ(receiver_.Receive(headers, tampered), WebhookVerdict::kBadSignature);
  // The body re-serialized (as a careless proxy might) no longer verifies either.
  EXPECT_EQ(receiver_.Receive(headers, json::parse(body).dump(2)), WebhookVerdict::kBadSignature);
}

TEST_F(JunctionWebhookTest, SignatureFromAnotherSecretIsABadSignature) {
  std::string body = OrderUpdatedBody();
  EXPECT_EQ(receiver_.Receive(Signed(body, "msg_1", kNow, kOtherSecret), body),
            WebhookVerdict::kBadSignature);
}

TEST_F(JunctionWebhookTest, SignatureForAnotherIdOrTimestampIsABadSignature) {
  std::string body = OrderUpdatedBody();
  WebhookHeaders headers = Signed(body, "msg_1", kNow);
  WebhookHeaders other_id = headers;
  other_id.id = "msg_2";
  EXPECT_EQ(receiver_.Receive(other_id, body), WebhookVerdict::kBadSignature);
  WebhookHeaders other_time = headers;
  other_time.timestamp = std::to_string(kNow - 1);
  EXPECT_EQ(receiver_.Receive(other_time, body), WebhookVerdict::kBadSignature);
}

TEST_F(JunctionWebhookTest, TimestampSixMinutesAwayIsStale) {
  std::string body = OrderUpdatedBody();
  EXPECT_EQ(receiver_.Receive(Signed(body, "msg_1", kNow - 360), body),
            WebhookVerdict::kStaleTimestamp);
  EXPECT_EQ(receiver_.Receive(Signed(body, "msg_1", kNow + 360), body),
            WebhookVerdict::kStaleTimestamp);
}

TEST_F(JunctionWebhookTest, TimestampWithinToleranceIsAccepted) {
  std::string body = OrderUpdatedBody();
  EXPECT_CALL(store_, FindOrderByJunctionId(kJunctionOrderId))
      .Times(2)
      .WillRepeatedly(Return(KnownOrder()));
  EXPECT_CALL(store_, RecordJunctionWebhook(_, At(kNow), _)).Times(2).WillRepeatedly(Return(true));
  EXPECT_EQ(receiver_.Receive(Signed(body, "msg_1", kNow - 299), body), WebhookVerdict::kAccepted);
  EXPECT_EQ(receiver_.Receive(Signed(body, "msg_2", kNow + 299), body), WebhookVerdict::kAccepted);
}

TEST_F(JunctionWebhookTest, MissingOrUnreadableHeadersAreMalformed) {
  std::string body = OrderUpdatedBody();
  WebhookHeaders good = Signed(body);
  std::vector<WebhookHeaders> cases;
  cases.push_back({"", good.timestamp, good.signature});
  cases.push_back({good.id, "", good.signature});
  cases.push_back({good.id, good.timestamp, ""});
  cases.push_back({"", "", ""});
  cases.push_back({good.id, "soon", good.signature});
  cases.push_back({good.id, "-" + good.timestamp, good.signature});
  cases.push_back({std::string(256, 'm'), good.timestamp, good.signature});
  cases.push_back({"msg_1\n", good.timestamp, good.signature});
  cases.push_back({std::string("msg\0_1", 6), good.timestamp, good.signature});
  cases.push_back({"msg_\xc3\xa9", good.timestamp, good.signature});
  for (const WebhookHeaders& headers : cases) {
    SCOPED_TRACE("id size " + std::to_string(headers.id.size()) + ", timestamp \"" +
                 headers.timestamp + "\", signature size " +
                 std::to_string(headers.signature.size()));
    EXPECT_EQ(receiver_.Receive(headers, body), WebhookVerdict::kMalformedHeaders);
  }
}

TEST_F(JunctionWebhookTest, LongestAllowedSvixIdIsRead) {
  std::string body = R"({"event_type": "labtest.result.normal", "data": {}})";
  std::string id(255, 'm');
  EXPECT_EQ(receiver_.Receive(Signed(body, id), body), WebhookVerdict::kIgnored);
}

TEST_F(JunctionWebhookTest, SignedBodyThatIsNotJsonIsMalformed) {
  for (std::string body :
       {std::string("{\"event_type\": \"labtest.order.updated\""), std::string("not json"),
        std::string(""), std::string("{\"a\": \"\xff\"}")}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(receiver_.Receive(Signed(body), body), WebhookVerdict::kUnreadableBody);
  }
}

// Which copy of a repeated member wins differs between parsers: a body with one is refused
// whoever signed it.
TEST_F(JunctionWebhookTest, SignedBodyNamingAMemberTwiceIsMalformed) {
  std::string good = OrderUpdatedBody();
  std::string twice = "{\"event_type\": \"labtest.order.updated\", " + good.substr(1);
  ASSERT_NE(good.find("\"event_type\""), std::string::npos);
  // Refused before the store is asked anything.
  EXPECT_CALL(store_, FindOrderByJunctionId(_)).Times(0);
  EXPECT_EQ(receiver_.Receive(Signed(twice), twice), WebhookVerdict::kUnreadableBody);
}

TEST_F(JunctionWebhookTest, SignedBodyNestedTooDeeplyIsMalformed) {
  // A good event but for a field the parser never reads, 65 levels deep in all.
  std::string good = OrderUpdatedBody();
  std::string deep = good.substr(0, good.size() - 1) + R"(, "passthrough": )" +
                     std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_EQ(receiver_.Receive(Signed(deep), deep), WebhookVerdict::kUnreadableBody);
  // Even unbalanced: the scan refuses it before the parser sees it.
  std::string bomb(100000, '[');
  EXPECT_EQ(receiver_.Receive(Signed(bomb), bomb), WebhookVerdict::kUnreadableBody);
}

TEST_F(JunctionWebhookTest, HandledTypeMissingDataIsMalformed) {
  json event = json::parse(OrderUpdatedBody());
  event.erase("data");
  std::string body = event.dump();
  EXPECT_EQ(receiver_.Receive(Signed(body), body), WebhookVerdict::kUnreadableBody);

  json appointment = json::parse(AppointmentUpdatedBody());
  appointment["data"].erase("order_id");
  body = appointment.dump();
  EXPECT_EQ(receiver_.Receive(Signed(body), body), WebhookVerdict::kUnreadableBody);

  std::string array = "[1, 2, 3]";
  EXPECT_EQ(receiver_.Receive(Signed(array), array), WebhookVerdict::kUnreadableBody);
}

TEST_F(JunctionWebhookTest, UnhandledTypeIsIgnoredWithoutAStoreWrite) {
  json event = Envelope("labtest.order.deleted", {{"id", kJunctionOrderId}});
  std::string body = event.dump();
  EXPECT_EQ(receiver_.Receive(Signed(body), body), WebhookVerdict::kIgnored);
}

TEST_F(JunctionWebhookTest, EventForAnOrderThisServiceDidNotMakeIsUnknown) {
  std::string body = OrderUpdatedBody();
  EXPECT_CALL(store_, FindOrderByJunctionId(kJunctionOrderId)).WillOnce(Return(std::nullopt));
  EXPECT_EQ(receiver_.Receive(Signed(body), body), WebhookVerdict::kUnknownOrder);
}

TEST_F(JunctionWebhookTest, UnreachableStoreIsThrownForA503) {
  std::string body = OrderUpdatedBody();
  EXPECT_CALL(store_, FindOrderByJunctionId(kJunctionOrderId))
      .WillOnce(::testing::Throw(store::StoreUnavailable("database is locked")));
  EXPECT_THROW(receiver_.Receive(Signed(body), body), store::StoreUnavailable);

  EXPECT_CALL(store_, FindOrderByJunctionId(kJunctionOrderId)).WillOnce(Return(KnownOrder()));
  EXPECT_CALL(store_, RecordJunctionWebhook("msg_1", At(kNow), _))
      .WillOnce(::testing::Throw(store::StoreUnavailable("disk I/O error")));
  EXPECT_THROW(receiver_.Receive(Signed(body), body), store::StoreUnavailable);
}

TEST_F(JunctionWebhookTest, PublishedVectorAVerifiesAndIsNotAHandledType) {
  testing::FakeClock then(At(kTimestampA));
  JunctionWebhookReceiver receiver(kSecret, store_, then, ids_);
  EXPECT_EQ(receiver.Receive({kIdA, std::to_string(kTimestampA), kSignatureA}, kBodyA),
            WebhookVerdict::kIgnored);
  EXPECT_EQ(
      receiver.Receive({kIdA, std::to_string(kTimestampA), kSignatureALastCharChanged}, kBodyA),
      WebhookVerdict::kBadSignature);
  // At today's time the same message is long stale.
  EXPECT_EQ(receiver_.Receive({kIdA, std::to_string(kTimestampA), kSignatureA}, kBodyA),
            WebhookVerdict::kStaleTimestamp);
}

TEST_F(JunctionWebhookTest, MultiSignatureHeaderWithOneValidEntryIsAccepted) {
  std::string body = OrderUpdatedBody();
  WebhookHeaders headers = Signed(body);
  std::string valid = headers.signature;
  std::string v2 = "v2," + valid.substr(3);  // the right bytes under a version we do not know
  headers.signature = std::string(kJunkSignature) + " " + v2 + " " + valid;
  EXPECT_CALL(store_, FindOrderByJunctionId(kJunctionOrderId)).WillOnce(Return(KnownOrder()));
  EXPECT_CALL(store_, RecordJunctionWebhook("msg_1", At(kNow), _)).WillOnce(Return(true));
  EXPECT_EQ(receiver_.Receive(headers, body), WebhookVerdict::kAccepted);

  // Without the valid entry, the junk and the v2 entry verify nothing.
  headers.signature = std::string(kJunkSignature) + " " + v2;
  EXPECT_EQ(receiver_.Receive(headers, body), WebhookVerdict::kBadSignature);
}

}  // namespace
}  // namespace lab_orders::workflow
