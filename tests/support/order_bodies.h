#pragma once

// A valid POST /v1/labs/orders body for tests that drive the workflow, with patient data that
// must never appear in a log, a database file or /metrics.

#include <nlohmann/json.hpp>
#include <string>

namespace lab_orders::testing {

// The patient's PHI, for tests that look for it where it must not be.
inline constexpr const char* kWorkflowPatientSecrets[] = {
    "Orsolya", "Quenneville", "orsolya.q@example.org", "6025550144", "1984-02-29", "Lincoln"};

inline nlohmann::json WorkflowOrderBody(const std::string& patient_id) {
  return {{"panel_slug", "wellness"},
          {"patient",
           {{"first_name", "Orsolya"},
            {"last_name", "Quenneville"},
            {"dob", "1984-02-29"},
            {"email", "orsolya.q@example.org"},
            {"phone", "602-555-0144"},
            {"sex", "female"}}},
          {"address",
           {{"line1", "1 West Lincoln Street"},
            {"city", "Phoenix"},
            {"state", "AZ"},
            {"zip", "85004"},
            {"country", "US"}}},
          {"patient_id", patient_id}};
}

}  // namespace lab_orders::testing
