// The Store's upkeep beside the jobs, on every backend: Junction's webhook receipts, the reaper,
// the completer's claim on stale keys, the workers' reads, and many claimers at once never sharing
// a job or a key.

#include "unit/store/store_jobs_test_fixture.h"

namespace lab_orders::store {
namespace {

using namespace jobs_test_support;  // the fixture, its constants and helpers

// ---- webhooks and reaping
// ------------------------------------------------------------------------

TEST_P(StoreJobsTest, RecordJunctionWebhookRefusesADuplicateAndWritesNothing) {
  AddOrder("order-1");
  EXPECT_TRUE(Store().RecordJunctionWebhook("msg_1", kT0, EventJob("event-1", "order-1", kT0)));
  EXPECT_FALSE(
      Store().RecordJunctionWebhook("msg_1", kT0 + 1s, EventJob("event-2", "order-1", kT0)));
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobJunctionEvent, 1}}));
  EXPECT_EQ(JobColumn("event-2", "id"), "");
  testing::TestDatabase& raw = database();
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM junction_webhooks"), "1");
  EXPECT_EQ(raw.QueryText("SELECT received_at FROM junction_webhooks"), Millis(kT0));
  // A receipt whose job cannot be written is not kept either (unknown order: foreign key).
  EXPECT_THROW(
      Store().RecordJunctionWebhook("msg_2", kT0, EventJob("event-3", "no-such-order", kT0)),
      std::logic_error);
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM junction_webhooks"), "1");
}

TEST_P(StoreJobsTest, ReapKeysAlsoRemovesOldReceiptsAndFinishedJobs) {
  AddOrder("order-1");  // the keys are created at kT0
  AddOrder("order-2", kT0 + 10h);
  ASSERT_TRUE(Store().RecordJunctionWebhook("old", kT0, EventJob("event-old", "order-1", kT0)));
  ASSERT_TRUE(
      Store().RecordJunctionWebhook("new", kT0 + 2h, EventJob("event-new", "order-1", kT0)));
  JobOutcome done;
  done.done = true;
  // Finished at about kT0 + 30s (its lease's end).
  std::vector<Job> first = Store().ClaimDueJobs(kT0, kT0 + 30s, "w1", 2);
  ASSERT_EQ(Ids(first), (std::vector<std::string>{"event-new", "event-old"}));
  Store().CompleteJob(first[1], done);
  // Finished at about kT0 + 3h.
  Store().CompleteJob(ClaimOnly("event-new", kT0 + 3h - 30s, kT0 + 3h, "w2"), done);

  EXPECT_EQ(Store().ReapKeys(kT0 + 1h), 2);  // the two orders' keys
  testing::TestDatabase& raw = database();
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM junction_webhooks"), "1");
  EXPECT_EQ(raw.QueryText("SELECT svix_id FROM junction_webhooks"), "new");
  EXPECT_EQ(raw.QueryText("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), "1");
  EXPECT_EQ(raw.QueryText("SELECT id FROM jobs WHERE state = 'done'"), "event-new");
  // Queued jobs stay however old.
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobAwaitRequisition, 1}}));
  EXPECT_EQ(Store().ReapKeys(kT0 + 1h), 0);
  // A reaped receipt no longer dedupes.
  EXPECT_TRUE(
      Store().RecordJunctionWebhook("old", kT0 + 4h, EventJob("event-again", "order-1", kT0)));
}

// ---- the completer's keys
// ------------------------------------------------------------------------

TEST_P(StoreJobsTest, ClaimStaleKeysLeasesUnfinishedKeysWithOrders) {
  SqlStore& store = Store();
  // Each key claimed with its order, as a request claims it.
  auto claim = [&](const std::string& key, const std::string& order_id, TimePoint at,
                   TimePoint lease_until) {
    LabOrder order;
    order.id = order_id;
    order.brand_id = "b";
    order.user_id = "u";
    order.panel_slug = "p";
    order.status = "received";
    order.created_at = order.updated_at = FormatRfc3339(kT0);
    ASSERT_EQ(store.ClaimKey("b", key, {kFingerprint}, at, lease_until, order).result,
              ClaimResult::kNew);
  };
  // Claimed by an older version, which recorded the order in a commit of its own: no order yet,
  // nothing to complete.
  database().Exec(
      "INSERT INTO idempotency_keys (brand_id, key, fingerprint, recovery_point, locked_until, "
      "created_at) VALUES ('b', 'started', '" +
      std::string(kFingerprint) + "', 'started', " + Millis(kT0 + 30s) + ", " + Millis(kT0) + ")");
  claim("recorded", "order-recorded", kT0 + 1s, kT0 + 30s);
  claim("user", "order-user", kT0 + 2s, kT0 + 30s);
  store.SaveJunctionUser("b", "user", "order-user", "b:u", "ju", kT0 + 2s);
  claim("live", "order-live", kT0 + 3s, kT0 + 1h);  // its request is still working on it
  claim("finished", "order-finished", kT0 + 4s, kT0 + 30s);
  store.FinishKey("b", "finished", 201, "{}");
  claim("young", "order-young", kT0 + 2min, kT0 + 3min);  // created after the cutoff

  const TimePoint now = kT0 + 5min;
  std::vector<IdempotencyRecord> stale = store.ClaimStaleKeys(kT0 + 1min, now, now + 30s, 10);
  ASSERT_EQ(stale.size(), 2u);
  EXPECT_EQ(stale[0].key, "recorded");  // oldest first
  EXPECT_EQ(stale[0].brand_id, "b");
  EXPECT_EQ(stale[0].fingerprint, kFingerprint);
  EXPECT_EQ(stale[0].recovery_point, RecoveryPoint::kOrderRecorded);
  EXPECT_EQ(stale[0].order_id, "order-recorded");
  EXPECT_EQ(stale[0].created_at, kT0 + 1s);
  EXPECT_FALSE(stale[0].response_body.has_value());
  EXPECT_EQ(stale[1].key, "user");
  EXPECT_EQ(stale[1].recovery_point, RecoveryPoint::kUserEnsured);

  // Leased to the completer: a retry of the request waits, and a second pass finds none.
  EXPECT_EQ(store
                .ClaimKey("b", "recorded", {kFingerprint}, now + 1s, now + 31s,
                          testing::ExampleOrder("order-retry", "b", now + 1s))
                .result,
            ClaimResult::kInProgress);
  EXPECT_TRUE(store.ClaimStaleKeys(kT0 + 1min, now + 29s, now + 60s, 10).empty());
  // When the lease ends they are claimable again; the limit holds.
  std::vector<IdempotencyRecord> again = store.ClaimStaleKeys(kT0 + 1min, now + 30s, now + 60s, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, "recorded");
}

// ---- reads for the workers
// -----------------------------------------------------------------------

TEST_P(StoreJobsTest, OrdersAreFoundByIdAndJunctionIdForAnyBrand) {
  AddOrder("order-1", kT0);
  std::optional<LabOrder> by_junction = Store().FindOrderByJunctionId("jo-order-1");
  ASSERT_TRUE(by_junction.has_value());
  EXPECT_EQ(by_junction->id, "order-1");
  EXPECT_EQ(by_junction->brand_id, "b");
  EXPECT_EQ(by_junction->patient.email, "ann@example.org");
  EXPECT_EQ(by_junction->version, 1);
  EXPECT_FALSE(Store().FindOrderByJunctionId("jo-unknown").has_value());

  std::optional<LabOrder> by_id = Store().GetOrderById("order-1");
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->junction_order_id, "jo-order-1");
  EXPECT_FALSE(Store().GetOrderById("no-such-order").has_value());
  EXPECT_FALSE(Store().GetOrder("other-brand", "order-1").has_value());
}

// ---- concurrency
// ---------------------------------------------------------------------------------

constexpr int kContendedJobs = 120;

// Each claimer claims small batches until none is left; returns every id handed out, per claimer.
std::vector<std::vector<std::string>> ClaimConcurrently(const std::vector<SqlStore*>& stores) {
  const int claimers = static_cast<int>(stores.size());
  std::vector<std::vector<std::string>> claimed(claimers);
  ExpectNoErrors(RunTogether(claimers, [&](int i) {
    const std::string owner = "w" + std::to_string(i);
    for (;;) {
      std::vector<Job> jobs = stores[i]->ClaimDueJobs(kT0 + 1s, kT0 + 1h, owner, 3);
      if (jobs.empty()) break;
      for (const Job& job : jobs) claimed[i].push_back(job.id);
    }
  }));
  return claimed;
}

void ExpectEachClaimedOnce(const std::vector<std::vector<std::string>>& claimed, int expected) {
  std::vector<std::string> all;
  for (const auto& ids : claimed) all.insert(all.end(), ids.begin(), ids.end());
  std::set<std::string> distinct(all.begin(), all.end());
  EXPECT_EQ(all.size(), distinct.size()) << "handed out twice";
  EXPECT_EQ(distinct.size(), static_cast<size_t>(expected));
}

TEST_P(StoreJobsTest, EightThreadsClaimingOnOneStoreNeverShareAJob) {
  AddOrder("order-1");
  for (int i = 0; i < kContendedJobs; ++i) {
    AddEvent("event-" + std::to_string(i), "order-1", kT0 + std::chrono::milliseconds(i % 7));
  }
  std::vector<SqlStore*> stores(8, &Store());
  ExpectEachClaimedOnce(ClaimConcurrently(stores), kContendedJobs);
}

// Eight processes: on SQLite eight connections to one file, on PostgreSQL eight pools, where
// claims pass over the rows another claimer has locked (SKIP LOCKED).
TEST_P(StoreJobsTest, EightStoresClaimingOneDatabaseNeverShareAJob) {
  AddOrder("order-1");
  for (int i = 0; i < kContendedJobs; ++i) {
    AddEvent("event-" + std::to_string(i), "order-1", kT0 + std::chrono::milliseconds(i % 7));
  }
  std::vector<std::unique_ptr<SqlStore>> owned;
  std::vector<SqlStore*> stores;
  for (int i = 0; i < 8; ++i) {
    owned.push_back(OpenStore());
    stores.push_back(owned.back().get());
  }
  ExpectEachClaimedOnce(ClaimConcurrently(stores), kContendedJobs);
  EXPECT_EQ(Store().NextJobDue(), kT0 + 1h);  // every one leased, to the lease's end
}

// Completers in several processes: no stale key is handed to two of them.
TEST_P(StoreJobsTest, StoresClaimingStaleKeysAtOnceNeverShareAKey) {
  constexpr int kKeys = 48;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "key-" + std::to_string(i);
    // Leases ran out at kT0 + 30s: the requests died after recording their orders.
    ASSERT_EQ(
        Store()
            .ClaimKey("b", key, {kFingerprint}, kT0 + std::chrono::milliseconds(i % 5), kT0 + 30s,
                      testing::ExampleOrder("order-" + std::to_string(i), "b", kT0))
            .result,
        ClaimResult::kNew);
  }
  constexpr int kStores = 4;
  std::vector<std::unique_ptr<SqlStore>> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(OpenStore());
  const TimePoint now = kT0 + 5min;
  std::vector<std::vector<std::string>> claimed(kStores);
  ExpectNoErrors(RunTogether(kStores, [&](int i) {
    for (;;) {
      std::vector<IdempotencyRecord> keys =
          stores[i]->ClaimStaleKeys(kT0 + 1min, now, now + 30s, 3);
      if (keys.empty()) break;
      for (const IdempotencyRecord& key : keys) claimed[i].push_back(key.key);
    }
  }));
  ExpectEachClaimedOnce(claimed, kKeys);
  // Each is leased to its completer now.
  EXPECT_EQ(Store()
                .ClaimKey("b", "key-0", {kFingerprint}, now + 1s, now + 31s,
                          testing::ExampleOrder("order-retry", "b", now + 1s))
                .result,
            ClaimResult::kInProgress);
}

// A webhook's event job waking the order's step while the step's own run commits, in two
// processes: both lock the order's row before any job row, so neither waits on the other in a
// cycle. Both commit.
//
// On PostgreSQL a deadlock would not show by itself: the server breaks it (after deadlock_timeout,
// 1 s) by aborting one transaction, which the store runs again. So these stores wait for a lock at
// most 900 ms (lock_timeout): a legitimate wait, for the other commit, takes milliseconds, while a
// deadlock now ends in a lock timeout, which the store reports (StoreUnavailable) and the test
// sees.
TEST_P(StoreJobsTest, EventWakingTheStepWhileTheStepCompletesBothCommit) {
  constexpr int kOrders = 12;
  for (int i = 0; i < kOrders; ++i) {
    const std::string id = "order-" + std::to_string(i);
    AddOrder(id, kT0);
    AddEvent("event-" + std::to_string(i), id, kT0);
  }
  // The workers' claims: the steps to one worker, the events to another.
  std::vector<Job> steps(kOrders);
  std::vector<Job> events;
  for (int i = 0; i < kOrders; ++i) {
    ASSERT_EQ(
        Store().ClaimOrderStep("order-" + std::to_string(i), kT0, kT0 + 30s, "w-step", &steps[i]),
        OrderJobClaim::kClaimed);
  }
  events = Store().ClaimDueJobs(kT0, kT0 + 30s, "w-event", kOrders);
  ASSERT_EQ(events.size(), static_cast<size_t>(kOrders));
  std::sort(events.begin(), events.end(),
            [](const Job& a, const Job& b) { return a.order_id < b.order_id; });
  std::sort(steps.begin(), steps.end(),
            [](const Job& a, const Job& b) { return a.order_id < b.order_id; });

  std::unique_ptr<SqlStore> step_store = OpenStore("lock_timeout=900ms");
  std::unique_ptr<SqlStore> event_store = OpenStore("lock_timeout=900ms");
  std::vector<LabOrder> read(kOrders);
  for (int i = 0; i < kOrders; ++i) read[i] = *Store().GetOrderById(steps[i].order_id);

  // Each round, both commits for one order start together. A throw is noted and the rounds go
  // on, so the other thread never waits at the barrier alone.
  std::barrier round(2);
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  ExpectNoErrors(RunTogether(2, [&](int worker) {
    for (int i = 0; i < kOrders; ++i) {
      round.arrive_and_wait();
      try {
        if (worker == 0) {
          JobOutcome woke;
          woke.done = true;
          woke.wake_order_step = true;
          event_store->CompleteJob(events[i], woke);
        } else {
          JobOutcome stepped;
          stepped.expected_order_version = read[i].version;
          stepped.order_update = read[i];
          stepped.order_update->status = "appointment_pending";
          stepped.retry_at = kT0 + 1h;
          stepped.attempts = 1;
          step_store->CompleteJob(steps[i], stepped);
        }
      } catch (const std::exception& error) {
        std::lock_guard lock(errors_mutex);
        errors.push_back((worker == 0 ? events[i].id : steps[i].id) + ": " + error.what());
      }
    }
  }));
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);

  for (int i = 0; i < kOrders; ++i) {
    const Job& step = steps[i];
    SCOPED_TRACE(step.order_id);
    LabOrder order = *Store().GetOrderById(step.order_id);
    EXPECT_EQ(order.status, "appointment_pending");
    EXPECT_EQ(order.version, read[i].version + 1);
    EXPECT_EQ(JobColumn(events[i].id, "state"), "done");
    EXPECT_EQ(JobColumn(step.id, "state"), "queued");
    EXPECT_EQ(JobColumn(step.id, "attempts"), "1");
    EXPECT_EQ(JobColumn(step.id, "lease_owner"), "");
    // Whichever committed last set its due time: the wake (now) or the run's retry.
    const std::string due_at = JobColumn(step.id, "due_at");
    EXPECT_TRUE(due_at == "0" || due_at == Millis(kT0 + 1h)) << due_at;
  }
  EXPECT_EQ(Store().QueuedJobCounts(), (Counts{{kJobAwaitRequisition, kOrders}}));
}

}  // namespace
}  // namespace lab_orders::store
