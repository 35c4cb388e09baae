#pragma once

// The brand's reads of an order's lab result: the latest version as JSON, and the lab's PDF
// report, fetched from Junction on demand (never stored: the sealed result is what is kept).
// Every read is an audit log line, with ids only (brand, user, order, result, request).

#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/junction/client.h"
#include "lab_orders/store/order_store.h"
#include "lab_orders/store/result_store.h"

namespace lab_orders::orders {

class ResultService {
 public:
  ResultService(store::OrderStore& orders, store::ResultStore& results,
                junction::ResultsClient& junction);

  // 404 not_found for another brand's or an unknown order; 404 result_not_ready before any.
  nlohmann::json Latest(const auth::Principal& principal, const std::string& order_id,
                        const std::string& request_id);
  // The lab's report (application/pdf); 404 result_not_ready while Junction has none yet; 502
  // when Junction fails.
  std::string Pdf(const auth::Principal& principal, const std::string& order_id,
                  const std::string& request_id);

 private:
  store::OrderStore& orders_;
  store::ResultStore& results_;
  junction::ResultsClient& junction_;
};

}  // namespace lab_orders::orders
