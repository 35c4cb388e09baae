#pragma once

// An order's lab results, read for the brand (GET /v1/labs/orders/{id}/result). They are written
// by the workflow's results step, with the order, through JobStore::CompleteJob.

#include <optional>
#include <string>

#include "lab_orders/model/order_result.h"

namespace lab_orders::store {

class ResultStore {
 public:
  virtual ~ResultStore() = default;

  // The latest version of the brand's own order's result; nullopt when the order is another
  // brand's, unknown, or has none yet. Opens the sealed document.
  virtual std::optional<model::OrderResult> LatestResult(const std::string& brand_id,
                                                         const std::string& order_id) = 0;
  // How many versions the order's result has (every one is kept).
  virtual int CountResultVersions(const std::string& order_id) = 0;
};

}  // namespace lab_orders::store
