#pragma once

#include <map>
#include <string>
#include <vector>

namespace lab_orders::orders {

// What the service orders for a panel_slug, and how its blood may be drawn.
struct Panel {
  std::vector<std::string> lab_test_ids;  // Junction's
  // The channels the panel is offered on (model::kAtHome, kWalkIn, kTestkit), in the order listed.
  std::vector<std::string> collection_methods;
  // The patient must fast before the draw: a home visit is booked only in the morning.
  bool fasting = false;
  // What the patient reads on the booking page ("PCOS panel"); the slug when not given.
  std::string display_name{};

  bool Offers(const std::string& collection_method) const;
};

using PanelCatalog = std::map<std::string, Panel>;

// Reads config/panels.json: {"panels": {"pcos": {"lab_test_ids": ["<id>", ...],
// "collection_methods": ["at_home_phlebotomy", "walk_in"], "fasting": false, "display_name":
// "PCOS panel"}, ...}}. A panel given
// as a bare list of ids (the older form) is offered at home only. Every slug in required_slugs must
// be mapped to at least one id and one channel: throws ConfigError naming the first that is not.
PanelCatalog LoadPanels(const std::string& path, const std::vector<std::string>& required_slugs);

}  // namespace lab_orders::orders
