#pragma once

// The patient service centers near a ZIP code (GET /v1/labs/venues): where a walk-in order's
// patient can have blood drawn. Junction's area info names the labs with centers near the ZIP;
// each lab's PSC info lists them. Public business addresses and hours: not PHI.

#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/junction/client.h"

namespace lab_orders::orders {

class Venues {
 public:
  explicit Venues(junction::JunctionClient& junction) : junction_(junction) {}

  // The radii Junction searches within, in miles.
  static bool IsAllowedRadius(int miles);

  // {"zip", "radius_miles", "venues": [{"site_code", "lab", "name", "address": {"line1", "line2",
  // "city", "state", "zip"}, "phone", "distance_miles", "hours", "capabilities",
  // "books_through_junction"}]}, nearest first. zip: 5 digits; radius_miles: IsAllowedRadius.
  // Throws the 502 AppError of a Junction failure.
  nlohmann::json Near(const std::string& zip, int radius_miles);

 private:
  junction::JunctionClient& junction_;
};

}  // namespace lab_orders::orders
