#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lab_orders::sim {

// One at-home phlebotomy lab test per panel this service sells. The ids are fixed so that
// config/panels.json can name them.
struct CatalogEntry {
  std::string panel_slug;
  std::string id;
  std::string slug;
  std::string name;
  bool fasting;
  double price;
};

const std::vector<CatalogEntry>& Catalog();
const CatalogEntry* FindLabTest(const std::string& id);
// ClientFacingLabTest.
nlohmann::json LabTestJson(const CatalogEntry& entry);

}  // namespace lab_orders::sim
