#include "lab_orders/app/error.h"

namespace lab_orders {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidJson:
      return "invalid_json";
    case ErrorCode::kValidationError:
      return "validation_error";
    case ErrorCode::kIdempotencyKeyMissing:
      return "idempotency_key_missing";
    case ErrorCode::kIdempotencyKeyInvalid:
      return "idempotency_key_invalid";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kIdempotencyRequestInProgress:
      return "idempotency_request_in_progress";
    case ErrorCode::kOrderNotCancellable:
      return "order_not_cancellable";
    case ErrorCode::kOrderBusy:
      return "order_busy";
    case ErrorCode::kOrderNotBookable:
      return "order_not_bookable";
    case ErrorCode::kAppointmentNotReschedulable:
      return "appointment_not_reschedulable";
    case ErrorCode::kSlotUnavailable:
      return "slot_unavailable";
    case ErrorCode::kInvalidSignature:
      return "invalid_signature";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kIdempotencyKeyReused:
      return "idempotency_key_reused";
    case ErrorCode::kJunctionUpstreamError:
      return "junction_upstream_error";
    case ErrorCode::kJunctionTimeout:
      return "junction_timeout";
    case ErrorCode::kJunctionUnavailable:
      return "junction_unavailable";
    case ErrorCode::kInternalError:
      return "internal_error";
    case ErrorCode::kStoreUnavailable:
      return "store_unavailable";
    case ErrorCode::kShuttingDown:
      return "shutting_down";
  }
  return "internal_error";
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidJson:
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
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kIdempotencyRequestInProgress:
    case ErrorCode::kOrderNotCancellable:
    case ErrorCode::kOrderBusy:
    case ErrorCode::kOrderNotBookable:
    case ErrorCode::kAppointmentNotReschedulable:
    case ErrorCode::kSlotUnavailable:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kIdempotencyKeyReused:
      return 422;
    case ErrorCode::kInternalError:
      return 500;
    case ErrorCode::kJunctionUpstreamError:
    case ErrorCode::kJunctionTimeout:
    case ErrorCode::kJunctionUnavailable:
      return 502;
    case ErrorCode::kStoreUnavailable:
    case ErrorCode::kShuttingDown:
      return 503;
  }
  return 500;
}

}  // namespace lab_orders
