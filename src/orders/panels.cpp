#include "lab_orders/orders/panels.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "lab_orders/common/config_error.h"

namespace lab_orders::orders {

PanelCatalog LoadPanels(const std::string& path, const std::vector<std::string>& required_slugs) {
  std::ifstream file(path);
  if (!file) throw ConfigError("LAB_ORDERS_PANELS: cannot read " + path);
  nlohmann::json document = nlohmann::json::parse(file, nullptr, false);
  if (document.is_discarded() || !document.is_object() || !document.contains("panels") ||
      !document["panels"].is_object()) {
    throw ConfigError("LAB_ORDERS_PANELS: " + path + " must hold {\"panels\": {slug: [ids]}}");
  }
  PanelCatalog catalog;
  for (const auto& [slug, ids] : document["panels"].items()) {
    if (!ids.is_array()) throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " needs a list");
    for (const auto& id : ids) {
      if (!id.is_string() || id.get<std::string>().empty()) {
        throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " has an id that is not a string");
      }
      catalog[slug].push_back(id.get<std::string>());
    }
  }
  for (const std::string& slug : required_slugs) {
    if (catalog[slug].empty()) {
      throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " has no Junction lab test id in " +
                        path);
    }
  }
  return catalog;
}

}  // namespace lab_orders::orders
