#include "lab_orders/orders/request_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lab_orders/http/openapi_document.h"
#include "support/fakes.h"

namespace lab_orders::orders {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;

// The fixture's clock reads 2025-06-15T10:00:00Z.
constexpr std::chrono::year_month_day kToday{std::chrono::year{2025}, std::chrono::June,
                                             std::chrono::day{15}};

std::chrono::system_clock::time_point MorningOf(std::chrono::year_month_day day) {
  return std::chrono::sys_days{day} + 10h;
}

// The schema the service validates with: the OpenAPI document's component.
const json& RequestSchema() { return http::LabOrderRequestSchema(); }

json MinimalBody() {
  return {
      {"panel_slug", "pcos"},
      {"patient",
       {{"first_name", "Ana"},
        {"last_name", "Lopez"},
        {"dob", "1990-04-02"},
        {"email", "ana@example.com"},
        {"phone", "415-555-0100"}}},
      {"address",
       {{"line1", "1 Main St"},
        {"city", "Phoenix"},
        {"state", "AZ"},
        {"zip", "85004"},
        {"country", "US"}}},
  };
}

json FullBody() {
  return {
      {"panel_slug", "hormone_metabolic"},
      {"patient",
       {{"first_name", "José  María"},
        {"last_name", "O’Brien-Łukasiewicz"},
        {"dob", "1985-12-31"},
        {"email", "jose.maria+labs@mail.example.co.uk"},
        {"phone", "+1 (212) 555.0199"},
        {"sex", "Female"},
        {"middle_name", "unknown fields are ignored"}}},
      {"address",
       {{"line1", "350 Fifth Avenue"},
        {"line2", "Suite 12"},
        {"city", "New York"},
        {"state", "ny"},
        {"zip", "10118-0110"},
        {"country", "US"},
        {"access_notes", "ring twice"}}},
      {"total_cents", 18900},
      {"currency", "USD"},
      {"patient_id", "pat_123"},
      {"metadata", {{"campaign", "spring"}, {"tags", "a,b"}}},
  };
}

// Every string in a body (iteratively: some bodies nest 10 000 deep).
std::vector<std::string> StringsIn(const json& body) {
  std::vector<std::string> strings;
  std::vector<const json*> pending{&body};
  while (!pending.empty()) {
    const json* value = pending.back();
    pending.pop_back();
    if (value->is_string()) strings.push_back(value->get<std::string>());
    if (value->is_structured()) {
      for (const json& child : *value) pending.push_back(&child);
    }
  }
  return strings;
}

std::string Lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// "path message" lines: readable in failure output, comparable exactly.
std::vector<std::string> Lines(const std::vector<FieldViolation>& violations) {
  std::vector<std::string> lines;
  for (const FieldViolation& violation : violations) {
    lines.push_back(violation.path + " " + violation.message);
  }
  return lines;
}

std::vector<std::string> Paths(const std::vector<FieldViolation>& violations) {
  std::vector<std::string> paths;
  for (const FieldViolation& violation : violations) paths.push_back(violation.path);
  return paths;
}

class RequestValidatorTest : public ::testing::Test {
 protected:
  RequestValidatorTest() : clock_(MorningOf(kToday)), validator_(RequestSchema(), clock_) {}

  model::OrderRequest Accepted(const json& body) { return AcceptedBy(validator_, body); }

  static model::OrderRequest AcceptedBy(const RequestValidator& validator, const json& body) {
    auto outcome = validator.Validate(body);
    if (auto* violations = std::get_if<std::vector<FieldViolation>>(&outcome)) {
      ADD_FAILURE() << "refused: " << ::testing::PrintToString(Lines(*violations));
      return {};
    }
    return std::get<model::OrderRequest>(outcome);
  }

  // The violations for a body that must be refused. Checks what holds for every refusal: each
  // path appears once, and no message repeats a value from the body (values may be PHI).
  std::vector<FieldViolation> Refused(const json& body) { return RefusedBy(validator_, body); }

  static std::vector<FieldViolation> RefusedBy(const RequestValidator& validator,
                                               const json& body) {
    auto outcome = validator.Validate(body);
    if (!std::holds_alternative<std::vector<FieldViolation>>(outcome)) {
      ADD_FAILURE() << "accepted a body that should be refused";
      return {};
    }
    auto violations = std::get<std::vector<FieldViolation>>(outcome);
    EXPECT_FALSE(violations.empty());
    std::vector<std::string> paths = Paths(violations);
    EXPECT_EQ(std::set<std::string>(paths.begin(), paths.end()).size(), paths.size())
        << ::testing::PrintToString(Lines(violations));
    for (const std::string& value : StringsIn(body)) {
      if (value.size() < 6) continue;  // short values ("US", "pcos") are common words
      for (const FieldViolation& violation : violations) {
        EXPECT_EQ(Lowercase(violation.message).find(Lowercase(value)), std::string::npos)
            << "message at " << violation.path << " repeats a submitted value";
      }
    }
    return violations;
  }

  std::vector<std::string> RefusedLines(const json& body) { return Lines(Refused(body)); }
  // Each date of birth, in an otherwise valid body, is refused with this one line.
  void ExpectDobsRefused(std::initializer_list<const char*> dobs, const std::string& line) {
    for (const char* dob : dobs) {
      json body = MinimalBody();
      body["patient"]["dob"] = dob;
      EXPECT_THAT(RefusedLines(body), ::testing::ElementsAre(line)) << dob;
    }
  }

  lab_orders::testing::FakeClock clock_;
  RequestValidator validator_;
};

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

// ---- the lab's rules: email ---------------------------------------------------------------------

TEST_F(RequestValidatorTest, RefusesImplausibleEmails) {
  for (const char* email :
       {"", "no-at-sign.example.com", "two@@example.com", "a@b@example.com", "@example.com",
        "ana@localhost", "ana @example.com", "ana@example.com ", "ana@.example.com", "ana@example.",
        "ana@exa..mple.com", "ana@", "ana\t@example.com"}) {
    json body = MinimalBody();
    body["patient"]["email"] = email;
    EXPECT_THAT(RefusedLines(body), ElementsAre("/patient/email must be a valid email address"))
        << email;
  }
}

TEST_F(RequestValidatorTest, AcceptsPlausibleEmails) {
  for (const char* email : {"a@b.co", "first.last+tag@mail.example.co.uk", "o'neil@example.org",
                            "user@xn--bcher-kva.example"}) {
    json body = MinimalBody();
    body["patient"]["email"] = email;
    EXPECT_EQ(Accepted(body).patient.email, email);
  }
}

TEST_F(RequestValidatorTest, RefusesEmailsLongerThanDeliverable) {
  json body = MinimalBody();
  body["patient"]["email"] = std::string(250, 'a') + "@example.com";
  EXPECT_THAT(RefusedLines(body), ElementsAre("/patient/email must be a valid email address"));
}

// ---- the lab's rules: phone ---------------------------------------------------------------------

TEST_F(RequestValidatorTest, PhoneIsRequiredForABloodDraw) {
  json body = MinimalBody();
  body["patient"].erase("phone");
  EXPECT_THAT(RefusedLines(body), ElementsAre("/patient/phone is required for a blood draw"));
}

TEST_F(RequestValidatorTest, NormalisesUsPhoneNumbersToE164) {
  for (const char* phone :
       {"4155550100", "415-555-0100", "(415) 555-0100", "415.555.0100", "+1 415 555 0100",
        "1-415-555-0100", "14155550100", "+14155550100", "+1 (415) 555-0100", " 415 555 0100 "}) {
    json body = MinimalBody();
    body["patient"]["phone"] = phone;
    EXPECT_EQ(Accepted(body).patient.phone, "+14155550100") << phone;
  }
  json body = MinimalBody();
  body["patient"]["phone"] = "+11234567890";  // Junction's documented example number
  EXPECT_EQ(Accepted(body).patient.phone, "+11234567890");
}

TEST_F(RequestValidatorTest, RefusesPhonesThatAreNotTenUsDigits) {
  for (const char* phone :
       {"415555010", "41555501000", "24155550100", "+2 415 555 0100", "+44 20 7946 0958",
        "+4155550100", "415-555-0100 x12", "415/555/0100", "++14155550100", "4155550100+",
        "1+4155550100", "tel:4155550100", "\xef\xbc\x94\xef\xbc\x91\xef\xbc\x95 555 0100"}) {
    json body = MinimalBody();
    body["patient"]["phone"] = phone;
    EXPECT_THAT(RefusedLines(body),
                ElementsAre("/patient/phone must be a 10-digit US phone number"))
        << phone;
  }
}

// ---- the lab's rules: date of birth -------------------------------------------------------------

TEST_F(RequestValidatorTest, RefusesDatesOfBirthThatAreNotCalendarDates) {
  ExpectDobsRefused(
      {"1990-02-30", "1990-13-01", "1990-00-10", "1990-04-00", "2001-02-29", "1900-02-29",
       "1990-04-31", "-990-04-02", "1990-+4-02", "02/04/1990", "1990-2-4", "19900204",
       "1990-02-04T00:00:00Z", "0000-01-01", "yesterday", "1990-04-02 "},
      "/patient/dob must be a real date in YYYY-MM-DD form");
}

TEST_F(RequestValidatorTest, AcceptsLeapDaysAndPatientsUpToAHundredAndTwenty) {
  // Today is 2025-06-15: someone born on 1904-06-16 is 120 until tomorrow.
  for (const char* dob : {"2004-02-29", "2000-02-29", "1904-06-16", "1905-06-15"}) {
    json body = MinimalBody();
    body["patient"]["dob"] = dob;
    EXPECT_EQ(Accepted(body).patient.dob, dob);
  }
}

// An older date is a slip of the keyboard (1800 for 1980), not a patient. Years before 1678 would
// underflow a nanosecond time_point.
TEST_F(RequestValidatorTest, RefusesDatesOfBirthOverAHundredAndTwentyYearsAgo) {
  ExpectDobsRefused({"1904-06-15", "1900-01-01", "1800-01-01", "1600-02-29", "0001-01-01"},
                    "/patient/dob is too long ago: the patient would be over 120");
}

// A field the request does not have is refused by name (a misspelt optional field would
// otherwise be dropped in silence).
TEST_F(RequestValidatorTest, RefusesUnknownTopLevelFieldsByName) {
  json body = MinimalBody();
  body["external_order"] = "o-1";
  body["collection"] = "walk_in";
  EXPECT_THAT(RefusedLines(body),
              ::testing::UnorderedElementsAre("/external_order is not a field of this request",
                                              "/collection is not a field of this request"));
}

TEST_F(RequestValidatorTest, RefusesDatesOfBirthInTheFuture) {
  // 2262 onwards would overflow a nanosecond time_point.
  ExpectDobsRefused({"2025-06-16", "2030-01-01", "2262-04-12", "9999-12-31"},
                    "/patient/dob must not be in the future");
}

TEST_F(RequestValidatorTest, RefusesPatientsUnderEighteen) {
  ExpectDobsRefused({"2025-06-15", "2015-01-01", "2007-06-16", "2007-12-31"},
                    "/patient/dob is too recent: the patient must be 18 or older");
}

TEST_F(RequestValidatorTest, AcceptsAPatientOnTheirEighteenthBirthday) {
  json body = MinimalBody();
  body["patient"]["dob"] = "2007-06-15";
  EXPECT_EQ(Accepted(body).patient.dob, "2007-06-15");
}

TEST_F(RequestValidatorTest, AgeFollowsTheClock) {
  json body = MinimalBody();
  body["patient"]["dob"] = "2007-06-16";
  EXPECT_THAT(Paths(Refused(body)), ElementsAre("/patient/dob"));
  clock_.Advance(24h);
  EXPECT_EQ(Accepted(body).patient.dob, "2007-06-16");
}

// Someone born on 29 February turns eighteen on 1 March of a common year.
TEST_F(RequestValidatorTest, LeapDayBirthdayTurnsEighteenOnFirstMarch) {
  lab_orders::testing::FakeClock clock(
      MorningOf({std::chrono::year{2026}, std::chrono::February, std::chrono::day{28}}));
  RequestValidator validator(RequestSchema(), clock);
  json body = MinimalBody();
  body["patient"]["dob"] = "2008-02-29";
  EXPECT_THAT(Paths(RefusedBy(validator, body)), ElementsAre("/patient/dob"));
  clock.Advance(24h);
  EXPECT_EQ(AcceptedBy(validator, body).patient.dob, "2008-02-29");
}

// ---- the lab's rules: address -------------------------------------------------------------------

TEST_F(RequestValidatorTest, AcceptsFiveAndNineDigitZips) {
  for (const char* zip : {"85004", "00501", "85004-1234"}) {
    json body = MinimalBody();
    body["address"]["zip"] = zip;
    EXPECT_EQ(Accepted(body).address.zip, zip);
  }
}

TEST_F(RequestValidatorTest, RefusesZipsOutsideTheUsPattern) {
  for (const char* zip : {"8500", "850041", "85004-123", "85004 1234", "85004-12345", "ABCDE",
                          "8500A", " 85004", "85004-", "85004\n", "850041234", "M5V 2T6",
                          "\xef\xbc\x98\xef\xbc\x95\xef\xbc\x90\xef\xbc\x90\xef\xbc\x94"}) {
    json body = MinimalBody();
    body["address"]["zip"] = zip;
    EXPECT_THAT(RefusedLines(body),
                ElementsAre("/address/zip must be a US ZIP code: 5 digits, or 5 digits, a dash "
                            "and 4"))
        << zip;
  }
}

TEST_F(RequestValidatorTest, CountryMustBeExactlyUs) {
  for (const char* country : {"us", "USA", "CA", "United States", "U.S.", " US"}) {
    json body = MinimalBody();
    body["address"]["country"] = country;
    EXPECT_THAT(RefusedLines(body),
                ElementsAre("/address/country must be \"US\": the lab serves US addresses only"))
        << country;
  }
}

TEST_F(RequestValidatorTest, AcceptsTheFiftyStatesAndDc) {
  const std::vector<std::string> states = {
      "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID",
      "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO",
      "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA",
      "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"};
  ASSERT_EQ(states.size(), 51u);
  for (const std::string& state : states) {
    json body = MinimalBody();
    body["address"]["state"] = state;
    EXPECT_EQ(Accepted(body).address.state, state);
  }
}

TEST_F(RequestValidatorTest, UppercasesStateCodes) {
  for (const char* state : {"ca", "Ca", "cA"}) {
    json body = MinimalBody();
    body["address"]["state"] = state;
    EXPECT_EQ(Accepted(body).address.state, "CA") << state;
  }
}

TEST_F(RequestValidatorTest, RefusesTerritoriesAndNonStates) {
  for (const char* state : {"PR", "GU", "VI", "AS", "MP", "XX", "C", "CAL", "C1", "California",
                            "\xc3\x87"
                            "A",
                            "ON"}) {
    json body = MinimalBody();
    body["address"]["state"] = state;
    EXPECT_THAT(RefusedLines(body),
                ElementsAre("/address/state must be a US state code such as CA (the 50 states "
                            "and DC)"))
        << state;
  }
}

// ---- the lab's rules: names ---------------------------------------------------------------------

TEST_F(RequestValidatorTest, TransliteratesNamesInTheReturnedRequest) {
  json body = MinimalBody();
  body["patient"]["first_name"] = "Zoë";
  body["patient"]["last_name"] = "Straße";
  model::OrderRequest request = Accepted(body);
  EXPECT_EQ(request.patient.first_name, "Zoe");
  EXPECT_EQ(request.patient.last_name, "Strasse");
}

TEST_F(RequestValidatorTest, RefusesNamesWithNothingPrintableLeft) {
  for (const char* name :
       {"   ", "李小龍", "\xf0\x9f\x98\x80", "\xe2\x80\x94", "!!!", "\xcc\x81"}) {
    json body = MinimalBody();
    body["patient"]["first_name"] = name;
    body["patient"]["last_name"] = name;
    EXPECT_THAT(RefusedLines(body),
                UnorderedElementsAre("/patient/first_name has no characters the lab can print",
                                     "/patient/last_name has no characters the lab can print"))
        << name;
  }
}

TEST_F(RequestValidatorTest, NamesMayBeFiftyCharactersOnceTransliterated) {
  json body = MinimalBody();
  body["patient"]["last_name"] = std::string(50, 'a');
  EXPECT_EQ(Accepted(body).patient.last_name, std::string(50, 'a'));

  body["patient"]["last_name"] = std::string(51, 'a');
  EXPECT_THAT(RefusedLines(body),
              ElementsAre("/patient/last_name must be at most 50 characters once written in "
                          "ASCII letters"));

  // 30 code points, 60 letters once æ becomes ae.
  std::string ligatures;
  for (int i = 0; i < 30; ++i) ligatures += "æ";
  body["patient"]["last_name"] = ligatures;
  EXPECT_THAT(Paths(Refused(body)), ElementsAre("/patient/last_name"));
}

// ---- the lab's rules: currency ------------------------------------------------------------------

TEST_F(RequestValidatorTest, CurrencyMustBeThreeCapitalLetters) {
  for (const char* currency : {"USD", "EUR"}) {
    json body = MinimalBody();
    body["currency"] = currency;
    EXPECT_EQ(Accepted(body).currency, currency);
  }
  for (const char* currency : {"usd", "Usd", "USDX", "U$D", "12A", "US D"}) {
    json body = MinimalBody();
    body["currency"] = currency;
    EXPECT_THAT(RefusedLines(body),
                ElementsAre("/currency must be a three-letter ISO 4217 code in capitals, such as "
                            "USD"))
        << currency;
  }
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

// ---- TransliterateName --------------------------------------------------------------------------

TEST(TransliterateNameTest, KeepsWhatTheLabCanPrint) {
  EXPECT_EQ(TransliterateName("Ana"), "Ana");
  EXPECT_EQ(TransliterateName("Smith-Jones, Jr."), "Smith-Jones, Jr.");
  EXPECT_EQ(TransliterateName("O'Neil"), "O'Neil");
  EXPECT_EQ(TransliterateName("Henry 8th"), "Henry 8th");
}

TEST(TransliterateNameTest, StripsAccentsFromCommonNames) {
  EXPECT_EQ(TransliterateName("José"), "Jose");
  EXPECT_EQ(TransliterateName("Zoë"), "Zoe");
  EXPECT_EQ(TransliterateName("Łukasz"), "Lukasz");
  EXPECT_EQ(TransliterateName("Françoise"), "Francoise");
  EXPECT_EQ(TransliterateName("Müller"), "Muller");
  EXPECT_EQ(TransliterateName("Ñúñez"), "Nunez");
  EXPECT_EQ(TransliterateName("Søren Ångström"), "Soren Angstrom");
  EXPECT_EQ(TransliterateName("Dvořák"), "Dvorak");
  EXPECT_EQ(TransliterateName("Ștefan Țurcan"), "Stefan Turcan");
}

TEST(TransliterateNameTest, MapsLatin1LowercaseLetters) {
  EXPECT_EQ(TransliterateName("á à â ä ã å æ ç é è ê ë í ì î ï ñ ó ò ô ö õ ø œ ß ú ù û ü ý ÿ"),
            "a a a a a a ae c e e e e i i i i n o o o o o o oe ss u u u u y y");
}

TEST(TransliterateNameTest, MapsLatin1UppercaseLetters) {
  EXPECT_EQ(TransliterateName("Á À Â Ä Ã Å Æ Ç É È Ê Ë Í Ì Î Ï Ñ Ó Ò Ô Ö Õ Ø Œ Ú Ù Û Ü Ý Ÿ"),
            "A A A A A A AE C E E E E I I I I N O O O O O O OE U U U U Y Y");
}

TEST(TransliterateNameTest, MapsLatinExtendedALetters) {
  EXPECT_EQ(TransliterateName("Ł ł Ś ś Ź ź Ż ż Ć ć Ń ń Ę ę Ą ą Š š Ž ž Č č Ř ř Ď ď Ť ť Ň ň"),
            "L l S s Z z Z z C c N n E e A a S s Z z C c R r D d T t N n");
  EXPECT_EQ(TransliterateName("Ő ő Ű ű Ğ ğ İ ı Ş ş Ā ā Ē ē Ū ū Ĳ ĳ Đ đ"),
            "O o U u G g I i S s A a E e U u IJ ij D d");
}

TEST(TransliterateNameTest, TurnsTypographicPunctuationIntoAscii) {
  EXPECT_EQ(TransliterateName("D’Angelo"), "D'Angelo");
  EXPECT_EQ(TransliterateName("O‘Neil"), "O'Neil");
  EXPECT_EQ(TransliterateName("Mary–Kate"), "Mary-Kate");
  EXPECT_EQ(TransliterateName("O`Brien"), "O'Brien");
}

TEST(TransliterateNameTest, DropsCombiningAccentsOfDecomposedText) {
  EXPECT_EQ(TransliterateName("Jose\xcc\x81"), "Jose");  // e + U+0301
}

TEST(TransliterateNameTest, CollapsesAndTrimsSpaces) {
  EXPECT_EQ(TransliterateName("  Mary   Ann  "), "Mary Ann");
  EXPECT_EQ(TransliterateName("Mary\tAnn\n"), "Mary Ann");
  EXPECT_EQ(TransliterateName("Mary\xc2\xa0"
                              "Ann"),
            "Mary Ann");  // no-break space
  EXPECT_EQ(TransliterateName("Zoë 😀 Smith"), "Zoe Smith");
}

TEST(TransliterateNameTest, DropsWhatItCannotPrint) {
  EXPECT_EQ(TransliterateName("Anne!"), "Anne");
  EXPECT_EQ(TransliterateName("a_b@c"), "abc");
  EXPECT_EQ(TransliterateName("李小龍"), "");
  EXPECT_EQ(TransliterateName("   "), "");
  EXPECT_EQ(TransliterateName(""), "");
  EXPECT_EQ(TransliterateName("×÷"), "");
}

TEST(TransliterateNameTest, DropsMalformedUtf8) {
  EXPECT_EQ(TransliterateName("Jo\xffse"), "Jose");
  EXPECT_EQ(TransliterateName("Jos\xc3"), "Jos");  // truncated
  EXPECT_EQ(TransliterateName("A\xc0\xa0"
                              "B"),
            "AB");  // overlong encoding of a space
  EXPECT_EQ(TransliterateName("A\xed\xa0\x80"
                              "B"),
            "AB");  // a UTF-16 surrogate
  EXPECT_EQ(TransliterateName("\x80\x80"
                              "Ana"),
            "Ana");  // stray continuation bytes
}

}  // namespace
}  // namespace lab_orders::orders
