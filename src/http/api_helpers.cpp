#include "http/api_helpers.h"

#include <cctype>
#include <variant>

#include "lab_orders/common/error.h"
#include "lab_orders/common/strict_json.h"
#include "lab_orders/workflow/junction_webhook.h"

namespace lab_orders::http::api_detail {

using nlohmann::json;

namespace {
constexpr int kMaxJsonDepth = 32;
}  // namespace

ApiResponse JsonResponse(int status, const json& body) {
  ApiResponse response;
  response.status = status;
  response.body = body.dump();
  return response;
}

std::string Header(const ApiRequest& request, const std::string& name) {
  auto it = request.headers.find(name);
  return it == request.headers.end() ? "" : it->second;
}

std::optional<std::string> OptionalHeader(const ApiRequest& request, const std::string& name) {
  auto it = request.headers.find(name);
  if (it == request.headers.end()) return std::nullopt;
  return it->second;
}

void RequireJsonMedia(std::string_view type) {
  std::string media(type.substr(0, type.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (char& c : media) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (media != "application/json") {
    throw AppError(ErrorCode::kUnsupportedMediaType, "Send the body as application/json.");
  }
}

// The body of a request already known to be application/json.
json ParseJsonText(const ApiRequest& request) {
  // Invalid UTF-8 is a parse error, so it never reaches the validator.
  auto parsed = ParseStrictJson(request.body, kMaxJsonDepth);
  if (std::holds_alternative<TooDeep>(parsed)) {
    throw AppError(ErrorCode::kValidationError, "The request body is not valid.",
                   "nesting too deep", {{"", "nests deeper than the API allows"}});
  }
  if (auto* repeated = std::get_if<RepeatedMember>(&parsed)) {
    throw AppError(ErrorCode::kValidationError, "The request body is not valid.",
                   "a member named twice", {{repeated->pointer, "is given more than once"}});
  }
  if (std::holds_alternative<MalformedJson>(parsed)) {
    throw AppError(ErrorCode::kInvalidJson, "The request body is not valid JSON (UTF-8).");
  }
  return std::move(std::get<json>(parsed));
}

void RequireJsonMedia(const ApiRequest& request) {
  RequireJsonMedia(Header(request, "content-type"));
}

json ParseJsonBody(const ApiRequest& request) {
  RequireJsonMedia(request);
  return ParseJsonText(request);
}

// "<prefix>{id}[/action...]": the id and what follows it ("" for the resource itself).
bool IsResourcePath(const std::string& path, const std::string& prefix, std::string* id,
                    std::string* action) {
  if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size()) return false;
  std::string rest = path.substr(prefix.size());
  size_t slash = rest.find('/');
  *id = rest.substr(0, slash);
  *action = slash == std::string::npos ? "" : rest.substr(slash);
  return !id->empty() && id->size() <= 64;
}

// Every route template Route() sets: the bounded values of the route label. A route added
// without its template here is counted as "other".
std::vector<std::string> RouteTemplates() {
  return {"/healthz",
          "/readyz",
          "/metrics",
          "/openapi.json",
          "/docs",
          "/v1/labs/orders",
          "/v1/labs/orders/{id}",
          "/v1/labs/orders/{id}/cancel",
          "/v1/labs/orders/{id}/appointment/availability",
          "/v1/labs/orders/{id}/appointment",
          "/v1/labs/orders/{id}/appointment/cancel",
          "/v1/labs/cancellation-reasons",
          "/v1/labs/venues",
          "/v1/labs/orders/{id}/result",
          "/v1/labs/orders/{id}/result/pdf",
          "/v1/labs/orders/{id}/booking-url",
          "/book/{token}",
          "/book/{token}/status",
          "/book/assets/{file}",
          "/v1/webhooks/junction",
          "/v1/webhooks/endpoints",
          "/v1/webhooks/endpoints/{id}",
          "/v1/webhooks/endpoints/{id}/rotate-secret",
          "/v1/webhooks/endpoints/{id}/test",
          "/v1/webhooks/endpoints/{id}/deliveries",
          "/v1/webhooks/deliveries/{id}/resend",
          "unknown"};
}

std::vector<std::string> WebhookVerdictNames() {
  std::vector<std::string> names;
  for (int verdict = int(workflow::WebhookVerdict::kAccepted);
       verdict <= int(workflow::WebhookVerdict::kUnreadableBody); ++verdict) {
    names.push_back(workflow::WebhookVerdictName(workflow::WebhookVerdict(verdict)));
  }
  return names;
}

void ParseQuery(const ApiRequest& request, Poco::Net::HTMLForm* query) {
  try {
    query->read(request.query);
  } catch (const Poco::Exception&) {
    throw AppError(ErrorCode::kValidationError, "The query string is not valid.");
  }
}

// A whole number of at most max_digits digits, or nullopt.
std::optional<int> WholeNumber(const std::string& text, size_t max_digits) {
  bool digits = !text.empty() && text.size() <= max_digits &&
                text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) return std::nullopt;
  return std::stoi(text);
}

// ?limit= of a list: 1 to 100, 20 when absent.
int PageLimit(const Poco::Net::HTMLForm& query) {
  if (!query.has("limit")) return 20;
  const int limit = WholeNumber(query.get("limit"), 3).value_or(0);
  if (limit < 1 || limit > 100) {
    throw AppError(ErrorCode::kValidationError, "The query is not valid.", "",
                   {{"/limit", "must be a whole number from 1 to 100"}});
  }
  return limit;
}

// ?cursor= of a list: the next_cursor of the page before.
std::optional<std::string> Cursor(const Poco::Net::HTMLForm& query) {
  if (!query.has("cursor")) return std::nullopt;
  return query.get("cursor");
}

// What a client is told of a token refused. Past its signature a token is the issuer's own, and
// saying why (expired, too early, for another service) costs nothing; before, all look alike.
const char* TokenFailureMessage(auth::AuthFailure failure) {
  switch (failure) {
    case auth::AuthFailure::kExpired:
      return "The token has expired (or has no exp).";
    case auth::AuthFailure::kNotYetValid:
      return "The token is not valid yet (nbf).";
    case auth::AuthFailure::kWrongIssuer:
    case auth::AuthFailure::kWrongAudience:
      return "The token was issued for another service (iss or aud).";
    case auth::AuthFailure::kMissingClaims:
      return "The token lacks sub or brand_id.";
    case auth::AuthFailure::kMalformed:
    case auth::AuthFailure::kAlgorithmNotAllowed:
    case auth::AuthFailure::kBadSignature:
      break;
  }
  return "The token is not valid.";
}

// The methods a route takes, as its Allow header lists them ("GET, POST"); another is 405,
// naming them all.
void RequireMethod(const ApiRequest& request, std::string_view allowed) {
  std::string in_words = "Use ";
  for (std::size_t start = 0; start < allowed.size();) {
    std::size_t comma = allowed.find(", ", start);
    const std::string_view method = allowed.substr(start, comma - start);
    if (request.method == method) return;
    if (start > 0) in_words += comma == std::string_view::npos ? " or " : ", ";
    in_words += method;
    start = comma == std::string_view::npos ? allowed.size() : comma + 2;
  }
  AppError error(ErrorCode::kMethodNotAllowed, in_words + ".");
  error.allowed_methods = std::string(allowed);
  throw error;
}

int WaitMilliseconds(const Poco::Net::HTMLForm& query, int fallback) {
  if (!query.has("wait_ms")) return fallback;
  const int wait_ms = WholeNumber(query.get("wait_ms"), 5).value_or(-1);
  if (wait_ms < 0 || wait_ms > kMaxWaitMs) {
    throw AppError(ErrorCode::kValidationError, "The query is not valid.", "",
                   {{"/wait_ms", "must be a whole number from 0 to 30000"}});
  }
  return wait_ms;
}

}  // namespace lab_orders::http::api_detail
