#include "lab_orders/orders/result_service.h"

#include <spdlog/spdlog.h>

#include "lab_orders/common/error.h"
#include "lab_orders/junction/junction_failure.h"

namespace lab_orders::orders {
namespace {

// The audit trail of result reads: who read which order's result, under which request. Ids only.
void Audit(const char* what, const auth::Principal& principal, const std::string& order_id,
           const std::string& result_id, const std::string& request_id) {
  spdlog::info("audit: {} read: brand {} user {} order {} result {} request {}", what,
               principal.brand_id, principal.user_id, order_id, result_id, request_id);
}

}  // namespace

ResultService::ResultService(store::OrderStore& orders, store::ResultStore& results,
                             junction::ResultsClient& junction)
    : orders_(orders), results_(results), junction_(junction) {}

nlohmann::json ResultService::Latest(const auth::Principal& principal, const std::string& order_id,
                                     const std::string& request_id) {
  std::optional<model::OrderResult> result = results_.LatestResult(principal.brand_id, order_id);
  if (!result) {
    if (!orders_.GetOrder(principal.brand_id, order_id)) {
      throw AppError(ErrorCode::kNotFound, "No such order.");
    }
    throw AppError(ErrorCode::kResultNotReady, "The order has no result yet.");
  }
  Audit("result", principal, order_id, result->id, request_id);
  return model::ResultJson(*result);
}

std::string ResultService::Pdf(const auth::Principal& principal, const std::string& order_id,
                               const std::string& request_id) {
  std::optional<model::LabOrder> order = orders_.GetOrder(principal.brand_id, order_id);
  if (!order) throw AppError(ErrorCode::kNotFound, "No such order.");
  if (!order->workflow.result || !order->junction_order_id) {
    throw AppError(ErrorCode::kResultNotReady, "The order has no result yet.");
  }
  auto pdf = junction_.GetResultPdf(*order->junction_order_id);
  if (!pdf.ok()) {
    // Some labs issue no report until the result is final (docs/junction.md: Results).
    if (pdf.outcome() == junction::Outcome::kNotFound) {
      throw AppError(ErrorCode::kResultNotReady, "The lab's report is not available yet.");
    }
    throw junction::JunctionFailure(pdf.error(), "retry later.");
  }
  Audit("result report", principal, order_id, order->workflow.result->id, request_id);
  return std::move(pdf).value().bytes;
}

}  // namespace lab_orders::orders
