// The lab's rules on a request's fields (Junction's order requirements): email, phone, date of
// birth, address, names, currency. On the fixture of request_validator_fixture.h.

#include "unit/orders/request_validator_fixture.h"

namespace lab_orders::orders {
namespace {

class RequestValidatorRulesTest : public RequestValidatorTest {};

// ---- the lab's rules: email ---------------------------------------------------------------------

TEST_F(RequestValidatorRulesTest, RefusesImplausibleEmails) {
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

TEST_F(RequestValidatorRulesTest, AcceptsPlausibleEmails) {
  for (const char* email : {"a@b.co", "first.last+tag@mail.example.co.uk", "o'neil@example.org",
                            "user@xn--bcher-kva.example"}) {
    json body = MinimalBody();
    body["patient"]["email"] = email;
    EXPECT_EQ(Accepted(body).patient.email, email);
  }
}

TEST_F(RequestValidatorRulesTest, RefusesEmailsLongerThanDeliverable) {
  json body = MinimalBody();
  body["patient"]["email"] = std::string(250, 'a') + "@example.com";
  EXPECT_THAT(RefusedLines(body), ElementsAre("/patient/email must be a valid email address"));
}

// ---- the lab's rules: phone ---------------------------------------------------------------------

TEST_F(RequestValidatorRulesTest, PhoneIsRequiredForABloodDraw) {
  json body = MinimalBody();
  body["patient"].erase("phone");
  EXPECT_THAT(RefusedLines(body), ElementsAre("/patient/phone is required for a blood draw"));
}

TEST_F(RequestValidatorRulesTest, NormalisesUsPhoneNumbersToE164) {
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

TEST_F(RequestValidatorRulesTest, RefusesPhonesThatAreNotTenUsDigits) {
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

TEST_F(RequestValidatorRulesTest, RefusesDatesOfBirthThatAreNotCalendarDates) {
  ExpectDobsRefused(
      {"1990-02-30", "1990-13-01", "1990-00-10", "1990-04-00", "2001-02-29", "1900-02-29",
       "1990-04-31", "-990-04-02", "1990-+4-02", "02/04/1990", "1990-2-4", "19900204",
       "1990-02-04T00:00:00Z", "0000-01-01", "yesterday", "1990-04-02 "},
      "/patient/dob must be a real date in YYYY-MM-DD form");
}

TEST_F(RequestValidatorRulesTest, AcceptsLeapDaysAndPatientsUpToAHundredAndTwenty) {
  // Today is 2025-06-15: someone born on 1904-06-16 is 120 until tomorrow.
  for (const char* dob : {"2004-02-29", "2000-02-29", "1904-06-16", "1905-06-15"}) {
    json body = MinimalBody();
    body["patient"]["dob"] = dob;
    EXPECT_EQ(Accepted(body).patient.dob, dob);
  }
}

// An older date is a slip of the keyboard (1800 for 1980), not a patient. Years before 1678 would
// underflow a nanosecond time_point.
TEST_F(RequestValidatorRulesTest, RefusesDatesOfBirthOverAHundredAndTwentyYearsAgo) {
  ExpectDobsRefused({"1904-06-15", "1900-01-01", "1800-01-01", "1600-02-29", "0001-01-01"},
                    "/patient/dob is too long ago: the patient would be over 120");
}

// A field the request does not have is refused by name (a misspelt optional field would
// otherwise be dropped in silence).
TEST_F(RequestValidatorRulesTest, RefusesUnknownTopLevelFieldsByName) {
  json body = MinimalBody();
  body["external_order"] = "o-1";
  body["collection"] = "walk_in";
  EXPECT_THAT(RefusedLines(body),
              ::testing::UnorderedElementsAre("/external_order is not a field of this request",
                                              "/collection is not a field of this request"));
}

TEST_F(RequestValidatorRulesTest, RefusesDatesOfBirthInTheFuture) {
  // 2262 onwards would overflow a nanosecond time_point.
  ExpectDobsRefused({"2025-06-16", "2030-01-01", "2262-04-12", "9999-12-31"},
                    "/patient/dob must not be in the future");
}

TEST_F(RequestValidatorRulesTest, RefusesPatientsUnderEighteen) {
  ExpectDobsRefused({"2025-06-15", "2015-01-01", "2007-06-16", "2007-12-31"},
                    "/patient/dob is too recent: the patient must be 18 or older");
}

TEST_F(RequestValidatorRulesTest, AcceptsAPatientOnTheirEighteenthBirthday) {
  json body = MinimalBody();
  body["patient"]["dob"] = "2007-06-15";
  EXPECT_EQ(Accepted(body).patient.dob, "2007-06-15");
}

TEST_F(RequestValidatorRulesTest, AgeFollowsTheClock) {
  json body = MinimalBody();
  body["patient"]["dob"] = "2007-06-16";
  EXPECT_THAT(Paths(Refused(body)), ElementsAre("/patient/dob"));
  clock_.Advance(24h);
  EXPECT_EQ(Accepted(body).patient.dob, "2007-06-16");
}

// Someone born on 29 February turns eighteen on 1 March of a common year.
TEST_F(RequestValidatorRulesTest, LeapDayBirthdayTurnsEighteenOnFirstMarch) {
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

TEST_F(RequestValidatorRulesTest, AcceptsFiveAndNineDigitZips) {
  for (const char* zip : {"85004", "00501", "85004-1234"}) {
    json body = MinimalBody();
    body["address"]["zip"] = zip;
    EXPECT_EQ(Accepted(body).address.zip, zip);
  }
}

TEST_F(RequestValidatorRulesTest, RefusesZipsOutsideTheUsPattern) {
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

TEST_F(RequestValidatorRulesTest, CountryMustBeExactlyUs) {
  for (const char* country : {"us", "USA", "CA", "United States", "U.S.", " US"}) {
    json body = MinimalBody();
    body["address"]["country"] = country;
    EXPECT_THAT(RefusedLines(body),
                ElementsAre("/address/country must be \"US\": the lab serves US addresses only"))
        << country;
  }
}

TEST_F(RequestValidatorRulesTest, AcceptsTheFiftyStatesAndDc) {
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

TEST_F(RequestValidatorRulesTest, UppercasesStateCodes) {
  for (const char* state : {"ca", "Ca", "cA"}) {
    json body = MinimalBody();
    body["address"]["state"] = state;
    EXPECT_EQ(Accepted(body).address.state, "CA") << state;
  }
}

TEST_F(RequestValidatorRulesTest, RefusesTerritoriesAndNonStates) {
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

TEST_F(RequestValidatorRulesTest, TransliteratesNamesInTheReturnedRequest) {
  json body = MinimalBody();
  body["patient"]["first_name"] = "Zoë";
  body["patient"]["last_name"] = "Straße";
  model::OrderRequest request = Accepted(body);
  EXPECT_EQ(request.patient.first_name, "Zoe");
  EXPECT_EQ(request.patient.last_name, "Strasse");
}

TEST_F(RequestValidatorRulesTest, RefusesNamesWithNothingPrintableLeft) {
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

TEST_F(RequestValidatorRulesTest, NamesMayBeFiftyCharactersOnceTransliterated) {
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

TEST_F(RequestValidatorRulesTest, CurrencyMustBeThreeCapitalLetters) {
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

}  // namespace
}  // namespace lab_orders::orders
