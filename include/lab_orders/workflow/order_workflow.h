#pragma once

// The appointment workflow's steps (the contract: the order's life; docs/junction.md:
// End to end): await the requisition, book the earliest slot with async confirmation, await the
// provider's answer (rebooking after a cancellation), then reconcile slowly until the order ends;
// and whenever Junction announces results (partial, final, corrected, critical), fetch them.
// Each step is a job; each run reads the order, makes at most a few Junction calls, and commits
// what it learnt with the next step.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "lab_orders/common/backoff.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/junction/client.h"
#include "lab_orders/store/job_store.h"
#include "lab_orders/workflow/job_runner.h"

namespace lab_orders::workflow {

struct WorkflowSettings {
  BackoffPolicy requisition_poll{std::chrono::milliseconds(2000), std::chrono::minutes(5), 2.0};
  BackoffPolicy confirmation_poll{std::chrono::milliseconds(1000), std::chrono::minutes(1), 2.0};
  // Junction failing (5xx, timeouts, 429): retried this way, Retry-After as a floor.
  BackoffPolicy upstream_retry{std::chrono::milliseconds(1000), std::chrono::minutes(5), 2.0};
  // No slot far enough ahead: look again this often.
  std::chrono::milliseconds no_slot_retry{std::chrono::minutes(15)};
  // The earliest slot booked starts at least this far from now.
  std::chrono::minutes booking_lead{120};
  // A provider's cancellation is rebooked until this many cancellations, then the order fails.
  int max_provider_cancellations = 3;
  // How often an order with a confirmed appointment is looked at, for webhooks that never came.
  std::chrono::milliseconds reconcile_interval{std::chrono::hours(6)};
  int sync_confirmation_timeout_ms = 2500;
  // How long Junction may still be making a booking after its call went out (the call's
  // deadline, JUNCTION_TIMEOUT_MS): a booking whose answer was lost (a crash, a dropped
  // connection) is looked up only after this, or it would show none yet and be sent again.
  std::chrono::milliseconds booking_settle{10000};
  int async_confirmation_timeout_ms = 15 * 60 * 1000;
  // A fasting panel's home visit starts before this hour on the slot's local clocks (the
  // availability's time zone).
  int fasting_latest_hour = 10;
  // Junction said results exist but does not serve them yet (its status runs ahead of its
  // result): asked again this way.
  BackoffPolicy results_poll{std::chrono::milliseconds(2000), std::chrono::minutes(10), 2.0};
  // Each panel's Junction lab tests (config/panels.json), by slug: a new Junction order for the
  // order's fallback channel orders the same tests.
  std::map<std::string, std::vector<std::string>> lab_test_ids;
};

// The order's address in the appointment's form (Junction calls the ZIP "zip_code" there).
junction::USAddress AppointmentAddressFor(const model::LabOrder& order);

// Whether a slot starting at start (RFC 3339) suits the order: any does, unless the panel is drawn
// fasting; then only one starting before latest_hour in timezone (the availability's; a slot
// whose local time cannot be told does not suit).
bool SlotSuits(const model::WorkflowState& state, const std::optional<std::string>& timezone,
               const std::string& start, int latest_hour);

class OrderWorkflow final : public JobHandler {
 public:
  OrderWorkflow(store::JobStore& store, junction::JunctionClient& junction, const Clock& clock,
                IdGenerator& ids, WorkflowSettings settings, JitterSource jitter = RandomJitter());

  store::JobOutcome Run(const store::Job& job) override;

  // For an API action that changed the order while holding its step job: commits the order
  // (read is what the action read) and goes on to the step the new state calls for.
  store::JobOutcome ContinueAfterAction(const store::Job& job, model::LabOrder& order,
                                        const model::LabOrder& read);
  const WorkflowSettings& settings() const { return settings_; }
  // Counts the critical results Junction reports (lab_orders_critical_results_total).
  void UseMetrics(metrics::Registry& registry);

 private:
  // Each step reads and updates order in place; Run() attaches the order to the outcome.
  store::JobOutcome AwaitRequisition(const store::Job& job, model::LabOrder& order);
  store::JobOutcome BookAppointment(const store::Job& job, model::LabOrder& order);
  store::JobOutcome AwaitConfirmation(const store::Job& job, model::LabOrder& order);
  store::JobOutcome Reconcile(const store::Job& job, model::LabOrder& order);
  // Fetches the result Junction announced and keeps it as a new version when it differs.
  store::JobOutcome FetchResults(const store::Job& job, model::LabOrder& order);
  // Moves the order to channel_switch_to: a Junction order there, the old one cancelled.
  store::JobOutcome SwitchChannel(const store::Job& job, model::LabOrder& order);
  store::JobOutcome ApplyEvent(const store::Job& job);

  // The step to run next for what the order's state says now (nullopt: the workflow is over).
  std::optional<std::string> NextStepFor(const model::LabOrder& order) const;
  // Goes on to the step the order's state calls for, now; when that is this job's own step,
  // runs it again after poll_delay instead.
  store::JobOutcome Advance(const store::Job& job, const model::LabOrder& order,
                            std::chrono::milliseconds poll_delay, const std::string& why);
  // How long after entering a step it first runs.
  std::chrono::milliseconds FirstWait(const std::string& kind);
  store::JobOutcome Retry(const store::Job& job, std::chrono::milliseconds delay,
                          const std::string& why);
  store::JobOutcome RetryAfterFailure(const store::Job& job, const model::LabOrder& order,
                                      const junction::CallError& error);
  // After a cancellation the provider made: fails the order when the rebook limit is reached.
  void NoteCancellation(model::LabOrder& order);

  store::JobStore& store_;
  junction::JunctionClient& junction_;
  const Clock& clock_;
  IdGenerator& ids_;
  WorkflowSettings settings_;
  JitterSource jitter_;
  metrics::CounterFamily* critical_results_ = nullptr;
};

}  // namespace lab_orders::workflow
