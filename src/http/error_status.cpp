#include "lab_orders/http/error_status.h"

namespace lab_orders::http {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidJson:
    case ErrorCode::kMalformedRequest:
    case ErrorCode::kValidationError:
    case ErrorCode::kIdempotencyKeyMissing:
    case ErrorCode::kIdempotencyKeyInvalid:
      return 400;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kInvalidSignature:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
    case ErrorCode::kResultNotReady:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kIdempotencyRequestInProgress:
    case ErrorCode::kOrderNotCancellable:
    case ErrorCode::kOrderBusy:
    case ErrorCode::kOrderNotBookable:
    case ErrorCode::kAppointmentNotReschedulable:
    case ErrorCode::kAppointmentNotCancellable:
    case ErrorCode::kSlotUnavailable:
      return 409;
    case ErrorCode::kRequestTimeout:
      return 408;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUriTooLong:
      return 414;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kHeadersTooLarge:
      return 431;
    case ErrorCode::kIdempotencyKeyReused:
    case ErrorCode::kCollectionMethodUnavailable:
      return 422;
    case ErrorCode::kInternalError:
      return 500;
    case ErrorCode::kJunctionUpstreamError:
    case ErrorCode::kJunctionTimeout:
    case ErrorCode::kJunctionUnavailable:
      return 502;
    case ErrorCode::kStoreUnavailable:
    case ErrorCode::kShuttingDown:
    case ErrorCode::kServerBusy:
      return 503;
    case ErrorCode::kHttpVersionNotSupported:
      return 505;
  }
  return 500;
}

}  // namespace lab_orders::http
