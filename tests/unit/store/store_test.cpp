// The Store's keys, orders and phases, on every backend (support/store_backends.h), and what is
// particular to each: SQLite's file and locks, PostgreSQL's catalog.

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

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using model::LabOrder;
using testing::ExpectNoErrors;
using testing::RunTogether;
using testing::StoreBackend;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
const std::string kPhiKey(32, 'p');
constexpr char kFingerprint[] = "f1f1f1";

// Distinctive PHI, so a stray plaintext copy in the file is unmistakable.
constexpr char kFirstName[] = "Quintessa";
constexpr char kLastName[] = "Vandersloot";
constexpr char kEmail[] = "quintessa.vandersloot@example.org";
constexpr char kPhone[] = "+15555550199";
constexpr char kDob[] = "1971-03-14";
constexpr char kLine1[] = "742 Zanzibar Terrace";
constexpr char kLine2[] = "Suite Xylophone";
constexpr char kCity[] = "Bellwetherton";
constexpr char kZip[] = "97405";

LabOrder MakeOrder(const std::string& id, const std::string& brand_id, TimePoint created_at,
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
NewJob FirstStep(const std::string& order_id, TimePoint due_at) {
  return NewJob{"step-" + order_id, kJobAwaitRequisition, order_id, "", due_at};
}

std::string ReadFileBytes(const std::filesystem::path& path) {
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

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

// What only SQLite has: a file, and one write lock with a busy timeout.
class SqliteStoreTest : public StoreFixture {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kSqlite; }
  const std::string& path() { return database().sqlite_path(); }
};

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

// ---- phases ------------------------------------------------------------------------------------

// A new order's three commits: claimed with the order, its Junction user saved, its Junction order
// saved with the answer.
TEST_P(StoreTest, PhasesMoveTheRecoveryPointAndShowThroughGetOrder) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  Store().ReleaseKey("b", "k");
  Claim after_record = ClaimAt("b", "k", kT0 + 1s);
  EXPECT_EQ(after_record.result, ClaimResult::kResumed);
  EXPECT_EQ(after_record.record.recovery_point, RecoveryPoint::kOrderRecorded);
  EXPECT_EQ(after_record.record.order_id, "order-1");

  std::optional<LabOrder> recorded = Store().GetOrder("b", "order-1");
  ASSERT_TRUE(recorded.has_value());
  EXPECT_EQ(recorded->status, "received");
  EXPECT_EQ(recorded->user_id, "user-1");
  EXPECT_EQ(recorded->patient_id, "patient-42");
  EXPECT_EQ(recorded->panel_slug, "metabolic-basic");
  EXPECT_EQ(recorded->total_cents, 4900);
  EXPECT_EQ(recorded->currency, "usd");
  EXPECT_EQ(recorded->external_order_id, "brand-order-7");
  EXPECT_EQ(recorded->metadata, order.metadata);
  EXPECT_EQ(recorded->created_at, "2024-05-01T12:00:00+00:00");
  EXPECT_FALSE(recorded->junction_user_id.has_value());
  EXPECT_FALSE(recorded->completed_at.has_value());
  EXPECT_EQ(recorded->patient.first_name, kFirstName);
  EXPECT_EQ(recorded->patient.last_name, kLastName);
  EXPECT_EQ(recorded->patient.dob, kDob);
  EXPECT_EQ(recorded->patient.email, kEmail);
  EXPECT_EQ(recorded->patient.phone, kPhone);
  EXPECT_EQ(recorded->patient.sex, "female");
  EXPECT_EQ(recorded->address.line1, kLine1);
  EXPECT_EQ(recorded->address.line2, kLine2);
  EXPECT_EQ(recorded->address.city, kCity);
  EXPECT_EQ(recorded->address.state, "OR");
  EXPECT_EQ(recorded->address.zip, kZip);
  EXPECT_EQ(recorded->address.country, "US");

  Store().SaveJunctionUser("b", "k", "order-1", "b:patient-42", "junction-user-9", kT0 + 2s);
  EXPECT_EQ(Store().FindJunctionUser("b:patient-42"), "junction-user-9");
  // The order row is not written: it takes the user with the Junction order.
  std::optional<LabOrder> with_user = Store().GetOrder("b", "order-1");
  EXPECT_FALSE(with_user->junction_user_id.has_value());
  EXPECT_EQ(with_user->updated_at, recorded->updated_at);
  EXPECT_EQ(with_user->version, 0);
  Store().ReleaseKey("b", "k");
  EXPECT_EQ(ClaimAt("b", "k", kT0 + 3s).record.recovery_point, RecoveryPoint::kUserEnsured);
  EXPECT_TRUE(Store().QueuedJobCounts().empty());

  // The caller's order as it now is: its Junction user and order, version one up.
  LabOrder now_ordered = *with_user;
  now_ordered.junction_user_id = "junction-user-9";
  now_ordered.junction_order_id = "junction-order-7";
  now_ordered.status = "ordered";
  now_ordered.updated_at = FormatRfc3339(kT0 + 4s);
  ++now_ordered.version;
  const std::string body = R"({"id":"order-1","status":"ordered"})";
  Store().SaveJunctionOrder("k", now_ordered, FirstStep("order-1", kT0 + 5s), 201, body);
  std::optional<LabOrder> ordered = Store().GetOrder("b", "order-1");
  EXPECT_EQ(ordered->junction_user_id, "junction-user-9");
  EXPECT_EQ(ordered->junction_order_id, "junction-order-7");
  EXPECT_EQ(ordered->status, "ordered");
  EXPECT_EQ(ordered->updated_at, "2024-05-01T12:00:04+00:00");
  EXPECT_EQ(ordered->created_at, "2024-05-01T12:00:00+00:00");
  EXPECT_EQ(ordered->version, 1);
  // The first step is queued with the Junction order.
  EXPECT_EQ(Store().QueuedJobCounts(),
            (std::vector<std::pair<std::string, int>>{{kJobAwaitRequisition, 1}}));
  EXPECT_EQ(Store().NextJobDue(), kT0 + 5s);
  std::vector<Job> due = Store().ClaimDueJobs(kT0 + 5s, kT0 + 35s, "worker", 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, "step-order-1");
  EXPECT_EQ(due[0].kind, kJobAwaitRequisition);
  EXPECT_EQ(due[0].order_id, "order-1");
  EXPECT_EQ(due[0].payload, "");
  EXPECT_EQ(due[0].attempts, 0);
  EXPECT_EQ(due[0].due_at, kT0 + 5s);
  EXPECT_EQ(due[0].created_at, kT0 + 4s);
  // The same commit finished the key (its lease gone with it): the answer replays.
  Claim replay = ClaimAt("b", "k", kT0 + 5s);
  EXPECT_EQ(replay.result, ClaimResult::kFinished);
  EXPECT_EQ(replay.record.recovery_point, RecoveryPoint::kFinished);
  EXPECT_EQ(replay.record.response_status, 201);
  EXPECT_EQ(replay.record.response_body, body);
  EXPECT_EQ(OrderCount(), "1");
}

TEST_P(StoreTest, OptionalFieldsRoundTripAsAbsent) {
  LabOrder order = MakeOrder("order-1", "b", kT0);
  order.patient_id.reset();
  order.total_cents.reset();
  order.currency.reset();
  order.patient.phone.reset();
  order.patient.sex.reset();
  order.address.line2.reset();
  order.external_order_id.reset();
  order.metadata.clear();
  ASSERT_EQ(ClaimWith("k", order, kT0).result, ClaimResult::kNew);
  std::optional<LabOrder> stored = Store().GetOrder("b", "order-1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored->patient_id.has_value());
  EXPECT_FALSE(stored->total_cents.has_value());
  EXPECT_FALSE(stored->currency.has_value());
  EXPECT_FALSE(stored->patient.phone.has_value());
  EXPECT_FALSE(stored->patient.sex.has_value());
  EXPECT_FALSE(stored->address.line2.has_value());
  EXPECT_FALSE(stored->external_order_id.has_value());
  EXPECT_TRUE(stored->metadata.empty());
}

TEST_P(StoreTest, WorkflowAndVersionRoundTripThroughClaimKey) {
  LabOrder order = MakeOrder("order-1", "b", kT0);
  order.version = 7;
  order.workflow.junction_status = "received.at_home_phlebotomy.requisition_created";
  order.workflow.junction_event_id = 9007199254740993;  // above 2^53: kept exact
  order.workflow.appointment = model::AppointmentView{"appt-2",
                                                      "confirmed",
                                                      "2024-05-03T15:00:00+00:00",
                                                      std::nullopt,
                                                      "America/Chicago",
                                                      "getlabs",
                                                      true,
                                                      4,
                                                      std::nullopt};
  order.workflow.past_appointment_ids = {"appt-0", "appt-1"};
  order.workflow.provider_cancellations = 2;
  order.workflow.booking_sent = true;
  order.workflow.reschedule_sent_at = "2024-05-03T14:00:00+00:00";
  order.workflow.rescheduled_by = "brand";
  order.workflow.appointment_cancel_sent_at = "2024-05-03T14:00:01+00:00";
  order.workflow.appointment_cancelled_by = "brand";
  order.workflow.failure_reason = "no_slots";
  ASSERT_EQ(ClaimWith("k", order, kT0).result, ClaimResult::kNew);

  LabOrder stored = *Store().GetOrder("b", "order-1");
  EXPECT_EQ(stored.version, 7);
  const model::WorkflowState& workflow = stored.workflow;
  EXPECT_EQ(workflow.junction_status, "received.at_home_phlebotomy.requisition_created");
  EXPECT_EQ(workflow.junction_event_id, 9007199254740993);
  ASSERT_TRUE(workflow.appointment.has_value());
  EXPECT_EQ(workflow.appointment->id, "appt-2");
  EXPECT_EQ(workflow.appointment->status, "confirmed");
  EXPECT_EQ(workflow.appointment->start_at, "2024-05-03T15:00:00+00:00");
  EXPECT_FALSE(workflow.appointment->end_at.has_value());
  EXPECT_EQ(workflow.appointment->timezone, "America/Chicago");
  EXPECT_EQ(workflow.appointment->provider, "getlabs");
  EXPECT_TRUE(workflow.appointment->can_reschedule);
  EXPECT_EQ(workflow.appointment->event_count, 4);
  EXPECT_EQ(workflow.past_appointment_ids, (std::vector<std::string>{"appt-0", "appt-1"}));
  EXPECT_EQ(workflow.provider_cancellations, 2);
  EXPECT_TRUE(workflow.booking_sent);
  EXPECT_EQ(workflow.reschedule_sent_at, "2024-05-03T14:00:00+00:00");
  EXPECT_EQ(workflow.rescheduled_by, "brand");
  EXPECT_EQ(workflow.appointment_cancel_sent_at, "2024-05-03T14:00:01+00:00");
  EXPECT_EQ(workflow.appointment_cancelled_by, "brand");
  EXPECT_EQ(workflow.failure_reason, "no_slots");
  // The workflow is not PHI: it is stored as readable JSON, next to the sealed patient data.
  EXPECT_NE(database().QueryText("SELECT workflow FROM lab_orders").find("appt-2"),
            std::string::npos);
}

TEST_P(StoreTest, WorkflowReaderFillsMissingFieldsWithDefaults) {
  RecordNewOrder("b", "k", "order-1", kT0);
  testing::TestDatabase& raw = database();
  raw.Exec("UPDATE lab_orders SET workflow = '{}'");
  LabOrder empty = *Store().GetOrder("b", "order-1");
  EXPECT_EQ(empty.workflow.junction_status, "");
  EXPECT_EQ(empty.workflow.junction_event_id, 0);
  EXPECT_FALSE(empty.workflow.appointment.has_value());
  EXPECT_TRUE(empty.workflow.past_appointment_ids.empty());
  EXPECT_EQ(empty.workflow.provider_cancellations, 0);
  EXPECT_FALSE(empty.workflow.booking_sent);
  EXPECT_FALSE(empty.workflow.failure_reason.has_value());

  raw.Exec(R"(UPDATE lab_orders SET workflow = '{"junction_status":"x","appointment":{"id":"a"},)"
           R"("booking_sent":null,"unknown_field":1}')");
  LabOrder partial = *Store().GetOrder("b", "order-1");
  EXPECT_EQ(partial.workflow.junction_status, "x");
  ASSERT_TRUE(partial.workflow.appointment.has_value());
  EXPECT_EQ(partial.workflow.appointment->id, "a");
  EXPECT_EQ(partial.workflow.appointment->status, "");
  EXPECT_FALSE(partial.workflow.appointment->can_reschedule);
  EXPECT_FALSE(partial.workflow.booking_sent);

  for (const char* malformed :
       {"not json", "[]", R"({"booking_sent":"yes"})", R"({"appointment":"a"})"}) {
    raw.Exec(std::string("UPDATE lab_orders SET workflow = '") + malformed + "'");
    try {
      Store().GetOrder("b", "order-1");
      ADD_FAILURE() << "expected a throw for " << malformed;
    } catch (const StoreUnavailable&) {
      ADD_FAILURE() << "a malformed row is not an outage";
    } catch (const std::runtime_error&) {
    }
  }
}

TEST_P(StoreTest, MigratingAVersionOneDatabaseKeepsItsOrders) {
  {
    // Migration 1 as it was applied, with one order in it.
    testing::TestDatabase& raw = database();
    raw.Exec(R"sql(
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
INSERT INTO schema_migrations VALUES (1, '2024-01-01T00:00:00+00:00');
CREATE TABLE lab_orders (
  id TEXT PRIMARY KEY, brand_id TEXT NOT NULL, user_id TEXT NOT NULL, patient_id TEXT,
  panel_slug TEXT NOT NULL, status TEXT NOT NULL, total_cents BIGINT, currency TEXT,
  junction_user_id TEXT, junction_order_id TEXT, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, completed_at TEXT, phi TEXT NOT NULL);
CREATE TABLE idempotency_keys (
  brand_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
  recovery_point TEXT NOT NULL, order_id TEXT REFERENCES lab_orders (id),
  response_status INTEGER, response_body TEXT, locked_until BIGINT,
  created_at BIGINT NOT NULL, PRIMARY KEY (brand_id, key));
CREATE TABLE junction_users (
  client_user_id TEXT PRIMARY KEY, junction_user_id TEXT NOT NULL, created_at TEXT NOT NULL);
)sql");
    const std::string phi = PhiCipher(kPhiKey).Encrypt(
        R"({"patient":{"first_name":"A","last_name":"B","dob":"1970-01-01","email":"a@b.c",)"
        R"("phone":null,"sex":null},"address":{"line1":"1 St","line2":null,"city":"C",)"
        R"("state":"OR","zip":"97405","country":"US"}})",
        "order-1");
    raw.Exec(
        "INSERT INTO lab_orders (id, brand_id, user_id, panel_slug, status, junction_order_id, "
        "created_at, updated_at, phi) VALUES ('order-1', 'b', 'u', 'p', 'ordered', 'jo-1', "
        "'2024-05-01T12:00:00+00:00', '2024-05-01T12:00:00+00:00', '" +
        phi + "')");
  }
  std::unique_ptr<SqlStore> store = OpenStore();
  EXPECT_FALSE(store->Ready());
  store->Migrate();
  EXPECT_TRUE(store->Ready());
  std::optional<LabOrder> order = store->FindOrderByJunctionId("jo-1");
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->id, "order-1");
  EXPECT_EQ(order->patient.email, "a@b.c");
  EXPECT_EQ(order->version, 0);
  EXPECT_EQ(order->workflow.junction_status, "");
  EXPECT_FALSE(order->workflow.appointment.has_value());
}

TEST_P(StoreTest, TimestampsAreStoredInOneFixedWidthForm) {
  LabOrder order = MakeOrder("order-1", "b", kT0);
  order.created_at = "2024-05-01T14:00:00.250+02:00";
  order.updated_at = "2024-05-01T12:00:00Z";
  order.completed_at = "2024-05-02T00:00:00Z";
  ASSERT_EQ(ClaimWith("k", order, kT0).result, ClaimResult::kNew);
  std::optional<LabOrder> stored = Store().GetOrder("b", "order-1");
  EXPECT_EQ(stored->created_at, "2024-05-01T12:00:00+00:00");
  EXPECT_EQ(stored->updated_at, "2024-05-01T12:00:00+00:00");
  EXPECT_EQ(stored->completed_at, "2024-05-02T00:00:00+00:00");
}

TEST_P(StoreTest, BadTimestampIsRefusedAndNothingIsWritten) {
  LabOrder order = MakeOrder("order-1", "b", kT0);
  order.created_at = "yesterday";
  EXPECT_THROW(ClaimWith("k", order, kT0), std::invalid_argument);
  order = MakeOrder("order-1", "b", kT0);
  order.completed_at = "not a time";
  EXPECT_THROW(ClaimWith("k", order, kT0), std::invalid_argument);
  // Neither the order nor the key: the key is still free for a corrected request.
  EXPECT_FALSE(Store().GetOrder("b", "order-1").has_value());
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM idempotency_keys"), "0");
  EXPECT_EQ(ClaimWith("k", MakeOrder("order-1", "b", kT0), kT0).result, ClaimResult::kNew);
}

TEST_P(StoreTest, PhaseForAMissingKeyOrOrderIsALogicError) {
  LabOrder order = MakeOrder("order-1", "b", kT0);
  LabOrder ordered = testing::OrderedAtJunction(order, "ju", "jo", kT0);
  EXPECT_THROW(Store().SaveJunctionUser("b", "no-such-key", "order-1", "b:u", "ju", kT0),
               std::logic_error);
  EXPECT_THROW(
      Store().SaveJunctionOrder("no-such-key", ordered, FirstStep("order-1", kT0), 201, "{}"),
      std::logic_error);
  EXPECT_THROW(Store().FinishKey("b", "no-such-key", 201, "{}"), std::logic_error);
  EXPECT_FALSE(Store().FindJunctionUser("b:u").has_value());  // rolled back

  // A key an older version claimed, with no order recorded under it.
  InsertLegacyStartedKey("b", "k", kT0, kT0 + 30s);
  EXPECT_THROW(Store().SaveJunctionUser("b", "k", "order-1", "b:u", "ju", kT0), std::logic_error);
  EXPECT_THROW(Store().SaveJunctionOrder("k", ordered, FirstStep("order-1", kT0), 201, "{}"),
               std::logic_error);
  EXPECT_FALSE(Store().FindJunctionUser("b:u").has_value());  // rolled back
  EXPECT_TRUE(Store().QueuedJobCounts().empty());
  EXPECT_FALSE(Store().FindFinishedKey("b", "k").has_value());

  RecordNewOrder("b", "k2", "order-1", kT0);
  EXPECT_THROW(Store().SaveJunctionUser("b", "k2", "order-2", "b:u", "ju", kT0), std::logic_error);
  // Another brand's key of the same name does not reach this order.
  EXPECT_THROW(Store().SaveJunctionUser("other", "k2", "order-1", "b:u", "ju", kT0),
               std::logic_error);
  LabOrder of_other_brand = ordered;
  of_other_brand.brand_id = "other";
  EXPECT_THROW(
      Store().SaveJunctionOrder("k2", of_other_brand, FirstStep("order-1", kT0), 201, "{}"),
      std::logic_error);
  // The first step must be the order's own.
  EXPECT_THROW(Store().SaveJunctionOrder("k2", ordered, FirstStep("order-2", kT0), 201, "{}"),
               std::logic_error);
  // Junction's ids are what the phase saves: without either it saves nothing.
  LabOrder no_user = ordered;
  no_user.junction_user_id.reset();
  EXPECT_THROW(Store().SaveJunctionOrder("k2", no_user, FirstStep("order-1", kT0), 201, "{}"),
               std::logic_error);
  LabOrder no_junction_order = ordered;
  no_junction_order.junction_order_id.reset();
  EXPECT_THROW(
      Store().SaveJunctionOrder("k2", no_junction_order, FirstStep("order-1", kT0), 201, "{}"),
      std::logic_error);
  LabOrder bad_time = ordered;
  bad_time.updated_at = "later";
  EXPECT_THROW(Store().SaveJunctionOrder("k2", bad_time, FirstStep("order-1", kT0), 201, "{}"),
               std::invalid_argument);
  EXPECT_FALSE(Store().GetOrder("b", "order-1")->junction_order_id.has_value());
  EXPECT_TRUE(Store().QueuedJobCounts().empty());
  EXPECT_FALSE(Store().FindFinishedKey("b", "k2").has_value());
}

// One key, one order: a claim of a used key never records a second one, which would be a second
// Junction order on the next phase.
TEST_P(StoreTest, OneKeyRecordsOneOrder) {
  RecordNewOrder("b", "k", "order-1", kT0);
  Store().ReleaseKey("b", "k");
  Claim resumed = ClaimWith("k", MakeOrder("order-2", "b", kT0 + 1s), kT0 + 1s);
  EXPECT_EQ(resumed.result, ClaimResult::kResumed);
  EXPECT_EQ(resumed.record.order_id, "order-1");
  EXPECT_FALSE(Store().GetOrder("b", "order-2").has_value());
}

// The order and the key commit together or not at all: a claim whose order cannot be stored
// leaves the key unclaimed.
TEST_P(StoreTest, DuplicateOrderIdRollsBackTheWholeClaim) {
  RecordNewOrder("b", "k1", "order-1", kT0);
  EXPECT_THROW(ClaimWith("k2", MakeOrder("order-1", "b", kT0), kT0), std::logic_error);
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'k2'"), "0");
  EXPECT_EQ(database().QueryText("SELECT order_id FROM idempotency_keys WHERE key = 'k1'"),
            "order-1");
  Claim k2 = ClaimWith("k2", MakeOrder("order-2", "b", kT0 + 1s), kT0 + 1s);
  EXPECT_EQ(k2.result, ClaimResult::kNew);
  EXPECT_EQ(k2.record.order_id, "order-2");
}

// A new order's brand is the claim's: a key of one brand never records another brand's order.
TEST_P(StoreTest, ClaimWithAnotherBrandsOrderIsALogicError) {
  EXPECT_THROW(Store().ClaimKey("b", "k", {kFingerprint}, kT0, kT0 + 30s,
                                MakeOrder("order-1", "other", kT0)),
               std::logic_error);
  EXPECT_EQ(OrderCount(), "0");
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM idempotency_keys"), "0");
}

TEST_P(StoreTest, RecoveryPointsNeverMoveBackwards) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  Store().SaveJunctionUser("b", "k", "order-1", "b:u", "ju", kT0);
  ++order.version;  // as the user phase left it
  SaveOrdered("k", order, "ju", "jo", kT0, "first answer");
  EXPECT_THROW(Store().SaveJunctionUser("b", "k", "order-1", "b:u", "ju2", kT0), std::logic_error);
  EXPECT_EQ(Store().GetOrder("b", "order-1")->junction_user_id, "ju");
  EXPECT_EQ(Store().FindJunctionUser("b:u"), "ju");
  // Repeating the last phase is harmless (a request that outlived its lease while the completer
  // finished its key): it changes nothing, queues no second workflow, and the first answer wins.
  LabOrder before = *Store().GetOrder("b", "order-1");
  LabOrder repeat = testing::OrderedAtJunction(before, "ju", "jo", kT0 + 1s);
  EXPECT_NO_THROW(Store().SaveJunctionOrder(
      "k", repeat, NewJob{"another-step", kJobAwaitRequisition, "order-1", "", kT0 + 1s}, 201,
      "second answer"));
  LabOrder after = *Store().GetOrder("b", "order-1");
  EXPECT_EQ(after.updated_at, before.updated_at);
  EXPECT_EQ(after.version, before.version);
  EXPECT_EQ(Store().QueuedJobCounts(),
            (std::vector<std::pair<std::string, int>>{{kJobAwaitRequisition, 1}}));
  EXPECT_EQ(Store().FindFinishedKey("b", "k")->response_body, "first answer");
  // A repeat naming another Junction order is a bug in the caller: two Junction orders.
  LabOrder other = testing::OrderedAtJunction(before, "ju", "jo-2", kT0 + 1s);
  EXPECT_THROW(Store().SaveJunctionOrder("k", other, FirstStep("order-1", kT0), 201, "{}"),
               std::logic_error);
  EXPECT_EQ(Store().GetOrder("b", "order-1")->junction_order_id, "jo");
  // FinishKey on the finished key keeps the first answer too.
  Store().FinishKey("b", "k", 502, "late answer");
  EXPECT_EQ(Store().FindFinishedKey("b", "k")->response_body, "first answer");
}

// Each phase moves the key with a guarded UPDATE from the point before it: run twice, the second
// finds the key moved on and commits nothing.
// A request that outlived its lease and the completer can both save the patient's Junction
// user: the repeat is harmless, the key stays at user_ensured, and the later mapping stands.
TEST_P(StoreTest, SaveJunctionUserRepeatedIsHarmless) {
  RecordNewOrder("b", "k", "order-1", kT0);
  Store().SaveJunctionUser("b", "k", "order-1", "b:u", "ju-1", kT0 + 1s);
  EXPECT_NO_THROW(Store().SaveJunctionUser("b", "k", "order-1", "b:u", "ju-1", kT0 + 2s));
  EXPECT_EQ(Store().FindJunctionUser("b:u"), "ju-1");
  Store().ReleaseKey("b", "k");
  EXPECT_EQ(ClaimAt("b", "k", kT0 + 3s).record.recovery_point, RecoveryPoint::kUserEnsured);
}

// A patient whose Junction user is known: no user phase, the Junction order's commit takes the key
// from order_recorded to its answer, with the user id on the order.
TEST_P(StoreTest, SaveJunctionOrderStraightFromOrderRecordedFinishesTheKey) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  const std::string body = R"({"id":"order-1","status":"ordered"})";
  SaveOrdered("k", order, "ju-known", "jo-1", kT0 + 2s, body);

  LabOrder stored = *Store().GetOrder("b", "order-1");
  EXPECT_EQ(stored.junction_user_id, "ju-known");
  EXPECT_EQ(stored.junction_order_id, "jo-1");
  EXPECT_EQ(stored.status, "ordered");
  EXPECT_EQ(stored.updated_at, "2024-05-01T12:00:02+00:00");
  EXPECT_EQ(stored.version, 1);  // as the caller gave it: one up from the recorded order
  EXPECT_EQ(Store().QueuedJobCounts(),
            (std::vector<std::pair<std::string, int>>{{kJobAwaitRequisition, 1}}));
  std::optional<IdempotencyRecord> finished = Store().FindFinishedKey("b", "k");
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->recovery_point, RecoveryPoint::kFinished);
  EXPECT_EQ(finished->response_status, 201);
  EXPECT_EQ(finished->response_body, body);
  // The lease went with the answer: the key replays at once, to anyone with the request.
  Claim replay = ClaimAt("b", "k", kT0 + 3s);
  EXPECT_EQ(replay.result, ClaimResult::kFinished);
  EXPECT_EQ(replay.record.response_body, body);
  // Nothing is left to run on it.
  EXPECT_THROW(Store().SaveJunctionUser("b", "k", "order-1", "b:u", "ju", kT0 + 4s),
               std::logic_error);
  EXPECT_FALSE(Store().FindJunctionUser("b:u").has_value());
  EXPECT_TRUE(Store().ClaimStaleKeys(kT0 + 1h, kT0 + 1h, kT0 + 2h, 10).empty());
}

// A key an older version left at junction_order_created (its Junction order saved, its answer
// not): the last phase, repeated, only stores the answer.
TEST_P(StoreTest, SaveJunctionOrderOnALegacyJunctionOrderCreatedKeyStoresOnlyTheAnswer) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  database().Exec(
      "UPDATE lab_orders SET junction_user_id = 'ju', junction_order_id = 'jo', "
      "status = 'ordered', version = 1; "
      "UPDATE idempotency_keys SET recovery_point = 'junction_order_created'");
  LabOrder before = *Store().GetOrder("b", "order-1");

  LabOrder other = testing::OrderedAtJunction(before, "ju", "jo-2", kT0 + 1s);
  EXPECT_THROW(Store().SaveJunctionOrder("k", other, FirstStep("order-1", kT0 + 1s), 201, "{}"),
               std::logic_error);
  EXPECT_FALSE(Store().FindFinishedKey("b", "k").has_value());

  LabOrder again = testing::OrderedAtJunction(before, "ju", "jo", kT0 + 1s);
  Store().SaveJunctionOrder("k", again, FirstStep("order-1", kT0 + 1s), 201, "answer");
  EXPECT_EQ(Store().FindFinishedKey("b", "k")->response_body, "answer");
  LabOrder after = *Store().GetOrder("b", "order-1");
  EXPECT_EQ(after.version, before.version);
  EXPECT_EQ(after.updated_at, before.updated_at);
  // Its workflow was queued by the version that saved the Junction order, not again here.
  EXPECT_TRUE(Store().QueuedJobCounts().empty());
}

// A finished key is read from its own row, with no claim: the stored answer, or nothing.
TEST_P(StoreTest, FindFinishedKeyReturnsOnlyAFinishedKeysAnswer) {
  EXPECT_FALSE(Store().FindFinishedKey("b", "no-such-key").has_value());

  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  EXPECT_FALSE(Store().FindFinishedKey("b", "k").has_value());  // order_recorded
  Store().SaveJunctionUser("b", "k", "order-1", "b:u", "ju", kT0);
  EXPECT_FALSE(Store().FindFinishedKey("b", "k").has_value());  // user_ensured
  ++order.version;
  const std::string body = R"({"id":"order-1","status":"ordered"})";
  SaveOrdered("k", order, "ju", "jo", kT0 + 1s, body);

  std::optional<IdempotencyRecord> finished = Store().FindFinishedKey("b", "k");
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->brand_id, "b");
  EXPECT_EQ(finished->key, "k");
  EXPECT_EQ(finished->fingerprint, kFingerprint);
  EXPECT_EQ(finished->recovery_point, RecoveryPoint::kFinished);
  EXPECT_EQ(finished->order_id, "order-1");
  EXPECT_EQ(finished->response_status, 201);
  EXPECT_EQ(finished->response_body, body);
  EXPECT_EQ(finished->created_at, kT0);
  // Another brand's key of the same name is another key.
  EXPECT_FALSE(Store().FindFinishedKey("other", "k").has_value());
  // Another store (process) reads the same answer.
  EXPECT_EQ(OpenStore()->FindFinishedKey("b", "k")->response_body, body);
}

// A key an older version claimed before recording its order (started, no order) takes the order
// of the request that resumes it, with the same request only and once its lease is over.
TEST_P(StoreTest, LegacyStartedKeyAdoptsTheResumersOrder) {
  InsertLegacyStartedKey("b", "legacy", kT0, kT0 + 30s);

  // While its lease is live, and for another request, it takes no order.
  EXPECT_EQ(ClaimWith("legacy", MakeOrder("order-early", "b", kT0 + 1s), kT0 + 1s).result,
            ClaimResult::kInProgress);
  EXPECT_EQ(
      ClaimWith("legacy", MakeOrder("order-other", "b", kT0 + 31s), kT0 + 31s, "other").result,
      ClaimResult::kFingerprintMismatch);
  EXPECT_EQ(OrderCount(), "0");

  Claim resumed = ClaimWith("legacy", MakeOrder("order-1", "b", kT0 + 32s), kT0 + 32s);
  EXPECT_EQ(resumed.result, ClaimResult::kResumed);
  EXPECT_EQ(resumed.record.recovery_point, RecoveryPoint::kOrderRecorded);
  EXPECT_EQ(resumed.record.order_id, "order-1");
  EXPECT_EQ(resumed.record.created_at, kT0);
  ASSERT_TRUE(Store().GetOrder("b", "order-1").has_value());
  EXPECT_EQ(OrderCount(), "1");
  // Stored so: the next resumer finds the adopted order, and keeps it.
  Store().ReleaseKey("b", "legacy");
  Claim next = ClaimWith("legacy", MakeOrder("order-2", "b", kT0 + 33s), kT0 + 33s);
  EXPECT_EQ(next.result, ClaimResult::kResumed);
  EXPECT_EQ(next.record.recovery_point, RecoveryPoint::kOrderRecorded);
  EXPECT_EQ(next.record.order_id, "order-1");
  EXPECT_EQ(OrderCount(), "1");
  // And the phases go on from order_recorded.
  EXPECT_NO_THROW(Store().SaveJunctionUser("b", "legacy", "order-1", "b:u", "ju", kT0 + 34s));
}

// The order a claim of a used key brings is inserted and deleted again in its transaction:
// whatever the answer, no row of it stays.
TEST_P(StoreTest, ClaimOfAnExistingKeyLeavesNoStrayOrder) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  ASSERT_EQ(OrderCount(), "1");
  EXPECT_EQ(ClaimWith("k", MakeOrder("order-2", "b", kT0 + 1s), kT0 + 1s).result,
            ClaimResult::kInProgress);
  EXPECT_EQ(ClaimWith("k", MakeOrder("order-3", "b", kT0 + 2s), kT0 + 2s, "other").result,
            ClaimResult::kFingerprintMismatch);
  Store().ReleaseKey("b", "k");
  EXPECT_EQ(ClaimWith("k", MakeOrder("order-4", "b", kT0 + 3s), kT0 + 3s).result,
            ClaimResult::kResumed);
  SaveOrdered("k", order, "ju", "jo", kT0 + 4s);
  EXPECT_EQ(ClaimWith("k", MakeOrder("order-5", "b", kT0 + 5s), kT0 + 5s).result,
            ClaimResult::kFinished);
  EXPECT_EQ(ClaimWith("k", MakeOrder("order-6", "b", kT0 + 6s), kT0 + 6s, "other").result,
            ClaimResult::kFingerprintMismatch);
  EXPECT_EQ(OrderCount(), "1");
  EXPECT_EQ(database().QueryText("SELECT id FROM lab_orders"), "order-1");
  // Only the order's own first step is queued, and only its lab_order.created event exists.
  EXPECT_EQ(Store().QueuedJobCounts(),
            (std::vector<std::pair<std::string, int>>{{kJobAwaitRequisition, 1}}));
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM webhook_events"), "1");
  EXPECT_EQ(database().QueryText("SELECT order_id FROM webhook_events"), "order-1");
}

TEST_P(StoreTest, JunctionUserUpsertReplacesTheMapping) {
  RecordNewOrder("b", "k1", "order-1", kT0);
  RecordNewOrder("b", "k2", "order-2", kT0);
  Store().SaveJunctionUser("b", "k1", "order-1", "b:patient-42", "ju-1", kT0);
  Store().SaveJunctionUser("b", "k2", "order-2", "b:patient-42", "ju-2", kT0);
  EXPECT_EQ(Store().FindJunctionUser("b:patient-42"), "ju-2");
  EXPECT_FALSE(Store().FindJunctionUser("b:nobody").has_value());
}

TEST(StoreRecoveryPointTest, NamesAreSnakeCase) {
  EXPECT_STREQ(RecoveryPointName(RecoveryPoint::kStarted), "started");
  EXPECT_STREQ(RecoveryPointName(RecoveryPoint::kOrderRecorded), "order_recorded");
  EXPECT_STREQ(RecoveryPointName(RecoveryPoint::kUserEnsured), "user_ensured");
  EXPECT_STREQ(RecoveryPointName(RecoveryPoint::kJunctionOrderCreated), "junction_order_created");
  EXPECT_STREQ(RecoveryPointName(RecoveryPoint::kFinished), "finished");
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

// ---- PHI at rest -------------------------------------------------------------------------------

constexpr const char* kAllPhi[] = {kFirstName, kLastName, kEmail, kPhone,
                                   kDob,       kLine1,    kLine2, kCity};

// Every text column of every table of the store, as "table.column", from the backend's catalog.
std::vector<std::string> TextColumns(testing::TestDatabase& database) {
  const std::string list =
      database.backend() == StoreBackend::kSqlite
          ? database.QueryText(
                "SELECT group_concat(m.name || '.' || c.name, ',') FROM sqlite_master AS m "
                "JOIN pragma_table_info(m.name) AS c WHERE m.type = 'table' AND c.type = 'TEXT'")
          : database.QueryText(
                "SELECT string_agg(table_name || '.' || column_name, ',') "
                "FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type = 'text'");
  std::vector<std::string> columns;
  for (std::size_t start = 0; start < list.size();) {
    std::size_t end = std::min(list.find(',', start), list.size());
    columns.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return columns;
}

// Every value of one column, joined.
std::string ColumnValues(testing::TestDatabase& database, const std::string& table_dot_column) {
  const std::size_t dot = table_dot_column.find('.');
  const std::string table = table_dot_column.substr(0, dot);
  const std::string column = table_dot_column.substr(dot + 1);
  const char* aggregate =
      database.backend() == StoreBackend::kSqlite ? "group_concat" : "string_agg";
  return database.QueryText(std::string("SELECT ") + aggregate + "(\"" + column +
                            "\", '|') FROM \"" + table + "\"");
}

// What the server stores, column by column (on SQLite the file's bytes are checked below too).
TEST_P(StoreTest, NoStoredColumnHoldsPatientDataInPlaintext) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  Store().SaveJunctionUser("b", "k", "order-1", "b:patient-42", "junction-user-9", kT0);
  ++order.version;
  // A response body is sealed too, whatever it carries.
  SaveOrdered("k", order, "junction-user-9", "junction-order-7", kT0,
              std::string(R"({"echo":")") + kFirstName + kEmail + "\"}");

  std::vector<std::string> columns = TextColumns(database());
  // The catalog was read: the sealed columns are among those checked.
  for (const char* sealed : {"lab_orders.phi", "idempotency_keys.response_body"}) {
    EXPECT_NE(std::find(columns.begin(), columns.end(), sealed), columns.end()) << sealed;
  }
  std::string everything;
  for (const std::string& column : columns) {
    const std::string values = ColumnValues(database(), column);
    for (const char* phi : kAllPhi) {
      EXPECT_EQ(values.find(phi), std::string::npos) << phi << " in " << column;
    }
    everything += values;
  }
  // Ids are not PHI and stay readable, which also proves the values were read.
  EXPECT_NE(everything.find("patient-42"), std::string::npos);
  EXPECT_NE(everything.find("junction-order-7"), std::string::npos);
}

// WAL lets readers and the writer work at once; the mode is stored in the file's header (bytes
// 18 and 19, the write and read format versions: 2 means WAL), so it outlives the connection.
TEST_F(SqliteStoreTest, TheFileIsInWalMode) {
  Store();
  std::string header = ReadFileBytes(path()).substr(0, 20);
  ASSERT_EQ(header.size(), 20u);
  EXPECT_EQ(header[18], 2);
  EXPECT_EQ(header[19], 2);
  store_.reset();
  header = ReadFileBytes(path()).substr(0, 20);
  EXPECT_EQ(header[18], 2);
  EXPECT_EQ(header[19], 2);
}

TEST_F(SqliteStoreTest, PatientDataNeverReachesTheFileInPlaintext) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  // A response body is sealed too, whatever it carries.
  SaveOrdered("k", order, "ju", "jo", kT0,
              std::string(R"({"echo":")") + kFirstName + kEmail + "\"}");

  auto assert_no_phi = [&](const std::string& when) {
    for (const char* suffix : {"", "-wal"}) {
      std::filesystem::path file = path() + suffix;
      if (!std::filesystem::exists(file)) continue;
      std::string bytes = ReadFileBytes(file);
      for (const char* phi : kAllPhi) {
        EXPECT_EQ(bytes.find(phi), std::string::npos) << phi << " in " << file << " " << when;
      }
    }
  };
  ASSERT_TRUE(std::filesystem::exists(path() + "-wal"));
  assert_no_phi("while open");
  // Ids are not PHI and stay queryable, which also proves we looked at the right bytes.
  std::string bytes = ReadFileBytes(path()) + ReadFileBytes(path() + "-wal");
  EXPECT_NE(bytes.find("patient-42"), std::string::npos);
  store_.reset();  // checkpoints the WAL into the main file
  assert_no_phi("after close");
}

TEST_P(StoreTest, ReopeningWithTheSameKeyReadsTheOrderBack) {
  RecordNewOrder("b", "k", "order-1", kT0);
  store_.reset();
  std::unique_ptr<SqlStore> reopened = OpenStore();
  EXPECT_TRUE(reopened->Ready());
  std::optional<LabOrder> order = reopened->GetOrder("b", "order-1");
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->patient.email, kEmail);
  EXPECT_EQ(order->address.line1, kLine1);
}

// A wrong PHI key is a configuration error, not an outage: reads of patient data throw
// std::runtime_error (not StoreUnavailable, and never a garbled order); everything without PHI
// still works.
TEST_P(StoreTest, ReopeningWithAnotherKeyThrowsOnPatientData) {
  RecordNewOrder("b", "k", "order-1", kT0);
  store_.reset();
  std::unique_ptr<SqlStore> reopened = OpenStore(std::string(32, 'w'));
  EXPECT_TRUE(reopened->Ready());
  try {
    reopened->GetOrder("b", "order-1");
    FAIL() << "expected a throw";
  } catch (const StoreUnavailable&) {
    FAIL() << "a wrong key is not an outage";
  } catch (const std::runtime_error& error) {
    EXPECT_EQ(std::string(error.what()).find(kFirstName), std::string::npos);
  }
  EXPECT_THROW(reopened->ListOrders("b", std::nullopt, 10, std::nullopt), std::runtime_error);
  EXPECT_EQ(reopened
                ->ClaimKey("b", "k", {kFingerprint}, kT0 + 1h, kT0 + 2h,
                           MakeOrder("order-2", "b", kT0 + 1h))
                .result,
            ClaimResult::kResumed);
}

TEST_P(StoreTest, SealedPatientDataCopiedToAnotherRowDoesNotDecrypt) {
  RecordNewOrder("b", "k1", "order-1", kT0);
  RecordNewOrder("b", "k2", "order-2", kT0);
  database().Exec(
      "UPDATE lab_orders SET phi = (SELECT phi FROM lab_orders WHERE id = 'order-1') "
      "WHERE id = 'order-2'");
  EXPECT_TRUE(Store().GetOrder("b", "order-1").has_value());
  EXPECT_THROW(Store().GetOrder("b", "order-2"), std::runtime_error);
}

// ---- unavailability ----------------------------------------------------------------------------

TEST_F(SqliteStoreTest, UnopenablePathIsUnavailable) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("no-such-dir-" + NewRandomUuid()) / "store.db")
          .string();
  EXPECT_THROW(SqliteStore(path, PhiCipher(kPhiKey)), StoreUnavailable);
}

TEST_F(SqliteStoreTest, LockHeldPastTheBusyTimeoutIsUnavailableAndNamesNoValues) {
  Store();
  SqliteStore impatient(path(), PhiCipher(kPhiKey), 50ms);
  // Another connection holds the file's write lock until released.
  std::latch held(1);
  std::latch release(1);
  std::thread holder([&] {
    SqliteDatabase database(path(), 5000ms);
    database.Transaction("hold", TransactionKind::kWrite, [&](SqlSession&) {
      held.count_down();
      release.wait();
    });
  });
  struct Release {
    std::latch& release;
    std::thread& holder;
    void Now() {
      if (!holder.joinable()) return;
      release.count_down();
      holder.join();
    }
    ~Release() { Now(); }
  } release_holder{release, holder};
  held.wait();

  try {
    impatient.ClaimKey("brand-secret", "key-secret", {kFingerprint}, kT0, kT0 + 30s,
                       MakeOrder("order-secret", "brand-secret", kT0));
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("ClaimKey"), std::string::npos) << message;
    EXPECT_EQ(message.find("brand-secret"), std::string::npos) << message;
    EXPECT_EQ(message.find("key-secret"), std::string::npos) << message;
  }
  release_holder.Now();
  // Nothing is stuck: the same connection works once the lock is gone.
  EXPECT_EQ(impatient
                .ClaimKey("brand-secret", "key-secret", {kFingerprint}, kT0, kT0 + 30s,
                          MakeOrder("order-secret", "brand-secret", kT0))
                .result,
            ClaimResult::kNew);
}

// Only PostgreSQL has a server that can lack the database.
class PostgresStoreTest : public StoreFixture {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kPostgres; }
};

TEST_F(PostgresStoreTest, MissingDatabaseIsUnavailable) {
  // The test's database, and one on the same server that nobody created.
  const std::string url = database().postgres_url();
  const std::size_t name_at = url.rfind('/') + 1;
  std::string missing_url = url;
  missing_url.replace(name_at, url.find('?', name_at) - name_at, "lo_test_missing");
  PostgresOptions options;
  options.connection_string = PostgresConnectionString(url);
  EXPECT_NO_THROW(PostgresStore(options, PhiCipher(kPhiKey)));
  options.connection_string = PostgresConnectionString(missing_url);
  try {
    PostgresStore store(options, PhiCipher(kPhiKey));
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    // The cause, as the server gave it: the operator learns which setting is wrong.
    const std::string message = error.what();
    EXPECT_NE(message.find("connect"), std::string::npos) << message;
    EXPECT_NE(message.find("database \"lo_test_missing\" does not exist"), std::string::npos)
        << message;
  }
  // A port nothing listens on: refused, and said so.
  options.connection_string = "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=5";
  try {
    PostgresStore store(options, PhiCipher(kPhiKey));
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("refused"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace lab_orders::store
