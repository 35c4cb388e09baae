#include "lab_orders/sim/catalog.h"

namespace lab_orders::sim {

const std::vector<CatalogEntry>& Catalog() {
  static const std::vector<CatalogEntry> kCatalog = {
      {"pcos", "5b2c1f6e-8f0a-4b4e-9d41-0a6f3c1e0001", "pcos-panel", "PCOS Panel", true, 189.0},
      {"fertility", "5b2c1f6e-8f0a-4b4e-9d41-0a6f3c1e0002", "fertility-panel",
       "Female Fertility Panel", false, 159.0},
      {"hashimotos", "5b2c1f6e-8f0a-4b4e-9d41-0a6f3c1e0003", "hashimotos-panel",
       "Hashimoto's Thyroid Panel", false, 129.0},
      {"wellness", "5b2c1f6e-8f0a-4b4e-9d41-0a6f3c1e0004", "wellness-panel",
       "Comprehensive Wellness Panel", true, 219.0},
      {"hormone_metabolic", "5b2c1f6e-8f0a-4b4e-9d41-0a6f3c1e0005", "hormone-metabolic-panel",
       "Hormone and Metabolic Panel", true, 249.0},
      {"performance", "5b2c1f6e-8f0a-4b4e-9d41-0a6f3c1e0006", "performance-panel",
       "Athletic Performance Panel", false, 199.0},
  };
  return kCatalog;
}

const CatalogEntry* FindLabTest(const std::string& id) {
  for (const CatalogEntry& entry : Catalog()) {
    if (entry.id == id) return &entry;
  }
  return nullptr;
}

nlohmann::json LabTestJson(const CatalogEntry& entry) {
  return {
      {"id", entry.id},
      {"slug", entry.slug},
      {"name", entry.name},
      {"sample_type", "serum"},
      {"method", "at_home_phlebotomy"},
      {"price", entry.price},
      {"is_active", true},
      {"status", "active"},
      {"fasting", entry.fasting},
      {"lab",
       {{"id", 2},
        {"slug", "labcorp"},
        {"name", "Labcorp"},
        {"first_line_address", "531 South Spring Street"},
        {"city", "Burlington"},
        {"zipcode", "27215"},
        {"collection_methods", {"at_home_phlebotomy", "walk_in_test"}},
        {"sample_types", {"serum"}},
        {"logo_url", nullptr}}},
      {"markers", nlohmann::json::array()},
      {"is_delegated", false},
      {"auto_generated", false},
      {"has_collection_instructions", false},
      {"common_tat_days", 3},
      {"worst_case_tat_days", 7},
  };
}

}  // namespace lab_orders::sim
