#pragma once

// Keeps calls to Junction under a configured rate, across every worker of the process: a
// decorator beside the metrics one (measured_client.h).

#include "lab_orders/common/token_bucket.h"
#include "lab_orders/junction/decorator.h"

namespace lab_orders::junction {

// A JunctionClient that takes a token from the bucket before every call.
class RateLimitedJunctionClient final : public JunctionClientDecorator {
 public:
  RateLimitedJunctionClient(JunctionClient& inner, TokenBucket& bucket)
      : JunctionClientDecorator(inner), bucket_(bucket) {}

 private:
  void Before(const char* /*operation*/) override { bucket_.Acquire(); }

  TokenBucket& bucket_;
};

}  // namespace lab_orders::junction
