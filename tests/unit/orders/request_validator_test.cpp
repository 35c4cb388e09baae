// The request validator (the schema, then the lab's rules; docs/contract.md: POST
// /v1/labs/orders): valid bodies, the schema's shape, bounds on size and depth, no patient data
// in a message, random bodies. The lab's field rules are in request_validator_rules_test.cpp.

#include "unit/orders/request_validator_fixture.h"

namespace lab_orders::orders {
namespace {

// ---- valid bodies ----------------------------------------------------------------------------

TEST_F(RequestValidatorTest, AcceptsMinimalBody) {
  model::OrderRequest request = Accepted(MinimalBody());
  EXPECT_EQ(request.panel_slug, "pcos");
  EXPECT_EQ(request.patient.first_name, "Ana");
  EXPECT_EQ(request.patient.last_name, "Lopez");
  EXPECT_EQ(request.patient.dob, "1990-04-02");
  EXPECT_EQ(request.patient.email, "ana@example.com");
  EXPECT_EQ(request.patient.phone, "+14155550100");
  EXPECT_EQ(request.patient.sex, std::nullopt);
  EXPECT_EQ(request.address.line1, "1 Main St");
  EXPECT_EQ(request.address.line2, std::nullopt);
  EXPECT_EQ(request.address.city, "Phoenix");
  EXPECT_EQ(request.address.state, "AZ");
  EXPECT_EQ(request.address.zip, "85004");
  EXPECT_EQ(request.address.country, "US");
  EXPECT_EQ(request.total_cents, std::nullopt);
  EXPECT_EQ(request.currency, std::nullopt);
  EXPECT_EQ(request.patient_id, std::nullopt);
}

TEST_F(RequestValidatorTest, AcceptsFullBodyAndNormalisesIt) {
  model::OrderRequest request = Accepted(FullBody());
  EXPECT_EQ(request.panel_slug, "hormone_metabolic");
  EXPECT_EQ(request.patient.first_name, "Jose Maria");
  EXPECT_EQ(request.patient.last_name, "O'Brien-Lukasiewicz");
  EXPECT_EQ(request.patient.dob, "1985-12-31");
  EXPECT_EQ(request.patient.email, "jose.maria+labs@mail.example.co.uk");
  EXPECT_EQ(request.patient.phone, "+12125550199");
  EXPECT_EQ(request.patient.sex, "Female");  // as given; JunctionGenderFor maps it
  EXPECT_EQ(request.address.line1, "350 Fifth Avenue");
  EXPECT_EQ(request.address.line2, "Suite 12");
  EXPECT_EQ(request.address.city, "New York");
  EXPECT_EQ(request.address.state, "NY");
  EXPECT_EQ(request.address.zip, "10118-0110");
  EXPECT_EQ(request.address.country, "US");
  EXPECT_EQ(request.total_cents, 18900);
  EXPECT_EQ(request.currency, "USD");
  EXPECT_EQ(request.patient_id, "pat_123");
  EXPECT_EQ(request.metadata,
            (std::map<std::string, std::string>{{"campaign", "spring"}, {"tags", "a,b"}}));
}

TEST_F(RequestValidatorTest, AcceptsNullForNullableFields) {
  json body = MinimalBody();
  body["total_cents"] = nullptr;
  body["currency"] = nullptr;
  body["patient_id"] = nullptr;
  model::OrderRequest request = Accepted(body);
  EXPECT_EQ(request.total_cents, std::nullopt);
  EXPECT_EQ(request.currency, std::nullopt);
  EXPECT_EQ(request.patient_id, std::nullopt);
}

TEST_F(RequestValidatorTest, KeepsTheBrandsExternalOrderIdAndMetadata) {
  json body = MinimalBody();
  body["external_order_id"] = "acme-1001";
  body["metadata"] = {{"campaign", "spring"}, {"clinic", std::string(500, 'x')}};
  model::OrderRequest request = Accepted(body);
  EXPECT_EQ(request.external_order_id, "acme-1001");
  EXPECT_EQ(request.metadata, (std::map<std::string, std::string>{
                                  {"campaign", "spring"}, {"clinic", std::string(500, 'x')}}));

  body["external_order_id"] = nullptr;
  body["metadata"] = nullptr;
  request = Accepted(body);
  EXPECT_EQ(request.external_order_id, std::nullopt);
  EXPECT_TRUE(request.metadata.empty());
}

TEST_F(RequestValidatorTest, BoundsTheExternalOrderIdAndMetadata) {
  json body = MinimalBody();
  body["external_order_id"] = std::string(256, 'a');
  EXPECT_THAT(RefusedLines(body), ElementsAre("/external_order_id must be at most 255 characters"));
  body["external_order_id"] = "";
  EXPECT_THAT(RefusedLines(body), ElementsAre("/external_order_id must not be empty"));
  body["external_order_id"] = 7;
  EXPECT_THAT(RefusedLines(body), ElementsAre("/external_order_id must be a string or null"));
  body.erase("external_order_id");

  body["metadata"] = {{"note", std::string(501, 'x')}};
  EXPECT_THAT(Paths(Refused(body)), ElementsAre("/metadata/note"));
  body["metadata"] = {{"note", 5}};
  EXPECT_THAT(Paths(Refused(body)), ElementsAre("/metadata/note"));
  body["metadata"] = {{std::string(41, 'k'), "v"}};
  EXPECT_THAT(RefusedLines(body), ElementsAre("/metadata keys must be 1 to 40 characters long"));
  body["metadata"] = {{"", "v"}};
  EXPECT_THAT(RefusedLines(body), ElementsAre("/metadata keys must be 1 to 40 characters long"));
  body["metadata"] = json::array();
  EXPECT_THAT(RefusedLines(body), ElementsAre("/metadata must be an object or null"));
  json many = json::object();
  for (int i = 0; i < 21; ++i) many["k" + std::to_string(i)] = "v";
  body["metadata"] = many;
  EXPECT_THAT(RefusedLines(body), ElementsAre("/metadata must have at most 20 keys"));
  many.erase("k0");
  body["metadata"] = many;
  EXPECT_EQ(Accepted(body).metadata.size(), 20u);
}

TEST_F(RequestValidatorTest, AcceptsEveryPanelSlugOfTheSchema) {
  for (const char* slug :
       {"hashimotos", "pcos", "fertility", "wellness", "hormone_metabolic", "performance"}) {
    json body = MinimalBody();
    body["panel_slug"] = slug;
    EXPECT_EQ(Accepted(body).panel_slug, slug);
  }
}

// ---- shape and schema --------------------------------------------------------------------------

TEST_F(RequestValidatorTest, RefusesBodiesThatAreNotObjects) {
  for (const json& body : {json::array(), json("text"), json(5), json(nullptr), json(true)}) {
    EXPECT_THAT(RefusedLines(body), ElementsAre(" must be a JSON object")) << body.type_name();
  }
}

TEST_F(RequestValidatorTest, ReportsMissingTopLevelPropertiesAtTheirOwnPointers) {
  EXPECT_THAT(RefusedLines(json::object()),
              UnorderedElementsAre("/panel_slug is required", "/patient is required",
                                   "/address is required"));
}

TEST_F(RequestValidatorTest, ReportsMissingNestedPropertiesAtTheirOwnPointers) {
  json body = MinimalBody();
  body["patient"] = json::object();
  body["address"] = json::object();
  EXPECT_THAT(RefusedLines(body),
              UnorderedElementsAre(
                  "/patient/first_name is required", "/patient/last_name is required",
                  "/patient/dob is required", "/patient/email is required",
                  "/patient/phone is required for a blood draw", "/address/line1 is required",
                  "/address/city is required", "/address/state is required",
                  "/address/zip is required", "/address/country is required"));
}

TEST_F(RequestValidatorTest, PanelSlugOfWrongTypeGetsOneTypeMessage) {
  json body = MinimalBody();
  body["panel_slug"] = 5;
  EXPECT_THAT(RefusedLines(body), ElementsAre("/panel_slug must be a string"));
}

TEST_F(RequestValidatorTest, UnknownPanelSlugListsTheKnownOnes) {
  json body = MinimalBody();
  body["panel_slug"] = "thyroid_deluxe";
  EXPECT_THAT(RefusedLines(body),
              ElementsAre("/panel_slug must be one of: hashimotos, pcos, fertility, wellness, "
                          "hormone_metabolic, performance"));
}

TEST_F(RequestValidatorTest, PatientAsArrayIsOneViolationWithNothingBeneathIt) {
  json body = MinimalBody();
  body["patient"] = json::array({"Ana", "Lopez"});
  EXPECT_THAT(RefusedLines(body), ElementsAre("/patient must be an object"));
}

TEST_F(RequestValidatorTest, AddressAsStringIsOneViolation) {
  json body = MinimalBody();
  body["address"] = "1 Main St, Phoenix AZ";
  EXPECT_THAT(RefusedLines(body), ElementsAre("/address must be an object"));
}

TEST_F(RequestValidatorTest, NegativeTotalCentsIsRefused) {
  json body = MinimalBody();
  body["total_cents"] = -1;
  EXPECT_THAT(RefusedLines(body), ElementsAre("/total_cents must be at least 0"));
}

TEST_F(RequestValidatorTest, FractionalOrTextTotalCentsIsRefused) {
  for (const json& total : {json(1.5), json("1500"), json(true), json::object()}) {
    json body = MinimalBody();
    body["total_cents"] = total;
    EXPECT_THAT(RefusedLines(body), ElementsAre("/total_cents must be an integer or null"))
        << total.type_name();
  }
}

// valijson reads integers as int64_t, so 2^64 - 1 would otherwise be judged as -1.
TEST_F(RequestValidatorTest, IntegersBeyondInt64AreRefusedAndInt64MaxAccepted) {
  json body = MinimalBody();
  body["total_cents"] = json::parse("18446744073709551615");
  EXPECT_THAT(RefusedLines(body), ElementsAre("/total_cents is too large"));
  body["total_cents"] = json::parse("9223372036854775808");
  EXPECT_THAT(RefusedLines(body), ElementsAre("/total_cents is too large"));
  body["total_cents"] = json::parse("9223372036854775807");
  EXPECT_EQ(Accepted(body).total_cents, 9223372036854775807LL);
}

TEST_F(RequestValidatorTest, WrongTypesInsidePatientAreEachReportedOnce) {
  json body = MinimalBody();
  body["patient"]["first_name"] = 7;
  body["patient"]["dob"] = json::array({1990, 4, 2});
  body["patient"]["phone"] = nullptr;
  EXPECT_THAT(RefusedLines(body), UnorderedElementsAre("/patient/first_name must be a string",
                                                       "/patient/dob must be a string",
                                                       "/patient/phone must be a string"));
}

// valijson 1.0's format check calls asString() on anything, and a one-element array passes for a
// string there: the validator must answer with a type error, not an exception.
TEST_F(RequestValidatorTest, EmailAsOneElementArrayIsATypeError) {
  for (const json& email : {json::array({1}), json::array({"ana@example.com"}), json(5),
                            json::object(), json(nullptr)}) {
    json body = MinimalBody();
    body["patient"]["email"] = email;
    EXPECT_THAT(RefusedLines(body), ElementsAre("/patient/email must be a string")) << email.dump();
  }
}

TEST_F(RequestValidatorTest, EmptyStringsGetTheSchemaMessageOnly) {
  json body = MinimalBody();
  body["patient"]["first_name"] = "";
  body["patient"]["phone"] = "";
  body["address"]["zip"] = "";
  EXPECT_THAT(RefusedLines(body), UnorderedElementsAre("/patient/first_name must not be empty",
                                                       "/patient/phone must not be empty",
                                                       "/address/zip must not be empty"));
}

TEST_F(RequestValidatorTest, CurrencyOutsideTheSchemaLengthsUsesTheSchemaMessage) {
  json body = MinimalBody();
  body["currency"] = "US";
  EXPECT_THAT(RefusedLines(body), ElementsAre("/currency must be at least 3 characters"));
  body["currency"] = "DOLLARSUS";
  EXPECT_THAT(RefusedLines(body), ElementsAre("/currency must be at most 8 characters"));
}

// Inside patient and address, members the schema does not name are left alone (the seed
// contract's objects are open); only the request's own fields are closed.
TEST_F(RequestValidatorTest, UnknownMembersOfPatientAndAddressAreIgnored) {
  json body = MinimalBody();
  body["patient"]["preferred_name"] = 42;
  body["address"]["gate_code"] = json::array({1, 2, 3});
  body["patient"]["nested"] = {{"deeper", {{"still", json::array({json::object()})}}}};
  EXPECT_EQ(Accepted(body).patient.first_name, "Ana");
}

TEST_F(RequestValidatorTest, ReportsSchemaAndLabViolationsAllAtOnce) {
  json body = {
      {"panel_slug", "thyroid"},
      {"patient",
       {{"first_name", "李"},
        {"dob", "2010-01-01"},
        {"email", "not-an-address"},
        {"phone", "12"},
        {"sex", 3}}},
      {"address",
       {{"line1", "1 Main St"},
        {"city", "Toronto"},
        {"state", "ON"},
        {"zip", "M5V 2T6"},
        {"country", "CA"}}},
      {"total_cents", -5},
      {"currency", "usd"},
      {"patient_id", ""},
  };
  EXPECT_THAT(Paths(Refused(body)),
              UnorderedElementsAre("/panel_slug", "/patient/first_name", "/patient/last_name",
                                   "/patient/dob", "/patient/email", "/patient/phone",
                                   "/patient/sex", "/address/state", "/address/zip",
                                   "/address/country", "/total_cents", "/currency", "/patient_id"));
}

// ---- bounds -------------------------------------------------------------------------------------

TEST_F(RequestValidatorTest, HugeFirstNameIsABoundViolationNotACrash) {
  json body = MinimalBody();
  body["patient"]["first_name"] = std::string(100000, 'A');
  EXPECT_THAT(RefusedLines(body),
              ElementsAre("/patient/first_name is longer than the 1024 characters allowed"));
}

// The zip would go through std::regex if the schema had its pattern; it never reaches valijson.
TEST_F(RequestValidatorTest, HugeZipIsABoundViolationNotACrash) {
  json body = MinimalBody();
  body["address"]["zip"] = std::string(100000, '9');
  EXPECT_THAT(RefusedLines(body),
              ElementsAre("/address/zip is longer than the 1024 characters allowed"));
}

TEST_F(RequestValidatorTest, EveryOverlongStringIsReportedTogether) {
  json body = MinimalBody();
  body["patient"]["email"] = std::string(5000, 'e');
  body["address"]["line1"] = std::string(5000, 'l');
  body["extra"] = json::array({"short", std::string(2000, 'x')});
  EXPECT_THAT(Paths(Refused(body)),
              UnorderedElementsAre("/patient/email", "/address/line1", "/extra/1"));
}

TEST_F(RequestValidatorTest, StringBoundCountsCodePointsNotBytes) {
  std::string accents;
  for (int i = 0; i < 1024; ++i) accents += "é";  // 2048 bytes
  json body = MinimalBody();
  body["address"]["line2"] = accents;
  EXPECT_EQ(Accepted(body).address.line2, accents);
  body["address"]["line2"] = accents + "é";
  EXPECT_THAT(RefusedLines(body),
              ElementsAre("/address/line2 is longer than the 1024 characters allowed"));
}

TEST_F(RequestValidatorTest, ObjectsWithTooManyMembersAreRefused) {
  json body = MinimalBody();
  body["patient"]["extra"] = json::object();
  for (int i = 0; i < 64; ++i) body["patient"]["extra"]["k" + std::to_string(i)] = i;
  EXPECT_EQ(Accepted(body).panel_slug, "pcos");
  body["patient"]["extra"]["one_more"] = true;
  EXPECT_THAT(RefusedLines(body),
              ElementsAre("/patient/extra has more than the 64 members allowed"));
}

TEST_F(RequestValidatorTest, OverlongMemberNamesAreReportedAtTheirObject) {
  json body = MinimalBody();
  body["patient"][std::string(2000, 'k')] = 1;
  EXPECT_THAT(RefusedLines(body),
              ElementsAre("/patient has a member name longer than the 1024 characters allowed"));
}

// Pointer tokens escape "~" and "/" (RFC 6901).
TEST_F(RequestValidatorTest, PointersEscapeTildeAndSlash) {
  json body = MinimalBody();
  body["a/b~c"] = std::string(1025, 'x');
  EXPECT_THAT(Paths(Refused(body)), ElementsAre("/a~1b~0c"));
}

json NestedObjects(int levels) {
  json root = json::object();
  json* innermost = &root;
  for (int level = 1; level < levels; ++level) innermost = &((*innermost)["a"] = json::object());
  return root;
}

std::string RepeatedToken(const std::string& token, int times) {
  std::string pointer;
  for (int i = 0; i < times; ++i) pointer += token;
  return pointer;
}

TEST_F(RequestValidatorTest, AcceptsNestingUpToTheLimit) {
  json body = MinimalBody();
  // The root is level 1 and patient level 2, so the innermost is level 16.
  body["patient"]["extra"] = NestedObjects(14);
  EXPECT_EQ(Accepted(body).panel_slug, "pcos");
}

TEST_F(RequestValidatorTest, ReportsTheFirstContainerBeyondTheLimit) {
  json body = MinimalBody();
  body["extra"] = NestedObjects(16);
  EXPECT_THAT(RefusedLines(body), ElementsAre("/extra" + RepeatedToken("/a", 15) +
                                              " is nested deeper than the 16 levels allowed"));
}

TEST_F(RequestValidatorTest, TenThousandNestedObjectsAreOneViolation) {
  json body = MinimalBody();
  body["extra"] = NestedObjects(10000);
  EXPECT_THAT(Paths(Refused(body)), ElementsAre("/extra" + RepeatedToken("/a", 15)));
}

TEST_F(RequestValidatorTest, TenThousandNestedArraysInPatientAreOneViolation) {
  json deep = json::array();
  json* innermost = &deep;
  for (int level = 1; level < 10000; ++level) {
    innermost->push_back(json::array());
    innermost = &innermost->back();
  }
  json body = MinimalBody();
  body["patient"]["first_name"] = std::move(deep);
  EXPECT_THAT(Paths(Refused(body)), ElementsAre("/patient/first_name" + RepeatedToken("/0", 14)));
}

TEST(RequestValidatorLimitsTest, HonoursConfiguredLimits) {
  lab_orders::testing::FakeClock clock(MorningOf(kToday));
  RequestValidator validator(
      RequestSchema(), clock,
      InputLimits{.max_depth = 3, .max_string_length = 12, .max_object_members = 5});
  json body = MinimalBody();
  auto outcome = validator.Validate(body);
  ASSERT_TRUE(std::holds_alternative<std::vector<FieldViolation>>(outcome));
  EXPECT_THAT(Lines(std::get<std::vector<FieldViolation>>(outcome)),
              ElementsAre("/patient/email is longer than the 12 characters allowed"));

  body["patient"]["email"] = "a@b.co";
  body["address"]["line2"] = "Apt 4";
  EXPECT_THAT(Lines(std::get<std::vector<FieldViolation>>(validator.Validate(body))),
              ElementsAre("/address has more than the 5 members allowed"));

  body["address"].erase("line2");
  body["extra"] = {{"level3", {{"level4", json::object()}}}};
  EXPECT_THAT(Lines(std::get<std::vector<FieldViolation>>(validator.Validate(body))),
              ElementsAre("/extra/level3/level4 is nested deeper than the 3 levels allowed"));
}

// ---- no PHI in messages -------------------------------------------------------------------------

TEST_F(RequestValidatorTest, NoMessageRepeatsASubmittedValue) {
  json body = {
      {"panel_slug", "zqx-panel"},
      {"patient",
       {{"first_name", std::string(60, 'Q') + "zqxfirst"},
        {"last_name", "\xe6\x9d\x8e"},
        {"dob", "zqx-dob"},
        {"email", "zqx-email-nowhere"},
        {"phone", "zqx-phone"},
        {"sex", "zqx-sex"}}},
      {"address",
       {{"line1", "zqx line1"},
        {"city", "zqx city"},
        {"state", "zqx-state"},
        {"zip", "zqx-zip"},
        {"country", "zqx-country"}}},
      {"total_cents", -123456789},
      {"currency", "zqxcur"},
      {"patient_id", "zqx-patient"},
  };
  std::vector<FieldViolation> violations = Refused(body);
  EXPECT_EQ(violations.size(), 11u) << ::testing::PrintToString(Lines(violations));
  for (const FieldViolation& violation : violations) {
    EXPECT_EQ(Lowercase(violation.message).find("zqx"), std::string::npos) << violation.path;
    EXPECT_EQ(violation.message.find("123456789"), std::string::npos) << violation.path;
    EXPECT_EQ(violation.message.find("QQQQ"), std::string::npos) << violation.path;
  }

  // Valid-looking but refused values: an under-age date, a foreign ZIP, a lowercase currency.
  json minor = MinimalBody();
  minor["patient"]["dob"] = "2011-11-11";
  minor["patient"]["phone"] = "555-0199";
  minor["address"]["zip"] = "SW1A 1AA";
  minor["currency"] = "gbp";
  for (const FieldViolation& violation : Refused(minor)) {
    for (const char* value : {"2011", "11-11", "0199", "SW1A", "gbp"}) {
      EXPECT_EQ(violation.message.find(value), std::string::npos) << violation.path;
    }
  }

  json huge = MinimalBody();
  huge["patient"]["first_name"] = RepeatedToken("zqx", 40000);
  for (const FieldViolation& violation : Refused(huge)) {
    EXPECT_EQ(violation.message.find("zqx"), std::string::npos);
  }
}

// ---- random bodies -----------------------------------------------------------------------------

// Replacement values that have tripped validators: wrong types, one-element arrays (valijson's
// format check), strings past the std::regex limit, non-ASCII, integers beyond int64_t.
std::vector<json> HostileValues() {
  return {
      json(nullptr),
      json(true),
      json(0),
      json(-1),
      json(1.5),
      json::parse("18446744073709551615"),
      json(""),
      json(" "),
      json("zqx-value"),
      json("zqx\xc3\xa9\xe6\x9d\x8e\xf0\x9f\x98\x80"),
      json(std::string(12000, 'z')),
      json(std::string(1025, 'q')),
      json::array(),
      json::array({"zqx-item"}),
      json::array({1}),
      json::object(),
      json{{"zqx-key", "zqx-nested"}},
      NestedObjects(40),
  };
}

TEST_F(RequestValidatorTest, SurvivesRandomlyMutatedBodies) {
  std::mt19937 random(20250615);
  const std::vector<json> values = HostileValues();
  for (int round = 0; round < 3000; ++round) {
    json body = FullBody();
    const int mutations = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < mutations; ++i) {
      const json leaves = body.flatten();  // named: items() of a temporary would dangle
      std::vector<json::json_pointer> pointers;
      for (const auto& [path, leaf] : leaves.items()) pointers.emplace_back(path);
      const json::json_pointer target = pointers[random() % pointers.size()];
      if (target.empty()) break;  // the body is an empty object
      switch (random() % 4) {
        case 0:  // replace a leaf
          body[target] = values[random() % values.size()];
          break;
        case 1:  // replace its parent object or array
          body[target.parent_pointer()] = values[random() % values.size()];
          break;
        case 2:  // remove it
          if (body.contains(target.parent_pointer()) && body[target.parent_pointer()].is_object()) {
            body[target.parent_pointer()].erase(target.back());
          }
          break;
        default:  // add an unknown member beside it
          if (body.contains(target.parent_pointer()) && body[target.parent_pointer()].is_object()) {
            body[target.parent_pointer()]["zqx_unknown"] = values[random() % values.size()];
          }
          break;
      }
      if (!body.is_object() || body.flatten().empty()) break;
    }
    std::variant<model::OrderRequest, std::vector<FieldViolation>> outcome;
    ASSERT_NO_THROW(outcome = validator_.Validate(body)) << "round " << round;
    const auto* violations = std::get_if<std::vector<FieldViolation>>(&outcome);
    if (violations == nullptr) continue;
    std::set<std::string> paths;
    for (const FieldViolation& violation : *violations) {
      EXPECT_TRUE(paths.insert(violation.path).second)
          << "round " << round << " " << violation.path;
      EXPECT_EQ(Lowercase(violation.message).find("zqx"), std::string::npos) << "round " << round;
      EXPECT_FALSE(violation.message.empty());
      // Every pointer names a value in the body, or a missing member of an object in it.
      if (!violation.path.empty()) {
        const json::json_pointer pointer(violation.path);
        EXPECT_TRUE(body.contains(pointer) || body.contains(pointer.parent_pointer()))
            << "round " << round << " " << violation.path;
      }
    }
  }
}

}  // namespace
}  // namespace lab_orders::orders
