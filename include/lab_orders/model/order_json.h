#pragma once

// The order as the API shows it (the seed's 201 shape plus "appointment"): the one rendering,
// shared by the answers, the idempotent replays and the brand events.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lab_orders/model/order.h"

namespace lab_orders::model {

nlohmann::json OrderJson(const LabOrder& order);

// A string, or null.
nlohmann::json OptionalJson(const std::optional<std::string>& value);

// A patient service center's public address (a business's, not PHI) as the API shows it:
// {"line1", "line2", "city", "state", "zip"}.
nlohmann::json SiteAddressJson(const std::string& line1, const std::optional<std::string>& line2,
                               const std::string& city, const std::string& state,
                               const std::string& zip);
// The same on one line, "line1, line2, city, state zip"; nullopt without a first line.
std::optional<std::string> SiteAddressLine(const std::string& line1,
                                           const std::optional<std::string>& line2,
                                           const std::string& city, const std::string& state,
                                           const std::string& zip);

}  // namespace lab_orders::model
