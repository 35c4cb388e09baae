#pragma once

// Durable state: orders, idempotency keys with their recovery points, Junction users.
// Each method is one transaction: the local writes between two Junction calls commit together.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/model/order.h"

namespace lab_orders::store {

using TimePoint = std::chrono::system_clock::time_point;

// How far the work behind an idempotency key got (Stripe-style recovery points).
enum class RecoveryPoint {
  kStarted,               // key claimed, nothing else yet
  kOrderRecorded,         // our order row exists (status "received")
  kUserEnsured,           // the Junction user id is known and stored on the order
  kJunctionOrderCreated,  // Junction's order id is stored (status "ordered")
  kFinished,              // the answer is stored and replays
};
const char* RecoveryPointName(RecoveryPoint point);

struct IdempotencyRecord {
  std::string brand_id;
  std::string key;
  std::string fingerprint;  // hex SHA-256 of method, path and canonical body
  RecoveryPoint recovery_point = RecoveryPoint::kStarted;
  std::optional<std::string> order_id;
  std::optional<int> response_status;
  std::optional<std::string> response_body;
  TimePoint created_at;
};

enum class ClaimResult {
  kNew,                  // inserted, and this caller holds the lease
  kResumed,              // existed unfinished with no live lease: this caller now holds it
  kFinished,             // existed with a stored answer: replay it
  kInProgress,           // another caller holds a live lease
  kFingerprintMismatch,  // same key, different request
};

struct Claim {
  ClaimResult result;
  IdempotencyRecord record;
};

// The store cannot be reached or answered with an error: a 503, never a lost write.
struct StoreUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- jobs
// ----------------------------------------------------------------------------------------

// Kinds of work the job runner does (stored as these names).
inline constexpr const char* kJobAwaitRequisition = "await_requisition";
inline constexpr const char* kJobBookAppointment = "book_appointment";
inline constexpr const char* kJobAwaitConfirmation = "await_confirmation";
inline constexpr const char* kJobReconcile = "reconcile";
inline constexpr const char* kJobJunctionEvent = "junction_event";

// A durable unit of work. Each order with a Junction order and a workflow still to run has exactly
// one queued step job (every kind but junction_event); junction_event jobs carry a webhook.
struct Job {
  std::string id;
  std::string kind;
  std::string order_id;
  std::string payload;  // JSON text, never PHI; "" when the kind needs none
  int attempts = 0;     // failed or rescheduled runs of this job so far
  TimePoint due_at;
  TimePoint created_at;
  std::string lease_owner;  // who holds it now (set by a claim)
};

struct NewJob {
  std::string id;  // a fresh UUID from the caller
  std::string kind;
  std::string order_id;
  std::string payload;
  TimePoint due_at;
};

// What a job run decided, committed in one transaction by CompleteJob.
struct JobOutcome {
  // The order the run read, by version: if it changed since, nothing commits (VersionConflict)
  // and the run is retried against the new state. nullopt: the run did not depend on the order.
  std::optional<std::int64_t> expected_order_version;
  // Written to the order (status, updated_at, completed_at, workflow), bumping its version.
  std::optional<model::LabOrder> order_update;
  bool done = false;                      // else the job stays queued until retry_at
  TimePoint retry_at;                     // when !done
  int attempts = 0;                       // the job's attempt count from now on, when !done
  std::optional<std::string> last_error;  // why it was rescheduled: ids and codes only, no PHI
  std::vector<NewJob> enqueue;
  // Makes the order's queued step job due now (after a webhook told us something new).
  bool wake_order_step = false;
};

// The job's lease was lost (it expired and another worker took it): this run's result is void.
struct LeaseLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The order changed under a job run (another run or a webhook wrote it first).
struct VersionConflict : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- brand webhooks ----------------------------------------------------------------------------

// Where a brand receives its events. The secrets are sealed at rest like PHI.
struct WebhookEndpoint {
  std::string id;
  std::string brand_id;
  std::string url;
  std::vector<std::string> event_types;  // the types it receives; empty: every type
  std::string secret;                    // "whsec_..."
  // The secret a rotation replaced, signing beside the new one until it expires.
  std::optional<std::string> previous_secret;
  std::optional<TimePoint> previous_secret_expires_at;
  bool disabled = false;  // a 410 from the receiver disables it: nothing more is sent
  TimePoint created_at;
};

// One event (outbox row) to one endpoint, as a dispatcher claims it: the exact bytes to send and
// the endpoint's address and secrets as they are now.
struct WebhookDelivery {
  std::string id;
  std::string event_id;  // "msg_...": the webhook-id, the same on every attempt
  std::string event_type;
  std::string order_id;
  std::string payload;  // the envelope, sent byte for byte on every attempt
  int attempts = 0;     // attempts made before this one
  // Of those, the ones since the retry schedule last started (at creation, or a resend).
  int scheduled_attempts = 0;
  WebhookEndpoint endpoint;
  std::string lease_owner;
};

// What one attempt did and what follows, committed by FinishDeliveryAttempt.
struct DeliveryOutcome {
  enum class Next {
    kDelivered,        // 2xx: done
    kRetry,            // due again at retry_at
    kGiveUp,           // retries exhausted: failed (later events of the order go on)
    kDisableEndpoint,  // 410: failed, and the endpoint is disabled
  };
  Next next = Next::kRetry;
  TimePoint attempted_at;
  std::optional<int> status;  // the receiver's HTTP status, when it answered
  std::int64_t latency_ms = 0;
  std::string error;   // "" or a short code (timeout, connection_failed, redirect, ...), no body
  TimePoint retry_at;  // when kRetry
};

// One attempt of a delivery, as the brand's delivery log shows it.
struct WebhookAttempt {
  int attempt = 0;  // 1 for the first
  TimePoint attempted_at;
  std::optional<int> status;  // the receiver's HTTP status, when it answered
  std::int64_t latency_ms = 0;
  std::string error;  // "" or the short code of DeliveryOutcome::error
};

// A delivery as the brand's delivery log shows it: no payload, no secret.
struct WebhookDeliveryRecord {
  std::string id;
  std::string endpoint_id;
  std::string event_id;  // the webhook-id
  std::string event_type;
  std::string order_id;
  std::string state;  // "pending", "delivered" or "failed"
  int attempt_count = 0;
  std::optional<TimePoint> next_attempt_at;  // while pending
  TimePoint created_at;
  std::vector<WebhookAttempt> attempts;  // the latest kListedAttempts, oldest first
};

// How many of a delivery's attempts its record lists (resends can make many).
inline constexpr int kListedAttempts = 10;

enum class OrderJobClaim {
  kClaimed,  // the order's step job is now held by the caller
  kBusy,     // a worker or another request holds it
  kNone,     // the order has no queued step job (its workflow has ended or not begun)
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending versioned migrations; idempotent.
  virtual void Migrate() = 0;
  // Reachable, and every migration applied.
  virtual bool Ready() = 0;

  // Atomically claims (brand_id, key) for one caller until lease_until.
  virtual Claim ClaimKey(const std::string& brand_id, const std::string& key,
                         const std::string& fingerprint, TimePoint now, TimePoint lease_until) = 0;
  // Gives the lease up without finishing (after a 502): the next claim resumes.
  virtual void ReleaseKey(const std::string& brand_id, const std::string& key) = 0;

  // Phase commits. Each writes its rows and moves the key's recovery point in one transaction.
  virtual void RecordOrder(const std::string& key, const model::LabOrder& order) = 0;
  virtual void SaveJunctionUser(const std::string& brand_id, const std::string& key,
                                const std::string& order_id, const std::string& client_user_id,
                                const std::string& junction_user_id, TimePoint now) = 0;
  // Also queues the order's first workflow step, in the same transaction.
  virtual void SaveJunctionOrder(const std::string& brand_id, const std::string& key,
                                 const std::string& order_id, const std::string& junction_order_id,
                                 const std::string& status, TimePoint now,
                                 const NewJob& first_step) = 0;
  virtual void FinishKey(const std::string& brand_id, const std::string& key, int status,
                         const std::string& body) = 0;

  virtual std::optional<std::string> FindJunctionUser(const std::string& client_user_id) = 0;
  virtual std::optional<model::LabOrder> GetOrder(const std::string& brand_id,
                                                  const std::string& order_id) = 0;
  // Newest first; cursor is the last id of the previous page (opaque to callers).
  virtual std::vector<model::LabOrder> ListOrders(const std::string& brand_id,
                                                  const std::optional<std::string>& status,
                                                  int limit,
                                                  const std::optional<std::string>& cursor) = 0;

  // Deletes keys created before the cutoff; returns how many. Junction webhook receipts and
  // finished jobs older than the cutoff go too (Junction retries a webhook for about a day).
  virtual int ReapKeys(TimePoint created_before) = 0;
  // For the completer: unfinished keys created before the cutoff that have an order recorded
  // and no live lease, each now leased to the caller until lease_until. At most limit of them.
  virtual std::vector<IdempotencyRecord> ClaimStaleKeys(TimePoint created_before, TimePoint now,
                                                        TimePoint lease_until, int limit) = 0;

  // ---- the workflow ----
  // Any brand's order, for the workers (which act for the service, not for a caller).
  virtual std::optional<model::LabOrder> GetOrderById(const std::string& order_id) = 0;
  virtual std::optional<model::LabOrder> FindOrderByJunctionId(
      const std::string& junction_order_id) = 0;

  // Leases up to limit queued jobs due at now, oldest due first, to owner until lease_until.
  // A job whose lease has run out is due again: its worker died.
  virtual std::vector<Job> ClaimDueJobs(TimePoint now, TimePoint lease_until,
                                        const std::string& owner, int limit) = 0;
  // Leases the order's queued step job whatever its due time (for API actions on the order,
  // which must not run beside a worker). job is set when kClaimed.
  virtual OrderJobClaim ClaimOrderStep(const std::string& order_id, TimePoint now,
                                       TimePoint lease_until, const std::string& owner,
                                       Job* job) = 0;
  // Commits a run's outcome: order update, the job done or rescheduled (lease released), new
  // jobs, all or nothing. Throws LeaseLost when job.lease_owner no longer holds the job, and
  // VersionConflict when the order is not at expected_order_version.
  virtual void CompleteJob(const Job& job, const JobOutcome& outcome) = 0;
  // Writes the order while the job stays held, before a call whose outcome must not be lost
  // (the book call, which Junction cannot deduplicate). Same checks as CompleteJob; the order's
  // version goes up by one.
  virtual void CheckpointOrder(const Job& job, const model::LabOrder& order_update,
                               std::int64_t expected_order_version) = 0;
  // Gives a claimed job back untouched (due when it was), e.g. after an API action was refused.
  virtual void ReleaseJob(const Job& job) = 0;
  // The earliest due time of a queued job not leased, or of a lease running out, if any.
  virtual std::optional<TimePoint> NextJobDue() = 0;
  // Counts of queued jobs by kind (for tests and metrics).
  virtual std::vector<std::pair<std::string, int>> QueuedJobCounts() = 0;

  // A verified Junction webhook: false when its svix-id was recorded before (a duplicate, which
  // changes nothing). Otherwise records the id and queues job, in one transaction.
  virtual bool RecordJunctionWebhook(const std::string& svix_id, TimePoint now,
                                     const NewJob& job) = 0;

  // ---- brand webhooks ----
  // Order events are written by the phase and job commits above, in their own transactions
  // (the outbox): SaveJunctionOrder writes lab_order.created, CompleteJob and CheckpointOrder
  // the events of the change they write (model::OrderEventsFor), each fanned out to a delivery
  // per enabled endpoint of the brand that takes its type.
  virtual void CreateWebhookEndpoint(const WebhookEndpoint& endpoint) = 0;
  // The brand's endpoints, oldest first (deleted ones are gone).
  virtual std::vector<WebhookEndpoint> ListWebhookEndpoints(const std::string& brand_id) = 0;
  // False when the brand has no such endpoint. Its pending deliveries are dropped.
  virtual bool DeleteWebhookEndpoint(const std::string& brand_id, const std::string& id) = 0;
  // Leases up to limit due deliveries to owner until lease_until. A delivery is due when its
  // time has come, its endpoint is enabled and no earlier event of the same order is still
  // pending for the same endpoint: each endpoint gets an order's events in order.
  virtual std::vector<WebhookDelivery> ClaimDueDeliveries(TimePoint now, TimePoint lease_until,
                                                          const std::string& owner, int limit) = 0;
  // Records the attempt and what follows. Throws LeaseLost when owner no longer holds it.
  virtual void FinishDeliveryAttempt(const WebhookDelivery& delivery,
                                     const DeliveryOutcome& outcome) = 0;
  // Makes secret the endpoint's current one, the one it replaces signing beside it until
  // previous_expires_at (the old secret of an earlier rotation goes). The endpoint as it is now,
  // or nullopt when the brand has no such endpoint.
  virtual std::optional<WebhookEndpoint> RotateWebhookSecret(const std::string& brand_id,
                                                             const std::string& id,
                                                             const std::string& secret,
                                                             TimePoint previous_expires_at) = 0;
  // The endpoint's deliveries, newest first (event times are whole seconds: within one, by the
  // order's sequence), at most limit; cursor is the last id of the previous page. nullopt when
  // the brand has no such endpoint.
  virtual std::optional<std::vector<WebhookDeliveryRecord>> ListWebhookDeliveries(
      const std::string& brand_id, const std::string& endpoint_id, int limit,
      const std::optional<std::string>& cursor) = 0;
  // Makes the brand's delivery pending and due at now, with its retry schedule started afresh
  // and the same webhook-id; a 410-disabled endpoint is enabled again (else nothing would go).
  // An attempt in flight finishes as it would have. nullopt when the brand has no such delivery.
  virtual std::optional<WebhookDeliveryRecord> ResendWebhookDelivery(const std::string& brand_id,
                                                                     const std::string& id,
                                                                     TimePoint now) = 0;
};

}  // namespace lab_orders::store
