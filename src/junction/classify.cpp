#include "classify.h"

#include <nlohmann/json.hpp>

#include "lab_orders/common/retry_after.h"

namespace lab_orders::junction {
namespace {

using nlohmann::json;

std::string LocationOf(const json& loc) {
  std::string out;
  if (!loc.is_array()) return out;
  for (const json& part : loc) {
    if (!out.empty()) out += '.';
    out += part.is_string() ? part.get<std::string>() : part.dump();
  }
  return out;
}

// FastAPI's 422 detail: an array of {loc, msg, type, input?}. "input" is dropped on purpose.
std::vector<FieldError> FieldErrorsOf(const json& detail) {
  std::vector<FieldError> errors;
  if (!detail.is_array()) return errors;
  for (const json& entry : detail) {
    if (!entry.is_object()) continue;
    FieldError error;
    error.location = LocationOf(entry.value("loc", json::array()));
    if (entry.contains("msg") && entry["msg"].is_string()) error.message = entry["msg"];
    if (entry.contains("type") && entry["type"].is_string()) error.type = entry["type"];
    errors.push_back(std::move(error));
  }
  return errors;
}

// Junction's 400s carry only prose; these are the ones that mean "someone else has it".
bool SaysTaken(const json& detail) {
  if (!detail.is_string()) return false;
  const std::string text = detail.get<std::string>();
  return text.find("no longer available") != std::string::npos ||
         text.find("already has an active appointment") != std::string::npos;
}

}  // namespace

CallError ClassifyFailure(const std::string& operation, const RawResponse& response,
                          std::chrono::system_clock::time_point now) {
  CallError error;
  error.operation = operation;
  error.http_status = response.status;
  error.may_have_reached_junction = true;
  json body = json::parse(response.body, nullptr, false);
  json detail = body.is_object() && body.contains("detail") ? body["detail"] : json(nullptr);
  if (auto it = response.headers.find("retry-after"); it != response.headers.end()) {
    error.retry_after_seconds = ParseRetryAfter(it->second, now);
  }
  const int status = response.status;
  const std::string prefix = "Junction answered " + std::to_string(status) + " to " + operation;

  if (status == 400 && operation == "create_user" && detail.is_object() &&
      detail.contains("user_id") && detail["user_id"].is_string()) {
    error.outcome = Outcome::kUserConflict;
    error.existing_user_id = detail["user_id"];
    error.summary = prefix + ": the client_user_id exists";
  } else if (status == 422) {
    error.outcome = Outcome::kValidation;
    error.field_errors = FieldErrorsOf(detail);
    error.summary = prefix + ": validation failed";
    for (const FieldError& field : error.field_errors) error.summary += " [" + field.location + "]";
  } else if (status == 409 || ((status == 400 || status == 404) && SaysTaken(detail))) {
    // The sandbox answers a taken slot with 400, production with 404 (docs/junction.md: Errors).
    error.outcome = Outcome::kConflict;
    error.summary = prefix + ": conflict";
  } else if (status == 404) {
    error.outcome = Outcome::kNotFound;
    error.summary = prefix + ": not found";
  } else if (status == 429 || (status == 503 && error.retry_after_seconds)) {
    error.outcome = Outcome::kRateLimited;
    error.summary = prefix + ": rate limited";
  } else if (status >= 500) {
    error.outcome = Outcome::kServerError;
    error.summary = prefix + ": server error";
  } else {
    error.outcome = Outcome::kRejected;
    error.summary = prefix + ": request refused";
  }
  return error;
}

}  // namespace lab_orders::junction
