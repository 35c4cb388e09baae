#include "lab_orders/common/error.h"

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
    case ErrorCode::kResultNotReady:
      return "result_not_ready";
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
    case ErrorCode::kAppointmentNotCancellable:
      return "appointment_not_cancellable";
    case ErrorCode::kSlotUnavailable:
      return "slot_unavailable";
    case ErrorCode::kInvalidSignature:
      return "invalid_signature";
    case ErrorCode::kMalformedRequest:
      return "malformed_request";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kUriTooLong:
      return "uri_too_long";
    case ErrorCode::kHeadersTooLarge:
      return "headers_too_large";
    case ErrorCode::kHttpVersionNotSupported:
      return "http_version_not_supported";
    case ErrorCode::kRequestTimeout:
      return "request_timeout";
    case ErrorCode::kServerBusy:
      return "server_busy";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kIdempotencyKeyReused:
      return "idempotency_key_reused";
    case ErrorCode::kCollectionMethodUnavailable:
      return "collection_method_unavailable";
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

}  // namespace lab_orders
