#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace lab_orders::junction {

// How a call to Junction ended. Callers decide what to do from this alone.
enum class Outcome {
  kSuccess,
  kUserConflict,       // POST /v2/user: the client_user_id exists; existing_user_id is set
  kValidation,         // 422 (or 400) with Junction's field errors
  kNotFound,           // 404
  kConflict,           // 409, or a 400 that says a slot or resource is taken
  kRejected,           // other 4xx (400, 401, 403) Junction will refuse again if repeated
  kRateLimited,        // 429, or 503 with Retry-After: try again later
  kServerError,        // other 5xx
  kTimeout,            // no answer in time; may_have_reached_junction says if it was sent
  kConnectionFailed,   // refused, reset or closed before an answer
  kMalformedResponse,  // an answer that is not the JSON the spec promises
  kTlsFailure,         // handshake or certificate verification failed
};

const char* OutcomeName(Outcome outcome);

// One field Junction refused. Junction's echo of the input value is deliberately not kept: it
// may hold patient data.
struct FieldError {
  std::string location;  // "body.patient_address.zip"
  std::string message;
  std::string type;
};

struct CallError {
  Outcome outcome = Outcome::kServerError;
  std::string operation;  // "create_order", ...
  int http_status = 0;    // 0 when no answer arrived
  std::optional<int> retry_after_seconds;
  // False only when Junction surely never saw the request (refused connection, failed TLS
  // handshake): then repeating it is always safe. Any answer, or silence after sending, is true.
  bool may_have_reached_junction = false;
  std::string existing_user_id;          // kUserConflict
  std::vector<FieldError> field_errors;  // kValidation
  // A short description safe for logs: never Junction's raw body, never patient data.
  std::string summary;
};

// Junction answered with a 4xx: it refused the request and acted on nothing. (A 5xx may come
// from a gateway in front of a request still going on.)
inline bool RefusedWithA4xx(const CallError& error) {
  return error.http_status >= 400 && error.http_status < 500;
}

template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT: implicit by design
  Result(CallError error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  Outcome outcome() const { return ok() ? Outcome::kSuccess : error().outcome; }

  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T* operator->() const { return &value(); }
  const T& operator*() const& { return value(); }
  const CallError& error() const { return std::get<CallError>(state_); }

 private:
  std::variant<T, CallError> state_;
};

}  // namespace lab_orders::junction
