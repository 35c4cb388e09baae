#include "lab_orders/orders/panels.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lab_orders/common/config_error.h"
#include "lab_orders/model/order.h"

namespace lab_orders::orders {
namespace {

using nlohmann::json;

std::vector<std::string> Strings(const json& list, const std::string& slug, const char* what) {
  if (!list.is_array()) {
    throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " needs a list of " + what);
  }
  std::vector<std::string> strings;
  for (const auto& item : list) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " has " + what +
                        " that are not strings");
    }
    strings.push_back(item.get<std::string>());
  }
  return strings;
}

Panel ReadPanel(const std::string& slug, const json& entry) {
  Panel panel;
  if (entry.is_array()) {  // the older form: ids alone, drawn at home
    panel.lab_test_ids = Strings(entry, slug, "lab test ids");
    panel.collection_methods = {model::kAtHome};
    panel.display_name = slug;
    return panel;
  }
  if (!entry.is_object()) {
    throw ConfigError("LAB_ORDERS_PANELS: panel " + slug +
                      " must be {\"lab_test_ids\": [...], \"collection_methods\": [...]}");
  }
  for (const auto& [field, value] : entry.items()) {
    if (field != "lab_test_ids" && field != "collection_methods" && field != "fasting" &&
        field != "display_name" && field != "comment") {
      throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " has an unknown field " + field);
    }
  }
  panel.lab_test_ids = Strings(entry.value("lab_test_ids", json::array()), slug, "lab test ids");
  panel.collection_methods = Strings(
      entry.value("collection_methods", json::array({model::kAtHome})), slug, "collection methods");
  const json fasting = entry.value("fasting", json(false));
  if (!fasting.is_boolean()) {
    throw ConfigError("LAB_ORDERS_PANELS: panel " + slug +
                      " has a fasting that is not true or false");
  }
  panel.fasting = fasting.get<bool>();
  const json display_name = entry.value("display_name", json(slug));
  if (!display_name.is_string() || display_name.get<std::string>().empty() ||
      display_name.get<std::string>().size() > 100) {
    throw ConfigError("LAB_ORDERS_PANELS: panel " + slug +
                      " has a display_name that is not a text of 1 to 100 characters");
  }
  panel.display_name = display_name.get<std::string>();
  for (const std::string& method : panel.collection_methods) {
    if (method != model::kAtHome && method != model::kWalkIn && method != model::kTestkit) {
      throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " has collection method " + method +
                        " (at_home_phlebotomy, walk_in or testkit)");
    }
  }
  return panel;
}

}  // namespace

bool Panel::Offers(const std::string& collection_method) const {
  return std::find(collection_methods.begin(), collection_methods.end(), collection_method) !=
         collection_methods.end();
}

PanelCatalog LoadPanels(const std::string& path, const std::vector<std::string>& required_slugs) {
  std::ifstream file(path);
  if (!file) throw ConfigError("LAB_ORDERS_PANELS: cannot read " + path);
  json document = json::parse(file, nullptr, false);
  if (document.is_discarded() || !document.is_object() || !document.contains("panels") ||
      !document["panels"].is_object()) {
    throw ConfigError("LAB_ORDERS_PANELS: " + path + " must hold {\"panels\": {slug: panel}}");
  }
  PanelCatalog catalog;
  for (const auto& [slug, entry] : document["panels"].items()) {
    catalog[slug] = ReadPanel(slug, entry);
  }
  for (const std::string& slug : required_slugs) {
    const Panel& panel = catalog[slug];
    if (panel.lab_test_ids.empty()) {
      throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " has no Junction lab test id in " +
                        path);
    }
    if (panel.collection_methods.empty()) {
      throw ConfigError("LAB_ORDERS_PANELS: panel " + slug + " has no collection method in " +
                        path);
    }
  }
  return catalog;
}

}  // namespace lab_orders::orders
