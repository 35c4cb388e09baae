// Finished keys kept in memory: a replay after the first reads no database, the answer is the
// stored one, and a key is forgotten before any replica's reaper may delete it, or at once when
// this process reaps it.

#include "store/finished_keys.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "lab_orders/model/order_json.h"
#include "lab_orders/store/sql_store.h"
#include "support/fakes.h"
#include "support/store_backends.h"
#include "support/store_fixtures.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using testing::StoreBackend;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
const std::string kPhiKey(32, 'p');

FinishedKey Finished(const std::string& body, TimePoint created_at) {
  return FinishedKey{"fp", "", "order-1", 201, body, created_at};
}

TEST(FinishedKeysTest, KeepsAnswersPerBrandAndKey) {
  testing::FakeClock clock(kT0);
  FinishedKeys keys(100, 24h, clock);
  keys.Remember("b", "k", Finished("sealed", kT0));
  ASSERT_TRUE(keys.Find("b", "k").has_value());
  EXPECT_EQ(keys.Find("b", "k")->sealed_body, "sealed");
  EXPECT_EQ(keys.Find("b", "k")->order_id, "order-1");
  EXPECT_FALSE(keys.Find("other-brand", "k").has_value());
  EXPECT_FALSE(keys.Find("b", "k2").has_value());
  // Brand and key cannot run into each other.
  keys.Remember("a", "bk", Finished("one", kT0));
  EXPECT_FALSE(keys.Find("ab", "k").has_value());
  // The first answer stays: a finished key's answer never changes.
  keys.Remember("b", "k", Finished("other", kT0));
  EXPECT_EQ(keys.Find("b", "k")->sealed_body, "sealed");
}

TEST(FinishedKeysTest, ForgetsAMarginBeforeTheReaperMayDeleteTheKey) {
  testing::FakeClock clock(kT0);
  FinishedKeys keys(100, 24h, clock);
  keys.Remember("b", "k", Finished("sealed", kT0));
  clock.Advance(24h - FinishedKeys::kReaperMargin - 1ms);
  EXPECT_TRUE(keys.Find("b", "k").has_value());
  clock.Advance(1ms);
  EXPECT_FALSE(keys.Find("b", "k").has_value());
  // A key already that old is not kept at all.
  keys.Remember("b", "old", Finished("sealed", kT0));
  EXPECT_FALSE(keys.Find("b", "old").has_value());
}

TEST(FinishedKeysTest, TheLeastRecentlyUsedGoFirstBeyondTheCapacity) {
  testing::FakeClock clock(kT0);
  // 16 shards of one key each: Find keeps a key, the newcomer in its shard pushes out the other.
  FinishedKeys keys(16, 24h, clock);
  for (int i = 0; i < 200; ++i) keys.Remember("b", "k" + std::to_string(i), Finished("x", kT0));
  int kept = 0;
  for (int i = 0; i < 200; ++i) kept += keys.Find("b", "k" + std::to_string(i)).has_value();
  EXPECT_LE(kept, 16);
  EXPECT_TRUE(keys.Find("b", "k199").has_value());  // the last one in is kept
}

TEST(FinishedKeysTest, NothingIsKeptWithNoCapacity) {
  testing::FakeClock clock(kT0);
  FinishedKeys keys(0, 24h, clock);
  keys.Remember("b", "k", Finished("sealed", kT0));
  EXPECT_FALSE(keys.Find("b", "k").has_value());
}

TEST(FinishedKeysTest, ForgetsWhatTheReaperDeleted) {
  testing::FakeClock clock(kT0 + 2h);
  FinishedKeys keys(100, 24h, clock);
  keys.Remember("b", "early", Finished("x", kT0));
  keys.Remember("b", "late", Finished("x", kT0 + 1h));
  keys.ForgetCreatedBefore(kT0 + 1s);
  EXPECT_FALSE(keys.Find("b", "early").has_value());
  EXPECT_TRUE(keys.Find("b", "late").has_value());
}

// Through the store, on each backend.
class FinishedKeyStoreTest : public testing::StoreDatabaseTest,
                             public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend Backend() const override { return GetParam(); }

  std::unique_ptr<SqlStore> Open() { return database().OpenMigrated(PhiCipher(kPhiKey)); }
};

TEST_P(FinishedKeyStoreTest, AReplayAfterTheFirstReadsNoDatabase) {
  if (!database_) return;
  testing::FakeClock clock(kT0);
  std::unique_ptr<SqlStore> store = Open();
  store->CacheFinishedKeys(100, 24h, clock);
  testing::AddJunctionOrder(*store, "b", "order-1", kT0);
  std::optional<IdempotencyRecord> first = store->FindFinishedKey("b", "key-order-1");
  ASSERT_TRUE(first.has_value());

  // The row goes behind the store's back: the replay still answers, as the row said.
  database().Exec("DELETE FROM idempotency_keys");
  std::optional<IdempotencyRecord> replay = store->FindFinishedKey("b", "key-order-1");
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->response_body, first->response_body);
  EXPECT_EQ(replay->response_status, 201);
  EXPECT_EQ(replay->fingerprint, "fp");
  EXPECT_EQ(replay->order_id, "order-1");
  EXPECT_EQ(replay->recovery_point, RecoveryPoint::kFinished);
  EXPECT_EQ(replay->created_at, first->created_at);
  // Only for its own brand; and a store without the cache reads the (now empty) database.
  EXPECT_FALSE(store->FindFinishedKey("other", "key-order-1").has_value());
  EXPECT_FALSE(Open()->FindFinishedKey("b", "key-order-1").has_value());

  // Near the end of the key's retention, the database is asked again.
  clock.Advance(24h - FinishedKeys::kReaperMargin);
  EXPECT_FALSE(store->FindFinishedKey("b", "key-order-1").has_value());
}

// What the I/O thread may ask: memory only, never the database.
TEST_P(FinishedKeyStoreTest, InMemoryLookupNeverReadsTheDatabase) {
  if (!database_) return;
  testing::FakeClock clock(kT0);
  std::unique_ptr<SqlStore> store = Open();
  store->CacheFinishedKeys(100, 24h, clock);
  testing::AddJunctionOrder(*store, "b", "order-1", kT0);
  EXPECT_FALSE(store->FindFinishedKeyInMemory("b", "key-order-1").has_value());  // not read yet
  ASSERT_TRUE(store->FindFinishedKey("b", "key-order-1").has_value());
  std::optional<IdempotencyRecord> remembered = store->FindFinishedKeyInMemory("b", "key-order-1");
  ASSERT_TRUE(remembered.has_value());
  EXPECT_EQ(remembered->response_body, store->FindFinishedKey("b", "key-order-1")->response_body);
  EXPECT_EQ(remembered->recovery_point, RecoveryPoint::kFinished);
  EXPECT_FALSE(store->FindFinishedKeyInMemory("other", "key-order-1").has_value());
  // A store without the cache has nothing in memory.
  std::unique_ptr<SqlStore> uncached = Open();
  ASSERT_TRUE(uncached->FindFinishedKey("b", "key-order-1").has_value());
  EXPECT_FALSE(uncached->FindFinishedKeyInMemory("b", "key-order-1").has_value());
}

TEST_P(FinishedKeyStoreTest, AKeyThisProcessReapsIsForgottenAtOnce) {
  if (!database_) return;
  testing::FakeClock clock(kT0 + 1h);
  std::unique_ptr<SqlStore> store = Open();
  store->CacheFinishedKeys(100, 24h, clock);
  testing::AddJunctionOrder(*store, "b", "order-1", kT0);
  ASSERT_TRUE(store->FindFinishedKey("b", "key-order-1").has_value());
  EXPECT_EQ(store->ReapKeys(kT0 + 1s), 1);
  EXPECT_FALSE(store->FindFinishedKey("b", "key-order-1").has_value());
}

TEST_P(FinishedKeyStoreTest, UnfinishedKeysAreNotKept) {
  if (!database_) return;
  testing::FakeClock clock(kT0);
  std::unique_ptr<SqlStore> store = Open();
  store->CacheFinishedKeys(100, 24h, clock);
  store->ClaimKey("b", "k", {"fp"}, kT0, kT0 + 30s, testing::ExampleOrder("order-1", "b", kT0));
  EXPECT_FALSE(store->FindFinishedKey("b", "k").has_value());
  store->FinishKey("b", "k", 502, "{\"error\":\"upstream\"}");
  ASSERT_TRUE(store->FindFinishedKey("b", "k").has_value());
  EXPECT_EQ(store->FindFinishedKey("b", "k")->response_status, 502);
}

// The claiming request's body digest is kept with the key and comes back with its answer, from
// the database and from memory alike; a key claimed without one has none.
TEST_P(FinishedKeyStoreTest, TheClaimingRequestsBodyDigestComesBackWithTheAnswer) {
  if (!database_) return;
  testing::FakeClock clock(kT0);
  std::unique_ptr<SqlStore> store = Open();
  store->CacheFinishedKeys(100, 24h, clock);
  store->ClaimKey("b", "k", {"fp", "digest-1"}, kT0, kT0 + 30s,
                  testing::ExampleOrder("order-1", "b", kT0));
  store->ClaimKey("b", "legacy", {"fp"}, kT0, kT0 + 30s,
                  testing::ExampleOrder("order-2", "b", kT0));
  store->FinishKey("b", "k", 201, "{}");
  store->FinishKey("b", "legacy", 201, "{}");

  EXPECT_EQ(store->FindFinishedKey("b", "k")->body_digest, "digest-1");   // from the database
  EXPECT_EQ(store->FindFinishedKey("b", "k")->body_digest, "digest-1");   // from memory
  EXPECT_EQ(Open()->FindFinishedKey("b", "k")->body_digest, "digest-1");  // another process
  EXPECT_EQ(store->FindFinishedKey("b", "legacy")->body_digest, "");
  // A second request under the key (resuming or replaying) never changes the digest.
  EXPECT_EQ(store
                ->ClaimKey("b", "k", {"fp", "digest-2"}, kT0, kT0 + 30s,
                           testing::ExampleOrder("order-3", "b", kT0))
                .record.body_digest,
            "digest-1");
}

INSTANTIATE_TEST_SUITE_P(Backends, FinishedKeyStoreTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

}  // namespace
}  // namespace lab_orders::store
