// config/panels.json: each panel's Junction lab test ids and the channels it is offered on.

#include "lab_orders/orders/panels.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "lab_orders/common/config_error.h"
#include "lab_orders/model/order.h"

namespace lab_orders::orders {
namespace {

class PanelsTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove(path_); }

  PanelCatalog Load(const std::string& text, const std::vector<std::string>& required = {}) {
    std::ofstream(path_) << text;
    return LoadPanels(path_, required);
  }

  std::string path_ = (std::filesystem::temp_directory_path() /
                       ("panels-test-" + std::to_string(::getpid()) + ".json"))
                          .string();
};

TEST_F(PanelsTest, APanelNamesItsIdsAndChannels) {
  PanelCatalog catalog = Load(R"({"panels": {"pcos": {"lab_test_ids": ["a", "b"],
      "collection_methods": ["walk_in", "at_home_phlebotomy"]}}})");
  EXPECT_EQ(catalog["pcos"].lab_test_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(catalog["pcos"].Offers(model::kWalkIn));
  EXPECT_TRUE(catalog["pcos"].Offers(model::kAtHome));
}

TEST_F(PanelsTest, TheOlderListOfIdsIsOfferedAtHomeOnly) {
  PanelCatalog catalog = Load(R"({"panels": {"pcos": ["a"]}})");
  EXPECT_EQ(catalog["pcos"].lab_test_ids, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(catalog["pcos"].Offers(model::kAtHome));
  EXPECT_FALSE(catalog["pcos"].Offers(model::kWalkIn));
  EXPECT_FALSE(catalog["pcos"].Offers(model::kTestkit));
}

TEST_F(PanelsTest, APanelMayBeDrawnFasting) {
  PanelCatalog catalog = Load(
      R"({"panels": {"hormone_metabolic": {"lab_test_ids": ["a"], "fasting": true}, "pcos": ["b"]}})");
  EXPECT_TRUE(catalog["hormone_metabolic"].fasting);
  EXPECT_FALSE(catalog["pcos"].fasting);
  EXPECT_THROW(Load(R"({"panels": {"pcos": {"lab_test_ids": ["a"], "fasting": "yes"}}})"),
               ConfigError);
}

TEST_F(PanelsTest, APanelMayBeOfferedAsATestKit) {
  PanelCatalog catalog = Load(
      R"({"panels": {"wellness": {"lab_test_ids": ["a"], "collection_methods": ["testkit"]}}})");
  EXPECT_TRUE(catalog["wellness"].Offers(model::kTestkit));
  EXPECT_FALSE(catalog["wellness"].Offers(model::kAtHome));
}

TEST_F(PanelsTest, MistakesStopStartUpNamingThePanel) {
  for (const char* text : {
           R"({"panels": {"pcos": {"lab_test_ids": ["a"], "collection_methods": ["by_drone"]}}})",
           R"({"panels": {"pcos": {"lab_test_ids": ["a"], "colection_methods": []}}})",
           R"({"panels": {"pcos": {"lab_test_ids": [1]}}})",
           R"({"panels": {"pcos": "a"}})",
       }) {
    try {
      Load(text);
      ADD_FAILURE() << "taken: " << text;
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find("panel pcos"), std::string::npos) << error.what();
    }
  }
  EXPECT_THROW(Load(R"({"panels": {"pcos": {"lab_test_ids": []}}})", {"pcos"}), ConfigError);
  EXPECT_THROW(
      Load(R"({"panels": {"pcos": {"lab_test_ids": ["a"], "collection_methods": []}}})", {"pcos"}),
      ConfigError);
}

TEST(PanelCatalogFileTest, TheShippedCatalogOffersEveryPanelBothWays) {
  PanelCatalog catalog = LoadPanels(
      std::string(PROJECT_SOURCE_DIR) + "/config/panels.json",
      {"pcos", "fertility", "hashimotos", "wellness", "hormone_metabolic", "performance"});
  for (const auto& [slug, panel] : catalog) {
    EXPECT_TRUE(panel.Offers(model::kAtHome)) << slug;
    EXPECT_TRUE(panel.Offers(model::kWalkIn)) << slug;
  }
}

}  // namespace
}  // namespace lab_orders::orders
