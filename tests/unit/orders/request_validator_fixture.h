#pragma once

// The request validator's unit-test fixture (request_validator_test.cpp,
// request_validator_rules_test.cpp): the OpenAPI document's request schema, a fixed clock, a
// minimal valid body. Each test file derives its own fixture class (gtest wants one fixture
// class per suite name).

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
#include "lab_orders/orders/request_validator.h"
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

inline std::chrono::system_clock::time_point MorningOf(std::chrono::year_month_day day) {
  return std::chrono::sys_days{day} + 10h;
}

// The schema the service validates with: the OpenAPI document's component.
inline const json& RequestSchema() { return http::LabOrderRequestSchema(); }

inline json MinimalBody() {
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

inline json FullBody() {
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
inline std::vector<std::string> StringsIn(const json& body) {
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

inline std::string Lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// "path message" lines: readable in failure output, comparable exactly.
inline std::vector<std::string> Lines(const std::vector<FieldViolation>& violations) {
  std::vector<std::string> lines;
  for (const FieldViolation& violation : violations) {
    lines.push_back(violation.path + " " + violation.message);
  }
  return lines;
}

inline std::vector<std::string> Paths(const std::vector<FieldViolation>& violations) {
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

}  // namespace
}  // namespace lab_orders::orders
