#include "lab_orders/junction/measured_client.h"

namespace lab_orders::junction {
namespace {

std::vector<std::string> OutcomeNames() {
  std::vector<std::string> names;
  for (int outcome = int(Outcome::kSuccess); outcome <= int(Outcome::kTlsFailure); ++outcome) {
    names.push_back(OutcomeName(Outcome(outcome)));
  }
  return names;
}

}  // namespace

const std::vector<std::string>& JunctionOperationNames() {
  static const std::vector<std::string> names = {"create_user",
                                                 "resolve_user",
                                                 "list_lab_tests",
                                                 "create_order",
                                                 "get_order",
                                                 "cancel_order",
                                                 "area_info",
                                                 "availability",
                                                 "book_appointment",
                                                 "get_appointment",
                                                 "reschedule_appointment",
                                                 "cancel_appointment",
                                                 "cancellation_reasons",
                                                 "psc_info",
                                                 "psc_availability",
                                                 "psc_book_appointment",
                                                 "psc_get_appointment",
                                                 "psc_reschedule_appointment",
                                                 "psc_cancel_appointment",
                                                 "psc_cancellation_reasons",
                                                 "get_result",
                                                 "get_result_pdf"};
  return names;
}

MeasuredJunctionClient::MeasuredJunctionClient(JunctionClient& inner, metrics::Registry& registry)
    : JunctionClientDecorator(inner),
      calls_(registry.Counter(
          "lab_orders_junction_calls_total", "Calls to Junction by operation and outcome.",
          {{"operation", JunctionOperationNames()}, {"outcome", OutcomeNames()}})),
      durations_(registry.Histogram("lab_orders_junction_call_duration_seconds",
                                    "Time to a Junction call's outcome, in seconds.",
                                    {{"operation", JunctionOperationNames()}})) {}

void MeasuredJunctionClient::After(const char* operation, Outcome outcome,
                                   std::chrono::steady_clock::duration elapsed) {
  calls_.Inc({operation, OutcomeName(outcome)});
  durations_.Observe({operation}, std::chrono::duration<double>(elapsed).count());
}

}  // namespace lab_orders::junction
