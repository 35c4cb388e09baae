// The Store's schema, keys and reads, on every backend (support/store_backends.h): migrations,
// ClaimKey, an order and its pages, and the reaper. Its phases are in store_phases_test.cpp, what
// each backend keeps at rest in store_at_rest_test.cpp.

#include "unit/store/store_test_fixture.h"

namespace lab_orders::store {
namespace {

using namespace store_test_support;  // the fixture, its constants and helpers

// Once for every file of StoreTest's tests (store_test_fixture.h).
INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

// ---- migrations --------------------------------------------------------------------------------

TEST_P(StoreTest, NotReadyUntilMigrated) {
  std::unique_ptr<SqlStore> store = OpenStore();
  EXPECT_FALSE(store->Ready());
  store->Migrate();
  EXPECT_TRUE(store->Ready());
}

TEST_P(StoreTest, MigrateIsIdempotent) {
  std::unique_ptr<SqlStore> store = OpenStore();
  store->Migrate();
  store->Migrate();
  EXPECT_TRUE(store->Ready());
  {
    std::unique_ptr<SqlStore> reopened = OpenStore();
    EXPECT_TRUE(reopened->Ready());
    reopened->Migrate();
  }
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM schema_migrations"), "8");
  EXPECT_EQ(database().QueryText("SELECT MIN(version) FROM schema_migrations"), "1");
}

// Service replicas starting together on a new database: one migrates, the others wait for it and
// find nothing left to do. None fails, and each is ready.
TEST_P(StoreTest, StoresMigratingOneEmptyDatabaseAtOnceAllSucceed) {
  constexpr int kStores = 4;
  std::vector<std::unique_ptr<SqlStore>> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(OpenStore());
  ExpectNoErrors(RunTogether(kStores, [&](int i) { stores[i]->Migrate(); }));
  for (const auto& store : stores) EXPECT_TRUE(store->Ready());
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM schema_migrations"), "8");
  // The schema works from any of them.
  EXPECT_EQ(stores[0]
                ->ClaimKey("b", "k", {kFingerprint}, kT0, kT0 + 30s, MakeOrder("order-0", "b", kT0))
                .result,
            ClaimResult::kNew);
  EXPECT_EQ(stores[kStores - 1]
                ->ClaimKey("b", "k", {kFingerprint}, kT0, kT0 + 30s, MakeOrder("order-3", "b", kT0))
                .result,
            ClaimResult::kInProgress);
}

TEST_P(StoreTest, NotReadyWhenAMigrationIsMissing) {
  Store();
  database().Exec("DELETE FROM schema_migrations");
  EXPECT_FALSE(Store().Ready());
}

// ---- ClaimKey ----------------------------------------------------------------------------------

// A new key is claimed together with its order, in one commit: its first phase is done.
TEST_P(StoreTest, ClaimOfAnUnknownKeyIsNew) {
  Claim claim = ClaimWith("key-1", MakeOrder("order-1", "brand-a", kT0), kT0);
  EXPECT_EQ(claim.result, ClaimResult::kNew);
  EXPECT_EQ(claim.record.brand_id, "brand-a");
  EXPECT_EQ(claim.record.key, "key-1");
  EXPECT_EQ(claim.record.fingerprint, kFingerprint);
  EXPECT_EQ(claim.record.recovery_point, RecoveryPoint::kOrderRecorded);
  EXPECT_EQ(claim.record.order_id, "order-1");
  EXPECT_FALSE(claim.record.response_status.has_value());
  EXPECT_FALSE(claim.record.response_body.has_value());
  EXPECT_EQ(claim.record.created_at, kT0);
  // The record says what was stored: the key as a resumer reads it, and the order.
  Store().ReleaseKey("brand-a", "key-1");
  Claim stored = ClaimAt("brand-a", "key-1", kT0 + 1s);
  EXPECT_EQ(stored.result, ClaimResult::kResumed);
  EXPECT_EQ(stored.record.recovery_point, RecoveryPoint::kOrderRecorded);
  EXPECT_EQ(stored.record.order_id, "order-1");
  EXPECT_EQ(stored.record.created_at, kT0);
  std::optional<LabOrder> order = Store().GetOrder("brand-a", "order-1");
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->status, "received");
  EXPECT_EQ(order->version, 0);
}

TEST_P(StoreTest, ClaimWhileLeaseIsLiveIsInProgress) {
  ASSERT_EQ(ClaimUntil("b", "k", kT0, kT0 + 30s).result, ClaimResult::kNew);
  EXPECT_EQ(ClaimUntil("b", "k", kT0 + 1s, kT0 + 31s).result, ClaimResult::kInProgress);
  EXPECT_EQ(ClaimUntil("b", "k", kT0 + 30s - 1ms, kT0 + 60s).result, ClaimResult::kInProgress);
}

TEST_P(StoreTest, ClaimAfterLeaseExpiryResumesAndTakesANewLease) {
  RecordNewOrder("b", "k", "order-1", kT0);
  // The lease ends at kT0 + 30s: from that instant on it is no longer live.
  Claim resumed = ClaimUntil("b", "k", kT0 + 30s, kT0 + 90s);
  EXPECT_EQ(resumed.result, ClaimResult::kResumed);
  // The key keeps the order it was claimed with; the resumer's own is not stored.
  EXPECT_EQ(resumed.record.recovery_point, RecoveryPoint::kOrderRecorded);
  EXPECT_EQ(resumed.record.order_id, "order-1");
  EXPECT_EQ(resumed.record.created_at, kT0);
  EXPECT_EQ(OrderCount(), "1");
  // The resumer's lease now holds others off until kT0 + 90s.
  EXPECT_EQ(ClaimUntil("b", "k", kT0 + 89s, kT0 + 120s).result, ClaimResult::kInProgress);
  EXPECT_EQ(ClaimUntil("b", "k", kT0 + 90s, kT0 + 120s).result, ClaimResult::kResumed);
}

TEST_P(StoreTest, ReleasedKeyResumesAtOnce) {
  ASSERT_EQ(ClaimAt("b", "k", kT0).result, ClaimResult::kNew);
  Store().ReleaseKey("b", "k");
  EXPECT_EQ(ClaimAt("b", "k", kT0 + 1ms).result, ClaimResult::kResumed);
  EXPECT_NO_THROW(Store().ReleaseKey("b", "no-such-key"));
}

TEST_P(StoreTest, DifferentFingerprintIsAMismatchInEveryState) {
  ASSERT_EQ(ClaimAt("b", "k", kT0).result, ClaimResult::kNew);
  Claim leased = ClaimAt("b", "k", kT0 + 1s, "other");
  EXPECT_EQ(leased.result, ClaimResult::kFingerprintMismatch);
  EXPECT_EQ(leased.record.fingerprint, kFingerprint);

  Store().ReleaseKey("b", "k");
  EXPECT_EQ(ClaimAt("b", "k", kT0 + 2s, "other").result, ClaimResult::kFingerprintMismatch);
  // A mismatch takes no lease: the rightful retry still resumes.
  EXPECT_EQ(ClaimAt("b", "k", kT0 + 3s).result, ClaimResult::kResumed);

  Store().FinishKey("b", "k", 201, "{}");
  EXPECT_EQ(ClaimAt("b", "k", kT0 + 4s, "other").result, ClaimResult::kFingerprintMismatch);
}

TEST_P(StoreTest, FinishedKeyReplaysStatusAndBody) {
  RecordNewOrder("b", "k", "order-1", kT0);
  const std::string body = R"({"id":"order-1","status":"ordered"})";
  Store().FinishKey("b", "k", 201, body);

  Claim replay = ClaimAt("b", "k", kT0 + 1h);
  EXPECT_EQ(replay.result, ClaimResult::kFinished);
  EXPECT_EQ(replay.record.recovery_point, RecoveryPoint::kFinished);
  EXPECT_EQ(replay.record.response_status, 201);
  EXPECT_EQ(replay.record.response_body, body);
  EXPECT_EQ(replay.record.order_id, "order-1");
}

TEST_P(StoreTest, FinishingTwiceKeepsTheFirstAnswer) {
  ASSERT_EQ(ClaimAt("b", "k", kT0).result, ClaimResult::kNew);
  Store().FinishKey("b", "k", 201, "first");
  Store().FinishKey("b", "k", 502, "second");
  Claim replay = ClaimAt("b", "k", kT0 + 1s);
  EXPECT_EQ(replay.record.response_status, 201);
  EXPECT_EQ(replay.record.response_body, "first");
}

TEST_P(StoreTest, SameKeyForTwoBrandsIsTwoKeys) {
  EXPECT_EQ(ClaimAt("brand-a", "shared-key", kT0).result, ClaimResult::kNew);
  EXPECT_EQ(ClaimAt("brand-b", "shared-key", kT0, "another-fingerprint").result, ClaimResult::kNew);
  Store().FinishKey("brand-a", "shared-key", 201, "a");
  EXPECT_EQ(ClaimAt("brand-b", "shared-key", kT0 + 1s, "another-fingerprint").result,
            ClaimResult::kInProgress);
}

TEST_P(StoreTest, SixteenThreadsClaimingOneKeyGetExactlyOneNew) {
  SqlStore& store = Store();
  constexpr int kThreads = 16;
  std::vector<ClaimResult> results(kThreads);
  // Each request brings an order of its own; only the winner's is kept.
  ExpectNoErrors(RunTogether(kThreads, [&](int i) {
    LabOrder order = MakeOrder("order-" + std::to_string(i), "b", kT0);
    results[i] = store.ClaimKey("b", "contended", {kFingerprint}, kT0, kT0 + 30s, order).result;
  }));
  EXPECT_EQ(std::count(results.begin(), results.end(), ClaimResult::kNew), 1);
  EXPECT_EQ(std::count(results.begin(), results.end(), ClaimResult::kInProgress), kThreads - 1);
  EXPECT_EQ(OrderCount(), "1");
}

// Sixteen processes: on SQLite sixteen connections to one file, on PostgreSQL sixteen pools.
TEST_P(StoreTest, SixteenStoresClaimingOneKeyGetExactlyOneNew) {
  Store();  // creates and migrates the database
  constexpr int kConnections = 16;
  std::vector<std::unique_ptr<SqlStore>> stores;
  for (int i = 0; i < kConnections; ++i) stores.push_back(OpenStore());
  std::vector<ClaimResult> results(kConnections);
  ExpectNoErrors(RunTogether(kConnections, [&](int i) {
    LabOrder order = MakeOrder("order-" + std::to_string(i), "b", kT0);
    results[i] =
        stores[i]->ClaimKey("b", "contended", {kFingerprint}, kT0, kT0 + 30s, order).result;
  }));
  EXPECT_EQ(std::count(results.begin(), results.end(), ClaimResult::kNew), 1);
  EXPECT_EQ(std::count(results.begin(), results.end(), ClaimResult::kInProgress), kConnections - 1);
  // The winner's order, and only it: the losers took theirs out again.
  EXPECT_EQ(OrderCount(), "1");
  const std::string kept = database().QueryText("SELECT id FROM lab_orders");
  EXPECT_EQ(database().QueryText("SELECT order_id FROM idempotency_keys"), kept);
}

// ---- reads -------------------------------------------------------------------------------------

TEST_P(StoreTest, OrdersAreScopedToTheirBrand) {
  RecordNewOrder("brand-a", "k", "order-a", kT0);
  EXPECT_TRUE(Store().GetOrder("brand-a", "order-a").has_value());
  EXPECT_FALSE(Store().GetOrder("brand-b", "order-a").has_value());
  EXPECT_FALSE(Store().GetOrder("brand-a", "no-such-order").has_value());
  EXPECT_TRUE(Store().ListOrders("brand-b", std::nullopt, 10, std::nullopt).empty());
  // Another brand's order id is no cursor either.
  RecordNewOrder("brand-b", "k", "order-b", kT0);
  EXPECT_TRUE(Store().ListOrders("brand-b", std::nullopt, 10, "order-a").empty());
  EXPECT_EQ(Store().ListOrders("brand-b", std::nullopt, 10, std::nullopt).size(), 1u);
}

class StorePaginationTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (!database_) return;  // skipped
    // 25 orders, two per second so that ties on created_at are broken by id; every third one
    // "ordered". Another brand's orders are interleaved and must never show.
    for (int i = 0; i < 25; ++i) {
      std::string id = "order-" + std::string(i < 10 ? "0" : "") + std::to_string(i);
      std::string status = i % 3 == 0 ? "ordered" : "received";
      RecordNewOrder("b", "key-" + id, id, kT0 + std::chrono::seconds(i / 2), status);
      RecordNewOrder("other", "key-" + id, "other-" + id, kT0 + std::chrono::seconds(i / 2),
                     status);
    }
  }

  // Walks every page; returns the ids in the order seen.
  std::vector<std::string> WalkPages(const std::optional<std::string>& status, int limit,
                                     std::vector<size_t>* page_sizes) {
    std::vector<std::string> ids;
    std::optional<std::string> cursor;
    for (int guard = 0; guard < 100; ++guard) {
      std::vector<LabOrder> page = Store().ListOrders("b", status, limit, cursor);
      page_sizes->push_back(page.size());
      if (page.empty()) break;
      for (const LabOrder& order : page) {
        EXPECT_EQ(order.brand_id, "b");
        if (status) {
          EXPECT_EQ(order.status, *status);
        }
        ids.push_back(order.id);
      }
      cursor = page.back().id;
    }
    return ids;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, StorePaginationTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

TEST_P(StorePaginationTest, ThreePagesNewestFirstWithoutDuplicates) {
  std::vector<size_t> page_sizes;
  std::vector<std::string> ids = WalkPages(std::nullopt, 10, &page_sizes);
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5, 0}));
  std::vector<std::string> expected;
  for (int i = 24; i >= 0; --i) {
    expected.push_back("order-" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  }
  EXPECT_EQ(ids, expected);  // newest first; within one second, the larger id first
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 25u);
}

TEST_P(StorePaginationTest, StatusFilterPagesThroughOnlyThatStatus) {
  std::vector<size_t> page_sizes;
  std::vector<std::string> ids = WalkPages("ordered", 4, &page_sizes);
  EXPECT_EQ(page_sizes, (std::vector<size_t>{4, 4, 1, 0}));
  EXPECT_EQ(ids,
            (std::vector<std::string>{"order-24", "order-21", "order-18", "order-15", "order-12",
                                      "order-09", "order-06", "order-03", "order-00"}));
  EXPECT_TRUE(Store().ListOrders("b", "cancelled", 10, std::nullopt).empty());
}

TEST_P(StorePaginationTest, UnknownCursorGivesAnEmptyPage) {
  EXPECT_TRUE(Store().ListOrders("b", std::nullopt, 10, "no-such-order").empty());
}

TEST_P(StorePaginationTest, LimitBelowOneIsRefused) {
  EXPECT_THROW(Store().ListOrders("b", std::nullopt, 0, std::nullopt), std::invalid_argument);
}

// ---- reaping -----------------------------------------------------------------------------------

TEST_P(StoreTest, ReapKeysDeletesOnlyKeysCreatedBeforeTheCutoff) {
  RecordNewOrder("b", "old-1", "order-1", kT0);
  ASSERT_EQ(ClaimAt("b", "old-2", kT0 + 1s).result, ClaimResult::kNew);
  ASSERT_EQ(ClaimAt("b", "new", kT0 + 2s).result, ClaimResult::kNew);

  EXPECT_EQ(Store().ReapKeys(kT0 + 2s), 2);
  EXPECT_EQ(Store().ReapKeys(kT0 + 2s), 0);
  EXPECT_EQ(ClaimAt("b", "old-1", kT0 + 3s).result, ClaimResult::kNew);
  EXPECT_EQ(ClaimAt("b", "new", kT0 + 3s).result, ClaimResult::kInProgress);
  // Orders outlive their keys.
  EXPECT_TRUE(Store().GetOrder("b", "order-1").has_value());
}

TEST_P(StoreTest, ReleaseAllLeasesMakesUnfinishedKeysResumable) {
  ASSERT_EQ(ClaimAt("b", "leased-1", kT0).result, ClaimResult::kNew);
  ASSERT_EQ(ClaimAt("b", "leased-2", kT0).result, ClaimResult::kNew);
  ASSERT_EQ(ClaimAt("b", "finished", kT0).result, ClaimResult::kNew);
  Store().FinishKey("b", "finished", 201, "{}");

  EXPECT_EQ(Store().ReleaseAllLeases(), 2);
  EXPECT_EQ(ClaimAt("b", "leased-1", kT0 + 1s).result, ClaimResult::kResumed);
  EXPECT_EQ(ClaimAt("b", "finished", kT0 + 1s).result, ClaimResult::kFinished);
}

}  // namespace
}  // namespace lab_orders::store
