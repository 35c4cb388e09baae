#include "lab_orders/junction/junction_failure.h"

namespace lab_orders::junction {

AppError JunctionFailure(const junction::CallError& error, const std::string& retry_hint) {
  using junction::Outcome;
  const std::string& log_detail = error.summary;
  switch (error.outcome) {
    case Outcome::kTimeout:
      return AppError(ErrorCode::kJunctionTimeout, "Junction did not answer in time; " + retry_hint,
                      log_detail);
    case Outcome::kConnectionFailed:
    case Outcome::kTlsFailure:
    case Outcome::kRateLimited: {
      AppError failure(ErrorCode::kJunctionUnavailable,
                       error.outcome == Outcome::kRateLimited
                           ? "Junction is busy; " + retry_hint
                           : "Junction could not be reached; " + retry_hint,
                       log_detail);
      failure.retry_after_seconds = error.retry_after_seconds;
      return failure;
    }
    default:
      return AppError(ErrorCode::kJunctionUpstreamError,
                      "Junction refused or failed the request" +
                          (error.http_status ? " (HTTP " + std::to_string(error.http_status) + ")"
                                             : std::string()) +
                          "; " + retry_hint,
                      log_detail);
  }
}

}  // namespace lab_orders::junction
