#pragma once

// The workflow's durable jobs, and the orders they work on.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/model/order.h"
#include "lab_orders/model/order_result.h"
#include "lab_orders/store/store_errors.h"

namespace lab_orders::store {

// Kinds of work the job runner does (stored as these names).
inline constexpr const char* kJobAwaitRequisition = "await_requisition";
inline constexpr const char* kJobBookAppointment = "book_appointment";
inline constexpr const char* kJobAwaitConfirmation = "await_confirmation";
inline constexpr const char* kJobReconcile = "reconcile";
inline constexpr const char* kJobJunctionEvent = "junction_event";
inline constexpr const char* kJobFetchResults = "fetch_results";
inline constexpr const char* kJobSwitchChannel = "switch_channel";

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
  // The order's step when it has none queued (its workflow had ended: a result corrected after
  // completion); otherwise the queued one is woken, as wake_order_step does.
  std::optional<NewJob> order_step_if_none;
  // A new version of the order's result, stored (sealed) with the order update that names it.
  std::optional<model::OrderResult> new_result;
  // Run once the outcome has committed, never for one that did not (a run retried after a
  // VersionConflict must not count a metric twice).
  std::function<void()> after_commit;
};

enum class OrderJobClaim {
  kClaimed,  // the order's step job is now held by the caller
  kBusy,     // a worker or another request holds it
  kNone,     // the order has no queued step job (its workflow has ended or not begun)
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Any brand's order, for the workers (which act for the service, not for a caller).
  virtual std::optional<model::LabOrder> GetOrderById(const std::string& order_id) = 0;
  virtual std::optional<model::LabOrder> FindOrderByJunctionId(
      const std::string& junction_order_id) = 0;
  // The latest version of any order's result (opened), for the results step to compare with.
  virtual std::optional<model::OrderResult> LatestResultOfOrder(const std::string& order_id) = 0;

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
};

}  // namespace lab_orders::store
