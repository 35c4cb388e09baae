#pragma once

// The service's own order model. Patient and address fields are PHI: they never reach a log,
// an error message or a metric, and they are encrypted at rest.

#include <cstdint>
#include <optional>
#include <string>

namespace lab_orders::orders {

struct Patient {
  std::string first_name;
  std::string last_name;
  std::string dob;  // YYYY-MM-DD
  std::string email;
  std::optional<std::string> phone;
  std::optional<std::string> sex;
};

struct Address {
  std::string line1;
  std::optional<std::string> line2;
  std::string city;
  std::string state;
  std::string zip;
  std::string country;
};

// A validated POST /v1/labs/orders body.
struct OrderRequest {
  std::string panel_slug;
  Patient patient;
  Address address;
  std::optional<std::int64_t> total_cents;
  std::optional<std::string> currency;
  std::optional<std::string> patient_id;
};

struct LabOrder {
  std::string id;
  std::string brand_id;
  std::string user_id;  // the token's sub
  std::optional<std::string> patient_id;
  std::string panel_slug;
  std::string status;  // received | ordered | appointment_pending | ... (CONTRACT §2)
  std::optional<std::int64_t> total_cents;
  std::optional<std::string> currency;
  std::optional<std::string> junction_user_id;
  std::optional<std::string> junction_order_id;
  std::string created_at;  // RFC 3339 UTC
  std::string updated_at;
  std::optional<std::string> completed_at;
  Patient patient;  // PHI
  Address address;  // PHI
};

}  // namespace lab_orders::orders
