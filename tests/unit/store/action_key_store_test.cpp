// The actions' Idempotency-Keys on every backend: claimed once, replayed when finished, refused
// for another request (an order's key included, both ways), resumed with their checkpoint after
// a lease ends, freed only while nothing is recorded, and never taken by the order completer.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "lab_orders/store/sql_store.h"
#include "support/store_backends.h"
#include "support/store_fixtures.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using testing::StoreBackend;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
const std::string kPhiKey(32, 'p');
constexpr char kCancel[] = "/v1/labs/orders/{id}/cancel";
const RequestIdentity kCancelA{"fp-cancel-a", "digest-cancel-a"};

class ActionKeyStoreTest : public testing::StoreDatabaseTest,
                           public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend Backend() const override { return GetParam(); }

  std::unique_ptr<SqlStore> Open() { return database().OpenMigrated(PhiCipher(kPhiKey)); }

  ActionClaim Claim(SqlStore& store, const std::string& key, const RequestIdentity& request,
                    TimePoint now = kT0, const std::string& brand = "b") {
    return store.ClaimActionKey(brand, key, kCancel, request, now, now + 30s);
  }
};

TEST_P(ActionKeyStoreTest, AKeyIsClaimedOnceThenReplaysItsFirstAnswer) {
  if (!database_) return;
  std::unique_ptr<SqlStore> store = Open();
  EXPECT_EQ(Claim(*store, "k", kCancelA).result, ClaimResult::kNew);
  EXPECT_EQ(Claim(*store, "k", kCancelA).result, ClaimResult::kInProgress);
  EXPECT_EQ(Claim(*store, "k", {"fp-other"}).result, ClaimResult::kFingerprintMismatch);
  EXPECT_EQ(Claim(*store, "k", kCancelA, kT0, "other-brand").result, ClaimResult::kNew)
      << "a key is one brand's";

  store->FinishActionKey("b", "k", kT0 + 30s, 200, R"({"status":"cancelled"})");
  store->FinishActionKey("b", "k", kT0 + 30s, 200, R"({"status":"changed"})");  // first wins
  ActionClaim replay = Claim(*Open(), "k", kCancelA, kT0 + 1h);
  ASSERT_EQ(replay.result, ClaimResult::kFinished);
  EXPECT_EQ(replay.record.response_status, 200);
  EXPECT_EQ(replay.record.response_body, R"({"status":"cancelled"})");
  EXPECT_EQ(Claim(*store, "k", {"fp-other"}).result, ClaimResult::kFingerprintMismatch);
  // The answer is sealed at rest, as an order's is.
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM idempotency_keys WHERE response_body "
                                 "LIKE '%cancelled%'"),
            "0");
}

TEST_P(ActionKeyStoreTest, AResumedKeyBringsItsCheckpointBack) {
  if (!database_) return;
  std::unique_ptr<SqlStore> store = Open();
  ASSERT_EQ(Claim(*store, "k", kCancelA).result, ClaimResult::kNew);
  store->CheckpointActionKey("b", "k", kT0 + 30s, R"({"webhook_id":"msg_1"})");
  EXPECT_EQ(Claim(*store, "k", kCancelA, kT0 + 29s).result, ClaimResult::kInProgress);
  ActionClaim resumed = Claim(*Open(), "k", kCancelA, kT0 + 31s);
  ASSERT_EQ(resumed.result, ClaimResult::kResumed);
  EXPECT_EQ(resumed.checkpoint, R"({"webhook_id":"msg_1"})");
  EXPECT_EQ(Claim(*store, "k", kCancelA, kT0 + 32s).result, ClaimResult::kInProgress)
      << "the resumed attempt holds the lease";

  store->ReleaseActionKey("b", "k", kT0 + 61s);
  EXPECT_EQ(Claim(*store, "k", kCancelA, kT0 + 33s).result, ClaimResult::kResumed);
  store->FinishActionKey("b", "k", kT0 + 63s, 200, "{}");
  EXPECT_THROW(store->CheckpointActionKey("b", "k", kT0 + 63s, "{}"), LeaseLost)
      << "a finished key is never written again";
}

// An attempt that outlived its lease, after another resumed the key, writes nothing to it: its
// checkpoint is refused (it stops before its call), and its answer, release and forget are void.
TEST_P(ActionKeyStoreTest, AnAttemptThatOutlivedItsLeaseWritesNothing) {
  if (!database_) return;
  std::unique_ptr<SqlStore> store = Open();
  ASSERT_EQ(Claim(*store, "k", kCancelA).result, ClaimResult::kNew);  // held until kT0 + 30s
  ASSERT_EQ(Claim(*store, "k", kCancelA, kT0 + 31s).result, ClaimResult::kResumed);
  EXPECT_THROW(store->CheckpointActionKey("b", "k", kT0 + 30s, "{}"), LeaseLost);
  store->FinishActionKey("b", "k", kT0 + 30s, 200, R"({"late":true})");
  store->ReleaseActionKey("b", "k", kT0 + 30s);
  store->ForgetActionKey("b", "k", kT0 + 30s);
  EXPECT_EQ(Claim(*store, "k", kCancelA, kT0 + 32s).result, ClaimResult::kInProgress)
      << "still held by the attempt that resumed it";
  store->FinishActionKey("b", "k", kT0 + 61s, 200, R"({"resumed":true})");
  EXPECT_EQ(Claim(*store, "k", kCancelA, kT0 + 33s).record.response_body, R"({"resumed":true})");
}

TEST_P(ActionKeyStoreTest, OnlyAKeyWhoseActionRecordedNothingIsFreed) {
  if (!database_) return;
  std::unique_ptr<SqlStore> store = Open();
  Claim(*store, "free", kCancelA);
  store->ForgetActionKey("b", "free", kT0 + 30s);
  EXPECT_EQ(Claim(*store, "free", {"fp-other"}).result, ClaimResult::kNew)
      << "forgotten: another request may take it";

  Claim(*store, "recorded", kCancelA);
  store->CheckpointActionKey("b", "recorded", kT0 + 30s, "{}");
  store->ForgetActionKey("b", "recorded", kT0 + 30s);
  EXPECT_EQ(Claim(*store, "recorded", {"fp-other"}).result, ClaimResult::kFingerprintMismatch);

  Claim(*store, "done", kCancelA);
  store->FinishActionKey("b", "done", kT0 + 30s, 200, "{}");
  store->ForgetActionKey("b", "done", kT0 + 30s);
  EXPECT_EQ(Claim(*store, "done", kCancelA).result, ClaimResult::kFinished);

  testing::AddJunctionOrder(*store, "b", "order-1", kT0);
  store->ForgetActionKey("b", "key-order-1", kT0 + 30s);
  EXPECT_TRUE(store->FindFinishedKey("b", "key-order-1").has_value()) << "an order's key stays";
}

// One key names one request of a brand, whichever route it went to.
TEST_P(ActionKeyStoreTest, OrderAndActionKeysShareOneScope) {
  if (!database_) return;
  std::unique_ptr<SqlStore> store = Open();
  testing::AddJunctionOrder(*store, "b", "order-1", kT0);
  EXPECT_EQ(Claim(*store, "key-order-1", kCancelA).result, ClaimResult::kFingerprintMismatch);
  ASSERT_EQ(store
                ->ClaimKey("b", "unfinished", {"fp-order"}, kT0, kT0 + 30s,
                           testing::ExampleOrder("order-2", "b", kT0))
                .result,
            ClaimResult::kNew);
  EXPECT_EQ(Claim(*store, "unfinished", kCancelA).result, ClaimResult::kFingerprintMismatch);

  for (bool finished : {false, true}) {
    const std::string key = finished ? "action-done" : "action-open";
    Claim(*store, key, kCancelA);
    if (finished) store->FinishActionKey("b", key, kT0 + 30s, 200, "{}");
    const std::string order_id = "order-for-" + key;
    EXPECT_EQ(store
                  ->ClaimKey("b", key, {"fp-order"}, kT0 + 1h, kT0 + 2h,
                             testing::ExampleOrder(order_id, "b", kT0))
                  .result,
              ClaimResult::kFingerprintMismatch)
        << key;
    EXPECT_FALSE(store->GetOrderById(order_id).has_value()) << "the refused order is not kept";
  }
}

// The completer drives unfinished order keys to a Junction order: it must never take an action's.
TEST_P(ActionKeyStoreTest, TheOrderCompleterNeverTakesAnActionKeyAndTheReaperDoes) {
  if (!database_) return;
  std::unique_ptr<SqlStore> store = Open();
  Claim(*store, "k", kCancelA);
  store->CheckpointActionKey("b", "k", kT0 + 30s, R"({"appointment_id":null})");
  store->ReleaseActionKey("b", "k", kT0 + 30s);
  EXPECT_TRUE(store->ClaimStaleKeys(kT0 + 1h, kT0 + 1h, kT0 + 2h, 10).empty());
  EXPECT_EQ(store->ReapKeys(kT0 + 1s), 1);
  EXPECT_EQ(Claim(*store, "k", {"fp-other"}, kT0 + 1h).result, ClaimResult::kNew);

  // Even a row no version writes (an action's key at an order's recovery point, with an order)
  // is never the completer's: it says action IS NULL itself.
  testing::AddJunctionOrder(*store, "b", "order-1", kT0);
  const auto created_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(kT0.time_since_epoch()).count();
  database().Exec(
      "INSERT INTO idempotency_keys (brand_id, key, fingerprint, recovery_point, order_id, "
      "created_at, action) VALUES ('b', 'crafted', 'fp', 'order_recorded', 'order-1', " +
      std::to_string(created_ms) + ", '/v1/labs/orders/{id}/cancel')");
  EXPECT_TRUE(store->ClaimStaleKeys(kT0 + 1h, kT0 + 1h, kT0 + 2h, 10).empty());
}

TEST_P(ActionKeyStoreTest, OfManyCallersRacingOnANewKeyExactlyOneClaimsIt) {
  if (!database_) return;
  std::atomic<int> claimed{0};
  testing::ExpectNoErrors(testing::RunTogether(16, [&](int) {
    std::unique_ptr<SqlStore> store = Open();
    if (Claim(*store, "raced", kCancelA).result == ClaimResult::kNew) ++claimed;
  }));
  EXPECT_EQ(claimed.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ActionKeyStoreTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

}  // namespace
}  // namespace lab_orders::store
