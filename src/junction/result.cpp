#include "lab_orders/junction/result.h"

namespace lab_orders::junction {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSuccess:
      return "success";
    case Outcome::kUserConflict:
      return "user_conflict";
    case Outcome::kValidation:
      return "validation";
    case Outcome::kNotFound:
      return "not_found";
    case Outcome::kConflict:
      return "conflict";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kRateLimited:
      return "rate_limited";
    case Outcome::kServerError:
      return "server_error";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kConnectionFailed:
      return "connection_failed";
    case Outcome::kMalformedResponse:
      return "malformed_response";
    case Outcome::kTlsFailure:
      return "tls_failure";
  }
  return "unknown";
}

}  // namespace lab_orders::junction
