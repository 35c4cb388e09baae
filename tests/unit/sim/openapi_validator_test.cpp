#include "lab_orders/sim/openapi_validator.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab_orders/sim/junction_spec.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;

const json& JunctionSpec() {
  static const json spec = json::parse(JunctionSpecText());
  return spec;
}

const OpenApiValidator& JunctionValidator() {
  static const OpenApiValidator validator(JunctionSpec());
  return validator;
}

const json& CreateOrderSchema() {
  const json* schema = JunctionValidator().RequestBodySchema("POST", "/v3/order");
  EXPECT_NE(schema, nullptr);
  static const json empty_schema = json::object();
  return schema != nullptr ? *schema : empty_schema;
}

json ValidCreateOrderBody() {
  return {
      {"user_id", "63661a2b-2bb3-4125-bb1a-b590f64f057f"},
      {"patient_details",
       {{"first_name", "Ada"},
        {"last_name", "Lovelace"},
        {"dob", "1990-02-28"},
        {"gender", "female"},
        {"phone_number", "+15555550100"},
        {"email", "ada@example.com"}}},
      {"patient_address",
       {{"first_line", "1 Main St"},
        {"city", "Springfield"},
        {"state", "IL"},
        {"zip", "62701"},
        {"country", "US"}}},
      {"order_set", {{"lab_test_ids", {"0f9e4a6c-7a51-4d2c-9a3e-1b2c3d4e5f60"}}}},
      {"collection_method", "at_home_phlebotomy"},
  };
}

std::vector<SchemaViolation> ValidateCreateOrder(const json& body) {
  return JunctionValidator().Validate(CreateOrderSchema(), body, json::array({"body"}));
}

// Violations as JSON so a failing assertion prints everything that was reported.
json AsJson(const std::vector<SchemaViolation>& violations) {
  json all = json::array();
  for (const SchemaViolation& violation : violations) all.push_back(violation.ToJson());
  return all;
}

bool HasViolation(const std::vector<SchemaViolation>& violations, const json& loc,
                  const std::string& type) {
  for (const SchemaViolation& violation : violations) {
    if (violation.loc == loc && violation.type == type) return true;
  }
  return false;
}

json ValidAppointment() {
  return {
      {"id", "7dc2a1b8-8794-4435-bc58-095746627a9b"},
      {"user_id", "bd491df7-7d73-414b-9b90-492cde01e625"},
      {"order_id", "2c6ba9f4-c8bc-43ef-a888-5d4398e556e3"},
      {"order_transaction_id", nullptr},
      {"address",
       {{"first_line", "123 Main St."},
        {"second_line", "Apt. 208"},
        {"city", "San Francisco"},
        {"state", "CA"},
        {"zip_code", "94107"},
        {"access_notes", nullptr}}},
      {"location", {{"lng", -122.4194155}, {"lat", 37.7749295}}},
      {"start_at", "2030-01-02T15:00:00Z"},
      {"end_at", "2030-01-02T15:30:00.000+00:00"},
      {"iana_timezone", "America/Los_Angeles"},
      {"type", "phlebotomy"},
      {"provider", "getlabs"},
      {"status", "confirmed"},
      {"provider_id", "slot-123"},
      {"external_id", nullptr},
      {"can_reschedule", true},
      {"appointment_notes", nullptr},
      {"event_status", "scheduled"},
      {"event_data", {{"origin", "sim"}}},
      {"events", {{{"created_at", "2030-01-01T08:00:00Z"}, {"status", "scheduled"}}}},
  };
}

const json& AppointmentResponseSchema() {
  const json* schema =
      JunctionValidator().ResponseSchema("GET", "/v3/order/{order_id}/phlebotomy/appointment", 200);
  EXPECT_NE(schema, nullptr);
  static const json empty_schema = json::object();
  return schema != nullptr ? *schema : empty_schema;
}

// The real spec plus extra component schemas, for cases the spec itself cannot provoke.
OpenApiValidator ValidatorWithExtraSchemas(const json& extra_schemas) {
  json spec = JunctionSpec();
  for (const auto& [name, schema] : extra_schemas.items()) {
    spec["components"]["schemas"][name] = schema;
  }
  return OpenApiValidator(std::move(spec));
}

// Built without recursion so the test itself cannot overflow the stack.
json NestedArrays(int depth) {
  json nested = json::array();
  for (int level = 1; level < depth; ++level) {
    json outer = json::array();
    outer.push_back(std::move(nested));
    nested = std::move(outer);
  }
  return nested;
}

TEST(OpenApiValidatorTest, ValidCreateOrderBodyPasses) {
  auto violations = ValidateCreateOrder(ValidCreateOrderBody());
  EXPECT_TRUE(violations.empty()) << AsJson(violations).dump(2);
}

TEST(OpenApiValidatorTest, OptionalNullableFieldsAcceptNull) {
  json body = ValidCreateOrderBody();
  body["lab_test_id"] = nullptr;
  body["activate_by"] = "2030-12-31";
  body["patient_address"]["second_line"] = nullptr;
  body["patient_details"]["household_income"] = 50000;
  body["priority"] = true;
  auto violations = ValidateCreateOrder(body);
  EXPECT_TRUE(violations.empty()) << AsJson(violations).dump(2);
}

TEST(OpenApiValidatorTest, ZipCodeInsteadOfZipReportsMissingZip) {
  json body = ValidCreateOrderBody();
  body["patient_address"].erase("zip");
  body["patient_address"]["zip_code"] = "62701";

  auto violations = ValidateCreateOrder(body);

  // PatientAddressWithValidation does not forbid extra properties, so "zip_code" is silently
  // ignored and the only complaint is the missing "zip".
  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "patient_address", "zip"}));
  EXPECT_EQ(violations[0].type, "missing");
  EXPECT_EQ(violations[0].msg, "Field required");
}

TEST(OpenApiValidatorTest, BadZipPatternReported) {
  json body = ValidCreateOrderBody();
  body["patient_address"]["zip"] = "6270";

  auto violations = ValidateCreateOrder(body);

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "patient_address", "zip"}));
  EXPECT_EQ(violations[0].type, "string_pattern_mismatch");
  EXPECT_EQ(violations[0].msg, "String should match pattern '^\\d{5}(-\\d{4})?$'");
}

TEST(OpenApiValidatorTest, ZipPlusFourPasses) {
  json body = ValidCreateOrderBody();
  body["patient_address"]["zip"] = "62701-1234";
  EXPECT_TRUE(ValidateCreateOrder(body).empty());
}

TEST(OpenApiValidatorTest, BadGenderEnumReported) {
  json body = ValidCreateOrderBody();
  body["patient_details"]["gender"] = "F";

  auto violations = ValidateCreateOrder(body);

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "patient_details", "gender"}));
  EXPECT_EQ(violations[0].type, "enum");
  EXPECT_EQ(violations[0].msg, "Input should be 'female', 'male', 'other' or 'unknown'");
}

TEST(OpenApiValidatorTest, NullableEnumReportsTheEnumNotTheNullBranch) {
  json body = ValidCreateOrderBody();
  body["collection_method"] = "by_pigeon";

  auto violations = ValidateCreateOrder(body);

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "collection_method"}));
  EXPECT_EQ(violations[0].type, "enum");
  EXPECT_EQ(violations[0].msg,
            "Input should be 'testkit', 'walk_in_test', 'at_home_phlebotomy' or "
            "'on_site_collection'");
}

TEST(OpenApiValidatorTest, WrongTypesReported) {
  json body = ValidCreateOrderBody();
  body["patient_details"]["first_name"] = 42;
  body["priority"] = "yes";
  body["patient_details"]["household_size"] = 2.5;
  body["order_set"]["lab_test_ids"] = "0f9e4a6c-7a51-4d2c-9a3e-1b2c3d4e5f60";
  body["patient_address"] = json::array();

  auto violations = ValidateCreateOrder(body);

  EXPECT_EQ(violations.size(), 5u) << AsJson(violations).dump(2);
  EXPECT_TRUE(HasViolation(violations, {"body", "patient_details", "first_name"}, "string_type"));
  EXPECT_TRUE(HasViolation(violations, {"body", "priority"}, "bool_type"));
  EXPECT_TRUE(
      HasViolation(violations, {"body", "patient_details", "household_size"}, "int_from_float"));
  EXPECT_TRUE(HasViolation(violations, {"body", "order_set", "lab_test_ids"}, "list_type"));
  EXPECT_TRUE(HasViolation(violations, {"body", "patient_address"}, "dict_type"));
  for (const SchemaViolation& violation : violations) {
    if (violation.type == "string_type") {
      EXPECT_EQ(violation.msg, "Input should be a valid string");
    }
  }
}

TEST(OpenApiValidatorTest, WholeNumberWrittenAsFloatIsAnInteger) {
  json body = ValidCreateOrderBody();
  body["patient_details"]["household_size"] = 3.0;
  EXPECT_TRUE(ValidateCreateOrder(body).empty());
}

TEST(OpenApiValidatorTest, MissingUserIdReported) {
  json body = ValidCreateOrderBody();
  body.erase("user_id");

  auto violations = ValidateCreateOrder(body);

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "user_id"}));
  EXPECT_EQ(violations[0].type, "missing");
}

TEST(OpenApiValidatorTest, NullForRequiredFieldIsATypeErrorNotMissing) {
  json body = ValidCreateOrderBody();
  body["user_id"] = nullptr;

  auto violations = ValidateCreateOrder(body);

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "user_id"}));
  EXPECT_EQ(violations[0].type, "string_type");
}

TEST(OpenApiValidatorTest, ReportsEveryViolationNotJustTheFirst) {
  json body = ValidCreateOrderBody();
  body.erase("user_id");
  body["patient_details"].erase("email");
  body["patient_address"]["zip"] = "ABCDE";
  body["patient_details"]["gender"] = "x";

  auto violations = ValidateCreateOrder(body);

  EXPECT_EQ(violations.size(), 4u) << AsJson(violations).dump(2);
  EXPECT_TRUE(HasViolation(violations, {"body", "user_id"}, "missing"));
  EXPECT_TRUE(HasViolation(violations, {"body", "patient_details", "email"}, "missing"));
  EXPECT_TRUE(
      HasViolation(violations, {"body", "patient_address", "zip"}, "string_pattern_mismatch"));
  EXPECT_TRUE(HasViolation(violations, {"body", "patient_details", "gender"}, "enum"));
}

TEST(OpenApiValidatorTest, FormatsChecked) {
  json body = ValidCreateOrderBody();
  body["user_id"] = "63661a2b2bb34125bb1ab590f64f057f";
  body["patient_details"]["dob"] = "2023-02-29";  // not a leap year
  body["patient_details"]["email"] = "ada.example.com";
  body["order_set"]["lab_test_ids"] = {"0f9e4a6c-7a51-4d2c-9a3e-1b2c3d4e5f60", "nope"};

  auto violations = ValidateCreateOrder(body);

  EXPECT_EQ(violations.size(), 4u) << AsJson(violations).dump(2);
  EXPECT_TRUE(HasViolation(violations, {"body", "user_id"}, "uuid_parsing"));
  EXPECT_TRUE(
      HasViolation(violations, {"body", "patient_details", "dob"}, "date_from_datetime_parsing"));
  EXPECT_TRUE(HasViolation(violations, {"body", "patient_details", "email"}, "value_error"));
  EXPECT_TRUE(HasViolation(violations, {"body", "order_set", "lab_test_ids", 1}, "uuid_parsing"));
}

TEST(OpenApiValidatorTest, LeapDayIsAValidDate) {
  json body = ValidCreateOrderBody();
  body["patient_details"]["dob"] = "2000-02-29";
  EXPECT_TRUE(ValidateCreateOrder(body).empty());
}

TEST(OpenApiValidatorTest, LengthCountsCodePointsNotBytes) {
  json body = ValidCreateOrderBody();
  std::string fifty_accented;
  for (int i = 0; i < 50; ++i) fifty_accented += "\xC3\xA9";  // U+00E9, two bytes each
  body["patient_details"]["first_name"] = fifty_accented;
  EXPECT_TRUE(ValidateCreateOrder(body).empty());

  body["patient_details"]["first_name"] = fifty_accented + "e";
  body["patient_details"]["last_name"] = "";
  auto violations = ValidateCreateOrder(body);

  ASSERT_EQ(violations.size(), 2u) << AsJson(violations).dump(2);
  for (const SchemaViolation& violation : violations) {
    if (violation.loc == json({"body", "patient_details", "first_name"})) {
      EXPECT_EQ(violation.type, "string_too_long");
      EXPECT_EQ(violation.msg, "String should have at most 50 characters");
    } else {
      EXPECT_EQ(violation.loc, json({"body", "patient_details", "last_name"}));
      EXPECT_EQ(violation.type, "string_too_short");
      EXPECT_EQ(violation.msg, "String should have at least 1 character");
    }
  }
}

TEST(OpenApiValidatorTest, MessagesNeverEchoTheInput) {
  const std::string secret = "Zebediah";
  json body = ValidCreateOrderBody();
  body["patient_details"]["gender"] = secret;
  body["patient_details"]["email"] = secret;
  body["patient_details"]["dob"] = secret;
  body["patient_address"]["zip"] = secret;
  body["user_id"] = secret;

  auto violations = ValidateCreateOrder(body);

  EXPECT_EQ(violations.size(), 5u) << AsJson(violations).dump(2);
  for (const SchemaViolation& violation : violations) {
    EXPECT_EQ(violation.msg.find(secret), std::string::npos) << violation.msg;
  }
}

TEST(OpenApiValidatorTest, UsAddressForAppointmentAvailability) {
  const json* schema = JunctionValidator().RequestBodySchema(
      "POST", "/v3/order/phlebotomy/appointment/availability");
  ASSERT_NE(schema, nullptr);
  json address = {
      {"first_line", "1 Main St"}, {"city", "Springfield"}, {"state", "IL"}, {"zip_code", "62701"}};
  EXPECT_TRUE(JunctionValidator().Validate(*schema, address, {"body"}).empty());

  address.erase("zip_code");
  address["zip"] = "62701";
  auto violations = JunctionValidator().Validate(*schema, address, {"body"});
  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "zip_code"}));
  EXPECT_EQ(violations[0].type, "missing");

  address["zip_code"] = "627011";
  violations = JunctionValidator().Validate(*schema, address, {"body"});
  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "zip_code"}));
  EXPECT_EQ(violations[0].type, "string_pattern_mismatch");
}

TEST(OpenApiValidatorTest, BookingTimeoutMustBeWithinRange) {
  const json* schema = JunctionValidator().RequestBodySchema(
      "POST", "/v3/order/{order_id}/phlebotomy/appointment/book");
  ASSERT_NE(schema, nullptr);
  const json loc_prefix = {"body"};
  json booking = {{"booking_key", "key-1"}, {"async_confirmation", true}};

  for (const json& acceptable : {json(1000), json(2500), json(10000), json(nullptr)}) {
    booking["sync_confirmation_timeout_millisecond"] = acceptable;
    EXPECT_TRUE(JunctionValidator().Validate(*schema, booking, loc_prefix).empty()) << acceptable;
  }

  booking["sync_confirmation_timeout_millisecond"] = 999;
  auto violations = JunctionValidator().Validate(*schema, booking, loc_prefix);
  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "sync_confirmation_timeout_millisecond"}));
  EXPECT_EQ(violations[0].type, "greater_than_equal");
  EXPECT_EQ(violations[0].msg, "Input should be greater than or equal to 1000");

  booking["sync_confirmation_timeout_millisecond"] = 10001;
  violations = JunctionValidator().Validate(*schema, booking, loc_prefix);
  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].type, "less_than_equal");
  EXPECT_EQ(violations[0].msg, "Input should be less than or equal to 10000");

  booking.erase("sync_confirmation_timeout_millisecond");
  booking.erase("booking_key");
  violations = JunctionValidator().Validate(*schema, booking, loc_prefix);
  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "booking_key"}));
  EXPECT_EQ(violations[0].type, "missing");
}

TEST(OpenApiValidatorTest, HugeStringInPatternFieldDoesNotCrash) {
  json body = ValidCreateOrderBody();
  body["patient_address"]["zip"] = std::string(100000, '1');

  auto violations = ValidateCreateOrder(body);

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "patient_address", "zip"}));
  EXPECT_EQ(violations[0].type, "string_too_long");
}

TEST(OpenApiValidatorTest, HugeStringInTimezonePatternDoesNotCrash) {
  json appointment = ValidAppointment();
  appointment["iana_timezone"] = std::string(100000, 'a');

  auto violations = JunctionValidator().Validate(AppointmentResponseSchema(), appointment, {});

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"iana_timezone"}));
  EXPECT_EQ(violations[0].type, "string_too_long");
}

TEST(OpenApiValidatorTest, DeepNestingInRealSchemaDoesNotCrash) {
  json body = ValidCreateOrderBody();
  body["patient_details"]["first_name"] = NestedArrays(20000);
  body["aoe_answers"] = NestedArrays(20000);

  auto violations = ValidateCreateOrder(body);

  EXPECT_TRUE(HasViolation(violations, {"body", "patient_details", "first_name"}, "string_type"))
      << AsJson(violations).dump(2);
  EXPECT_FALSE(violations.empty());
}

TEST(OpenApiValidatorTest, DeepNestingInRecursiveSchemaStopsAtDepthLimit) {
  OpenApiValidator validator = ValidatorWithExtraSchemas(
      {{"NestedList",
        {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/NestedList"}}}}}});
  const json schema = {{"$ref", "#/components/schemas/NestedList"}};

  EXPECT_TRUE(validator.Validate(schema, NestedArrays(10), {"body"}).empty());

  auto violations = validator.Validate(schema, NestedArrays(20000), {"body"});

  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].type, "value_error");
  EXPECT_EQ(violations[0].loc.front(), "body");
  EXPECT_GT(violations[0].loc.size(), 64u);
}

TEST(OpenApiValidatorTest, RefCycleWithoutProgressDoesNotLoop) {
  OpenApiValidator validator =
      ValidatorWithExtraSchemas({{"Ping", {{"$ref", "#/components/schemas/Pong"}}},
                                 {"Pong", {{"anyOf", {{{"$ref", "#/components/schemas/Ping"}}}}}}});

  auto violations =
      validator.Validate({{"$ref", "#/components/schemas/Ping"}}, json::object(), {"body"});

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].type, "value_error");
}

TEST(OpenApiValidatorTest, UnresolvableRefIsReportedNotIgnored) {
  auto violations = JunctionValidator().Validate({{"$ref", "#/components/schemas/NoSuchThing"}},
                                                 json::object(), {"body"});
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].type, "value_error");
}

TEST(OpenApiValidatorTest, AdditionalPropertiesFalseForbidsExtras) {
  const json schema = {{"type", "object"},
                       {"properties", {{"name", {{"type", "string"}}}}},
                       {"additionalProperties", false}};

  auto violations =
      JunctionValidator().Validate(schema, {{"name", "x"}, {"nickname", "y"}}, {"body"});

  ASSERT_EQ(violations.size(), 1u) << AsJson(violations).dump(2);
  EXPECT_EQ(violations[0].loc, json({"body", "nickname"}));
  EXPECT_EQ(violations[0].type, "extra_forbidden");
  EXPECT_EQ(violations[0].msg, "Extra inputs are not permitted");
}

TEST(OpenApiValidatorTest, PropertyNamesAndAdditionalPropertySchemasApply) {
  const json* schema = JunctionValidator().ResponseSchema("GET", "/v3/order/area/info", 200);
  ASSERT_NE(schema, nullptr);
  json area = {
      {"zip_code", "94107"},
      {"phlebotomy", {{"is_served", true}, {"providers", json::array()}}},
      {"central_labs",
       {{"quest",
         {{"patient_service_centers",
           {{"appointment_with_vital", true}, {"within_radius", 3}, {"radius", "25"}}},
          {"supported_bill_types", json::array()},
          {"lab_id", 1}}}}},
  };
  auto violations = JunctionValidator().Validate(*schema, area, json::array());
  EXPECT_TRUE(violations.empty()) << AsJson(violations).dump(2);

  area["central_labs"]["acme"] = area["central_labs"]["quest"];
  area["central_labs"]["quest"].erase("lab_id");
  violations = JunctionValidator().Validate(*schema, area, json::array());

  EXPECT_EQ(violations.size(), 2u) << AsJson(violations).dump(2);
  EXPECT_TRUE(HasViolation(violations, {"central_labs", "acme", "[key]"}, "enum"));
  EXPECT_TRUE(HasViolation(violations, {"central_labs", "quest", "lab_id"}, "missing"));
}

TEST(OpenApiValidatorTest, OneOfRequiresExactlyOneMatch) {
  const json schema = {{"oneOf", {{{"type", "integer"}}, {{"type", "number"}}}}};
  EXPECT_TRUE(JunctionValidator().Validate(schema, 1.5, {"body"}).empty());

  auto both = JunctionValidator().Validate(schema, 2, {"body"});
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0].type, "value_error");

  auto neither = JunctionValidator().Validate(schema, "two", {"body"});
  ASSERT_EQ(neither.size(), 1u);
  EXPECT_EQ(neither[0].loc, json({"body"}));
}

TEST(OpenApiValidatorTest, RequestBodySchemaAbsentForGetOrder) {
  EXPECT_EQ(JunctionValidator().RequestBodySchema("GET", "/v3/order/{order_id}"), nullptr);
  EXPECT_EQ(JunctionValidator().RequestBodySchema("POST", "/v3/no/such/path"), nullptr);
}

TEST(OpenApiValidatorTest, RequestBodySchemaMethodIsCaseInsensitive) {
  const json* upper = JunctionValidator().RequestBodySchema("POST", "/v3/order");
  const json* lower = JunctionValidator().RequestBodySchema("post", "/v3/order");
  ASSERT_NE(upper, nullptr);
  EXPECT_EQ(upper, lower);
  EXPECT_EQ(*upper, json({{"$ref", "#/components/schemas/CreateOrderRequestCompatible"}}));
  EXPECT_NE(JunctionValidator().RequestBodySchema(
                "PATCH", "/v3/order/{order_id}/phlebotomy/appointment/reschedule"),
            nullptr);
}

TEST(OpenApiValidatorTest, ResponseSchemaFoundForGetOrder) {
  const json* schema = JunctionValidator().ResponseSchema("GET", "/v3/order/{order_id}", 200);
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(*schema, json({{"$ref", "#/components/schemas/ClientFacingOrder"}}));
  EXPECT_NE(JunctionValidator().ResponseSchema("get", "/v3/order/{order_id}", 422), nullptr);
  EXPECT_EQ(JunctionValidator().ResponseSchema("GET", "/v3/order/{order_id}", 404), nullptr);
}

TEST(OpenApiValidatorTest, AppointmentResponseSampleValidates) {
  auto violations =
      JunctionValidator().Validate(AppointmentResponseSchema(), ValidAppointment(), json::array());
  EXPECT_TRUE(violations.empty()) << AsJson(violations).dump(2);
}

TEST(OpenApiValidatorTest, SpecOwnAppointmentExampleValidates) {
  const json& example =
      JunctionSpec()["components"]["schemas"]["ClientFacingAppointment"]["example"];
  auto violations =
      JunctionValidator().Validate(AppointmentResponseSchema(), example, json::array());
  EXPECT_TRUE(violations.empty()) << AsJson(violations).dump(2);
}

TEST(OpenApiValidatorTest, BrokenAppointmentResponseReported) {
  json appointment = ValidAppointment();
  appointment["location"]["lat"] = 91;
  appointment["status"] = "booked";
  appointment["start_at"] = "2030-01-02 25:00:00";
  appointment["events"][0].erase("created_at");
  appointment.erase("can_reschedule");

  auto violations =
      JunctionValidator().Validate(AppointmentResponseSchema(), appointment, json::array());

  EXPECT_EQ(violations.size(), 5u) << AsJson(violations).dump(2);
  EXPECT_TRUE(HasViolation(violations, {"location", "lat"}, "less_than_equal"));
  EXPECT_TRUE(HasViolation(violations, {"status"}, "enum"));
  EXPECT_TRUE(HasViolation(violations, {"start_at"}, "datetime_from_date_parsing"));
  EXPECT_TRUE(HasViolation(violations, {"events", 0, "created_at"}, "missing"));
  EXPECT_TRUE(HasViolation(violations, {"can_reschedule"}, "missing"));
}

TEST(OpenApiValidatorTest, ViolationSerializesLikeFastApiDetail) {
  SchemaViolation violation{{"body", "user_id"}, "Field required", "missing"};
  EXPECT_EQ(violation.ToJson(),
            json({{"loc", {"body", "user_id"}}, {"msg", "Field required"}, {"type", "missing"}}));
}

}  // namespace
}  // namespace lab_orders::sim
