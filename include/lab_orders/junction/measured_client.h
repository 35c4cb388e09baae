#pragma once

// A JunctionClient that counts every call by operation and outcome, and times it, for /metrics:
//   lab_orders_junction_calls_total{operation,outcome}
//   lab_orders_junction_call_duration_seconds{operation}
// Operation names are the client's own ("create_order", ...), outcomes OutcomeName's; no id or
// argument of a call ever becomes a label.

#include <chrono>

#include "lab_orders/common/metrics.h"
#include "lab_orders/junction/decorator.h"

namespace lab_orders::junction {

class MeasuredJunctionClient final : public JunctionClientDecorator {
 public:
  MeasuredJunctionClient(JunctionClient& inner, metrics::Registry& registry);

 private:
  void After(const char* operation, Outcome outcome,
             std::chrono::steady_clock::duration elapsed) override;

  metrics::CounterFamily& calls_;
  metrics::HistogramFamily& durations_;
};

// The operation names MeasuredJunctionClient labels calls with.
const std::vector<std::string>& JunctionOperationNames();

}  // namespace lab_orders::junction
