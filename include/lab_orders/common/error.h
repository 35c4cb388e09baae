#pragma once

// The service's one error type. Every failure a client can see is an AppError with a code from
// this closed list. What a code means in HTTP (its status, the JSON error envelope of the
// contract) is decided at the edge: http/error_status.h and http/api.cpp.

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lab_orders {

enum class ErrorCode {
  kInvalidJson,
  kValidationError,
  kIdempotencyKeyMissing,
  kIdempotencyKeyInvalid,
  kUnauthenticated,
  kForbidden,
  kNotFound,
  kMethodNotAllowed,
  kIdempotencyRequestInProgress,
  kOrderNotCancellable,
  kOrderBusy,                    // another request or a worker is acting on the order
  kOrderNotBookable,             // no Junction order or requisition yet, or the order has ended
  kAppointmentNotReschedulable,  // Junction says can_reschedule: false
  kAppointmentNotCancellable,    // no active appointment, or Junction refuses to cancel it
  kSlotUnavailable,              // the booking_key was taken or has expired
  kResultNotReady,               // the order has no result yet (404)
  kInvalidSignature,             // a Junction webhook that does not verify
  kMalformedRequest,             // HTTP framing RFC 9112 refuses (lengths, codings, a short body)
  kPayloadTooLarge,
  kUriTooLong,               // a request line over its limit
  kHeadersTooLarge,          // a request head over its limits
  kHttpVersionNotSupported,  // HTTP/2.0 and the like on an HTTP/1.1 socket
  kRequestTimeout,           // a request head or body not received within its deadline
  kServerBusy,               // every thread busy and the queue full, or too many connections
  kUnsupportedMediaType,
  kIdempotencyKeyReused,
  kCollectionMethodUnavailable,  // the channel asked for does not serve the patient's ZIP (422)
  kJunctionUpstreamError,
  kJunctionTimeout,
  kJunctionUnavailable,
  kInternalError,
  kStoreUnavailable,
  kShuttingDown,
  kRateLimited,  // too many requests from one client or for one link (429, Retry-After)
};

struct FieldViolation {
  std::string path;  // JSON pointer into the request body, e.g. "/patient/email"
  std::string message;
};

class AppError : public std::runtime_error {
 public:
  // message: what the client reads (no PHI, no upstream body). log_detail: what the log reads.
  AppError(ErrorCode code, std::string message, std::string log_detail = "",
           std::vector<FieldViolation> details = {})
      : std::runtime_error(message),
        code_(code),
        log_detail_(std::move(log_detail)),
        details_(std::move(details)) {}

  ErrorCode code() const { return code_; }
  const std::string& log_detail() const { return log_detail_; }
  const std::vector<FieldViolation>& details() const { return details_; }
  std::optional<int> retry_after_seconds;
  std::string allowed_methods;  // a 405's Allow header: "GET, POST"

 private:
  ErrorCode code_;
  std::string log_detail_;
  std::vector<FieldViolation> details_;
};

const char* ErrorCodeName(ErrorCode code);  // "validation_error", ...

}  // namespace lab_orders
