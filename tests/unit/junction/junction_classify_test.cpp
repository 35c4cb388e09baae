#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "junction/classify.h"

namespace lab_orders::junction {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// Monday 2030-01-07 15:00:00 UTC.
const auto kNow = std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

RawResponse Answer(int status, const std::string& body,
                   std::map<std::string, std::string> headers = {}) {
  return RawResponse{status, std::move(headers), body};
}

CallError Classify(const std::string& operation, const RawResponse& response) {
  return ClassifyFailure(operation, response, kNow);
}

// Every string a CallError carries, to check that nothing from Junction's body leaked into it.
std::string EverythingIn(const CallError& error) {
  std::string all = error.operation + "|" + error.existing_user_id + "|" + error.summary;
  for (const FieldError& field : error.field_errors) {
    all += "|" + field.location + "|" + field.message + "|" + field.type;
  }
  return all;
}

TEST(ClassifyFailureTest, CreateUserConflictCarriesTheExistingUserId) {
  json body = {{"detail",
                {{"error_type", "INVALID_REQUEST"},
                 {"error_message", "Client user id already exists."},
                 {"user_id", "1449752e-0d8a-40e0-9206-91ab099b2537"},
                 {"created_on", "2023-02-27T12:31:24+00:00"}}}};

  CallError error = Classify("create_user", Answer(400, body.dump()));

  EXPECT_EQ(error.outcome, Outcome::kUserConflict);
  EXPECT_EQ(error.existing_user_id, "1449752e-0d8a-40e0-9206-91ab099b2537");
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.operation, "create_user");
  EXPECT_TRUE(error.may_have_reached_junction);
  EXPECT_FALSE(error.summary.empty());
}

TEST(ClassifyFailureTest, ProductionSlotTakenIs404AndStillAConflict) {
  json body = {{"detail", "The selected slot is no longer available."}};
  EXPECT_EQ(Classify("book_appointment", Answer(404, body.dump())).outcome, Outcome::kConflict);
  EXPECT_EQ(Classify("get_order", Answer(404, json{{"detail", "Order not found."}}.dump())).outcome,
            Outcome::kNotFound);
}

TEST(ClassifyFailureTest, ConflictShapeElsewhereOrWithoutUserIdIsARejection) {
  json body = {
      {"detail",
       {{"error_type", "INVALID_REQUEST"}, {"user_id", "1449752e-0d8a-40e0-9206-91ab099b2537"}}}};
  EXPECT_EQ(Classify("create_order", Answer(400, body.dump())).outcome, Outcome::kRejected);
  EXPECT_EQ(Classify("create_order", Answer(400, body.dump())).existing_user_id, "");

  json without_id = {{"detail", {{"error_type", "INVALID_REQUEST"}}}};
  EXPECT_EQ(Classify("create_user", Answer(400, without_id.dump())).outcome, Outcome::kRejected);
  json numeric_id = {{"detail", {{"user_id", 12}}}};
  EXPECT_EQ(Classify("create_user", Answer(400, numeric_id.dump())).outcome, Outcome::kRejected);
}

TEST(ClassifyFailureTest, FastApiValidationErrorsBecomeFieldErrorsWithoutTheInput) {
  json body = {{"detail",
                {{{"loc", {"body", "patient_address", "zip"}},
                  {"msg", "String should match pattern '^\\d{5}(-\\d{4})?$'"},
                  {"type", "string_pattern_mismatch"},
                  {"input", "85O0X"}},
                 {{"loc", {"body", "patient_details", "email"}},
                  {"msg", "value is not a valid email address"},
                  {"type", "value_error"},
                  {"input", "jane.doe@example"},
                  {"ctx", {{"reason", "jane.doe@example"}}}},
                 {{"loc", {"body", "order_set", "lab_test_ids", 0}},
                  {"msg", "Input should be a valid UUID"},
                  {"type", "uuid_parsing"},
                  {"input", "not-a-uuid-jane"}}}}};

  CallError error = Classify("create_order", Answer(422, body.dump()));

  EXPECT_EQ(error.outcome, Outcome::kValidation);
  ASSERT_EQ(error.field_errors.size(), 3u);
  EXPECT_EQ(error.field_errors[0].location, "body.patient_address.zip");
  EXPECT_EQ(error.field_errors[0].type, "string_pattern_mismatch");
  EXPECT_EQ(error.field_errors[0].message, "String should match pattern '^\\d{5}(-\\d{4})?$'");
  EXPECT_EQ(error.field_errors[1].location, "body.patient_details.email");
  EXPECT_EQ(error.field_errors[1].type, "value_error");
  EXPECT_EQ(error.field_errors[2].location, "body.order_set.lab_test_ids.0");
  // The echoed input may be patient data: it must not be kept anywhere, summary included.
  std::string everything = EverythingIn(error);
  EXPECT_THAT(everything, Not(HasSubstr("jane")));
  EXPECT_THAT(everything, Not(HasSubstr("85O0X")));
  EXPECT_THAT(error.summary, HasSubstr("body.patient_address.zip"));
}

TEST(ClassifyFailureTest, ValidationWithAStringDetail) {
  json body = {{"detail", "Patient jane.doe@example.com is invalid"}};

  CallError error = Classify("create_order", Answer(422, body.dump()));

  EXPECT_EQ(error.outcome, Outcome::kValidation);
  EXPECT_TRUE(error.field_errors.empty());
  EXPECT_THAT(EverythingIn(error), Not(HasSubstr("jane")));
}

TEST(ClassifyFailureTest, NotFound) {
  CallError error = Classify("get_order", Answer(404, R"({"detail": "Order not found."})"));
  EXPECT_EQ(error.outcome, Outcome::kNotFound);
  EXPECT_EQ(error.http_status, 404);
}

TEST(ClassifyFailureTest, ConflictFrom409) {
  CallError error =
      Classify("create_order", Answer(409, R"({"detail": "A request with this key is running"})"));
  EXPECT_EQ(error.outcome, Outcome::kConflict);
}

TEST(ClassifyFailureTest, SlotNoLongerAvailableIsAConflict) {
  CallError error =
      Classify("book_appointment",
               Answer(400, R"({"detail": "The selected slot is no longer available."})"));
  EXPECT_EQ(error.outcome, Outcome::kConflict);
  EXPECT_EQ(error.http_status, 400);
}

TEST(ClassifyFailureTest, OtherClientErrorsAreRejections) {
  EXPECT_EQ(
      Classify("book_appointment", Answer(400, R"({"detail": "The booking key has expired."})"))
          .outcome,
      Outcome::kRejected);
  EXPECT_EQ(Classify("get_order", Answer(401, R"({"detail": "Invalid API key"})")).outcome,
            Outcome::kRejected);
  EXPECT_EQ(Classify("get_order", Answer(403, R"({"detail": "Forbidden"})")).outcome,
            Outcome::kRejected);
  EXPECT_EQ(Classify("get_order", Answer(403, "")).outcome, Outcome::kRejected);
}

TEST(ClassifyFailureTest, TooManyRequestsIsRateLimitedWithRetryAfter) {
  CallError error = Classify("get_order", Answer(429, "", {{"retry-after", "7"}}));
  EXPECT_EQ(error.outcome, Outcome::kRateLimited);
  EXPECT_EQ(error.retry_after_seconds, 7);

  CallError without = Classify("get_order", Answer(429, R"({"detail": "slow down"})"));
  EXPECT_EQ(without.outcome, Outcome::kRateLimited);
  EXPECT_EQ(without.retry_after_seconds, std::nullopt);
}

TEST(ClassifyFailureTest, UnavailableWithRetryAfterIsRateLimited) {
  CallError error = Classify("get_order", Answer(503, "", {{"retry-after", "3"}}));
  EXPECT_EQ(error.outcome, Outcome::kRateLimited);
  EXPECT_EQ(error.retry_after_seconds, 3);
}

TEST(ClassifyFailureTest, UnavailableWithoutUsableRetryAfterIsAServerError) {
  EXPECT_EQ(Classify("get_order", Answer(503, R"({"detail": "busy"})")).outcome,
            Outcome::kServerError);
  EXPECT_EQ(Classify("get_order", Answer(503, "", {{"retry-after", "soon"}})).outcome,
            Outcome::kServerError);
}

TEST(ClassifyFailureTest, OtherServerErrors) {
  CallError internal =
      Classify("book_appointment", Answer(500, R"({"detail": "The provider could not confirm."})"));
  EXPECT_EQ(internal.outcome, Outcome::kServerError);
  EXPECT_EQ(internal.http_status, 500);
  EXPECT_EQ(Classify("get_order", Answer(502, "<html>Bad Gateway</html>")).outcome,
            Outcome::kServerError);
  EXPECT_EQ(Classify("get_order", Answer(504, "")).outcome, Outcome::kServerError);
}

TEST(ClassifyFailureTest, NonJsonBodiesAreClassifiedByStatusAndNotEchoed) {
  const std::string html = "<html><body>jane.doe@example.com: 502 Bad Gateway</body></html>";
  for (int status : {400, 404, 409, 422, 429, 500, 502}) {
    CallError error = Classify("create_order", Answer(status, html));
    EXPECT_EQ(error.http_status, status);
    EXPECT_TRUE(error.field_errors.empty()) << status;
    EXPECT_EQ(error.existing_user_id, "") << status;
    EXPECT_THAT(EverythingIn(error), Not(HasSubstr("jane"))) << status;
    EXPECT_THAT(EverythingIn(error), Not(HasSubstr("html"))) << status;
  }
  EXPECT_EQ(Classify("create_user", Answer(400, html)).outcome, Outcome::kRejected);
  EXPECT_EQ(Classify("create_order", Answer(422, html)).outcome, Outcome::kValidation);
  EXPECT_EQ(Classify("create_order", Answer(404, "not json")).outcome, Outcome::kNotFound);
  // JSON that is not an object, or an object without "detail".
  EXPECT_EQ(Classify("create_user", Answer(400, R"(["user_id"])")).outcome, Outcome::kRejected);
  EXPECT_EQ(Classify("create_order", Answer(400, R"({"error": "no longer available"})")).outcome,
            Outcome::kRejected);
}

TEST(ClassifyFailureTest, SummaryNamesOperationAndStatusButNotTheBody) {
  CallError error = Classify(
      "create_order", Answer(400, R"({"detail": "Patient jane.doe@example.com is too young"})"));
  EXPECT_THAT(error.summary, HasSubstr("create_order"));
  EXPECT_THAT(error.summary, HasSubstr("400"));
  EXPECT_THAT(error.summary, Not(HasSubstr("jane")));
  EXPECT_THAT(error.summary, Not(HasSubstr("too young")));
}

}  // namespace
}  // namespace lab_orders::junction
