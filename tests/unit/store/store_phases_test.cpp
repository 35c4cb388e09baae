// The Store's phases of a new order on every backend: each commit moves the key's recovery point
// forward with its rows, never twice or backwards, and keeps what it wrote as it was written.

#include "unit/store/store_test_fixture.h"

namespace lab_orders::store {
namespace {

using namespace store_test_support;  // the fixture, its constants and helpers

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

}  // namespace
}  // namespace lab_orders::store
