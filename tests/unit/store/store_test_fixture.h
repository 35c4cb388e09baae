#pragma once

// The fixture of the Store's own tests (store_test.cpp, store_phases_test.cpp,
// store_at_rest_test.cpp): one database of a backend, the store on it, and orders and keys as
// requests make them. StoreTest runs on every backend (support/store_backends.h); its suite is
// instantiated once, in store_test.cpp.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/store/postgres_store.h"
#include "lab_orders/store/postgres_url.h"
#include "lab_orders/store/sql_store.h"
#include "lab_orders/store/sqlite_store.h"
#include "store/sql_session.h"
#include "store/sqlite_database.h"
#include "support/store_backends.h"
#include "support/store_fixtures.h"

namespace lab_orders::store::store_test_support {

using namespace std::chrono_literals;
using model::LabOrder;
using testing::ExpectNoErrors;
using testing::RunTogether;
using testing::StoreBackend;

inline const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
inline const std::string kPhiKey(32, 'p');
inline constexpr char kFingerprint[] = "f1f1f1";

// Distinctive PHI, so a stray plaintext copy in the file is unmistakable.
inline constexpr char kFirstName[] = "Quintessa";
inline constexpr char kLastName[] = "Vandersloot";
inline constexpr char kEmail[] = "quintessa.vandersloot@example.org";
inline constexpr char kPhone[] = "+15555550199";
inline constexpr char kDob[] = "1971-03-14";
inline constexpr char kLine1[] = "742 Zanzibar Terrace";
inline constexpr char kLine2[] = "Suite Xylophone";
inline constexpr char kCity[] = "Bellwetherton";
inline constexpr char kZip[] = "97405";

inline LabOrder MakeOrder(const std::string& id, const std::string& brand_id, TimePoint created_at,
                          const std::string& status = "received") {
  LabOrder order;
  order.id = id;
  order.brand_id = brand_id;
  order.user_id = "user-1";
  order.patient_id = "patient-42";
  order.panel_slug = "metabolic-basic";
  order.status = status;
  order.total_cents = 4900;
  order.currency = "usd";
  order.external_order_id = "brand-order-7";
  order.metadata = {{"campaign", "spring"}, {"note", "a \"quoted\" value"}};
  order.created_at = FormatRfc3339(created_at);
  order.updated_at = FormatRfc3339(created_at);
  order.patient = {kFirstName, kLastName, kDob, kEmail, kPhone, "female"};
  order.address = {kLine1, kLine2, kCity, "OR", kZip, "US"};
  return order;
}

// The first workflow step SaveJunctionOrder queues with the Junction order.
inline NewJob FirstStep(const std::string& order_id, TimePoint due_at) {
  return NewJob{"step-" + order_id, kJobAwaitRequisition, order_id, "", due_at};
}

inline std::string ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One database of the fixture's backend, and the store most tests use on it.
class StoreFixture : public testing::StoreDatabaseTest {
 protected:
  void TearDown() override {
    store_.reset();
    testing::StoreDatabaseTest::TearDown();
  }

  // Another store on the same database: another process, as far as the store can tell.
  std::unique_ptr<SqlStore> OpenStore(const std::string& phi_key = kPhiKey) {
    return database().Open(PhiCipher(phi_key));
  }

  SqlStore& Store() {
    if (!store_) {
      store_ = OpenStore();
      store_->Migrate();
    }
    return *store_;
  }

  // Claims (brand, key) as a request does: with the order it would make, here a fresh one of its
  // own ("claimed-<n>"), which the store keeps only when the key is new.
  Claim ClaimAt(const std::string& brand, const std::string& key, TimePoint now,
                const std::string& fingerprint = kFingerprint) {
    return ClaimUntil(brand, key, now, now + 30s, fingerprint);
  }
  Claim ClaimUntil(const std::string& brand, const std::string& key, TimePoint now,
                   TimePoint lease_until, const std::string& fingerprint = kFingerprint) {
    return Store().ClaimKey(brand, key, {fingerprint}, now, lease_until,
                            MakeOrder("claimed-" + std::to_string(++claims_), brand, now));
  }
  // Claims (order.brand_id, key) with this order.
  Claim ClaimWith(const std::string& key, const LabOrder& order, TimePoint now,
                  const std::string& fingerprint = kFingerprint) {
    return Store().ClaimKey(order.brand_id, key, {fingerprint}, now, now + 30s, order);
  }

  // Claims a fresh key with a new order: the key's first commit.
  LabOrder RecordNewOrder(const std::string& brand, const std::string& key,
                          const std::string& order_id, TimePoint created_at,
                          const std::string& status = "received") {
    LabOrder order = MakeOrder(order_id, brand, created_at, status);
    EXPECT_EQ(ClaimWith(key, order, created_at).result, ClaimResult::kNew);
    return order;
  }

  // The last phase for an order recorded under key: made at Junction as junction_order_id at
  // `at`, saved with its first step and the answer body.
  LabOrder SaveOrdered(const std::string& key, const LabOrder& order,
                       const std::string& junction_user_id, const std::string& junction_order_id,
                       TimePoint at, const std::string& body = "{}") {
    LabOrder ordered = testing::OrderedAtJunction(order, junction_user_id, junction_order_id, at);
    Store().SaveJunctionOrder(key, ordered, FirstStep(order.id, at), 201, body);
    return ordered;
  }

  // An idempotency key as an older version left it: claimed, with no order yet.
  void InsertLegacyStartedKey(const std::string& brand, const std::string& key,
                              TimePoint created_at, std::optional<TimePoint> locked_until) {
    Store();  // migrated: the table exists
    auto millis = [](TimePoint at) {
      return std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
    };
    database().Exec(
        "INSERT INTO idempotency_keys (brand_id, key, fingerprint, recovery_point, locked_until, "
        "created_at) VALUES ('" +
        brand + "', '" + key + "', '" + kFingerprint + "', 'started', " +
        (locked_until ? millis(*locked_until) : std::string("NULL")) + ", " + millis(created_at) +
        ")");
  }

  std::string OrderCount() { return database().QueryText("SELECT COUNT(*) FROM lab_orders"); }

  std::unique_ptr<SqlStore> store_;
  int claims_ = 0;
};

// The Store's behaviour: every test runs on SQLite and on PostgreSQL.
class StoreTest : public StoreFixture, public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend Backend() const override { return GetParam(); }
};

// What only SQLite has: a file, and one write lock with a busy timeout.
class SqliteStoreTest : public StoreFixture {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kSqlite; }
  const std::string& path() { return database().sqlite_path(); }
};

}  // namespace lab_orders::store::store_test_support
