// PostgreSQL's plans for the store's lookups by primary key, on a new database (no statistics
// yet): the plan chosen then is the one a pooled connection's prepared statement keeps. A lookup
// of one order that takes an index led by brand_id reads every order of the brand instead.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "store/row_codecs.h"
#include "support/store_backends.h"

namespace lab_orders::store {
namespace {

using testing::StoreBackend;

class PostgresPlansTest : public testing::StoreDatabaseTest {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kPostgres; }

  void SetUp() override {
    testing::StoreDatabaseTest::SetUp();
    if (!database_) return;
    database().Open(PhiCipher(std::string(32, 'k')))->Migrate();
  }

  // The plan of sql with ?1 and ?2 given as literals, as PostgreSQL's JSON.
  std::string PlanOf(std::string sql) {
    for (const auto& [placeholder, value] : {std::pair{"?1", "'id-1'"}, {"?2", "'brand-1'"}}) {
      sql.replace(sql.find(placeholder), 2, value);
    }
    return database().QueryText("EXPLAIN (FORMAT JSON) " + sql);
  }
};

TEST_F(PostgresPlansTest, AnOrderOfABrandIsFoundThroughItsPrimaryKey) {
  if (!database_) return;
  const std::string where = std::string(" WHERE ") + std::string(kIdOfBrand);
  for (const std::string& sql : {"SELECT id FROM lab_orders" + where,
                                 "UPDATE lab_orders SET version = version + 1" + where}) {
    std::string plan = PlanOf(sql);
    EXPECT_NE(plan.find("\"lab_orders_pkey\""), std::string::npos) << sql << "\n" << plan;
    EXPECT_EQ(plan.find("lab_orders_brand"), std::string::npos) << sql << "\n" << plan;
  }
}

TEST_F(PostgresPlansTest, AWebhookEndpointOfABrandIsFoundThroughItsPrimaryKey) {
  if (!database_) return;
  std::string plan = PlanOf("SELECT id FROM webhook_endpoints WHERE " + std::string(kIdOfBrand));
  EXPECT_NE(plan.find("\"webhook_endpoints_pkey\""), std::string::npos) << plan;
}

}  // namespace
}  // namespace lab_orders::store
