#include "lab_orders/http/api.h"

#include <Poco/Net/HTMLForm.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "lab_orders/common/json_depth.h"

namespace lab_orders::http {
namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 32;

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

json ParseJsonBody(const ApiRequest& request) {
  std::string type = Header(request, "content-type");
  std::string media = type.substr(0, type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (char& c : media) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (media != "application/json") {
    throw AppError(ErrorCode::kUnsupportedMediaType, "Send the body as application/json.");
  }
  if (JsonNestingDepth(request.body) > kMaxJsonDepth) {
    throw AppError(ErrorCode::kValidationError, "The request body is not valid.",
                   "nesting too deep", {{"", "nests deeper than the API allows"}});
  }
  // nlohmann rejects invalid UTF-8 as a parse error, so it never reaches the validator.
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    throw AppError(ErrorCode::kInvalidJson, "The request body is not valid JSON (UTF-8).");
  }
  return body;
}

bool IsOrderPath(const std::string& path, std::string* id) {
  const std::string prefix = "/v1/labs/orders/";
  if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size()) return false;
  std::string rest = path.substr(prefix.size());
  if (rest.find('/') != std::string::npos || rest.size() > 64) return false;
  *id = rest;
  return true;
}

}  // namespace

ApiResponse ErrorResponse(const AppError& error, const std::string& request_id) {
  json body = {{"error", ErrorCodeName(error.code())},
               {"message", error.what()},
               {"request_id", request_id}};
  if (!error.details().empty()) {
    json details = json::array();
    for (const FieldViolation& violation : error.details()) {
      details.push_back({{"path", violation.path}, {"message", violation.message}});
    }
    body["details"] = details;
  }
  ApiResponse response = JsonResponse(HttpStatusFor(error.code()), body);
  if (error.retry_after_seconds) {
    response.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
  }
  if (error.code() == ErrorCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return response;
}

Api::Api(orders::OrderService& orders, const auth::JwtVerifier& verifier, store::Store& store)
    : orders_(orders), verifier_(verifier), store_(store) {}

auth::Principal Api::Authenticate(const ApiRequest& request, const char* scope) const {
  std::string header = Header(request, "authorization");
  const std::string prefix = "Bearer ";
  if (header.size() <= prefix.size() ||
      !std::equal(prefix.begin(), prefix.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    throw AppError(ErrorCode::kUnauthenticated, "A Bearer token is required.");
  }
  auto verified = verifier_.Verify(std::string_view(header).substr(prefix.size()));
  if (auto* failure = std::get_if<auth::AuthFailure>(&verified)) {
    throw AppError(ErrorCode::kUnauthenticated, "The token is not valid.",
                   auth::AuthFailureName(*failure));
  }
  auth::Principal principal = std::get<auth::Principal>(verified);
  // Brand ids become part of Junction's client_user_id ("<brand>:<id>"): no separators in them.
  bool plain_brand = principal.brand_id.size() <= 64 &&
                     std::all_of(principal.brand_id.begin(), principal.brand_id.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                     });
  if (!plain_brand) {
    throw AppError(ErrorCode::kUnauthenticated, "The token's brand_id is not a usable id.",
                   "brand_id with separators");
  }
  if (!principal.HasScope(scope)) {
    throw AppError(ErrorCode::kForbidden, std::string("The token lacks the scope ") + scope + ".");
  }
  return principal;
}

ApiResponse Api::Handle(const ApiRequest& request) const {
  // Route fills in the route template and the brand as soon as it knows them, for the access log.
  ApiResponse context;
  auto with_context = [&](ApiResponse answer) {
    answer.route = context.route;
    answer.brand_id = context.brand_id;
    answer.headers.emplace_back("X-Request-Id", request.request_id);
    return answer;
  };
  try {
    if (shutting_down_ && request.path != "/healthz") {
      throw AppError(ErrorCode::kShuttingDown, "The service is shutting down; retry shortly.");
    }
    return with_context(Route(request, context));
  } catch (const AppError& error) {
    if (HttpStatusFor(error.code()) >= 500) {
      spdlog::warn("request {} failed: {} ({})", request.request_id, ErrorCodeName(error.code()),
                   error.log_detail());
    }
    return with_context(ErrorResponse(error, request.request_id));
  } catch (const store::StoreUnavailable& e) {
    spdlog::error("request {}: store unavailable: {}", request.request_id, e.what());
    return with_context(ErrorResponse(
        AppError(ErrorCode::kStoreUnavailable, "The service cannot reach its database; retry."),
        request.request_id));
  } catch (const std::exception& e) {
    spdlog::error("request {}: unexpected error: {}", request.request_id, e.what());
    return with_context(ErrorResponse(
        AppError(ErrorCode::kInternalError, "Something went wrong; retry."), request.request_id));
  }
}

ApiResponse Api::Route(const ApiRequest& request, ApiResponse& context) const {
  const std::string& method = request.method;
  const std::string& path = request.path;
  auto only = [&](const char* allowed) {
    if (method != allowed) {
      AppError error(ErrorCode::kMethodNotAllowed, std::string("Use ") + allowed + ".");
      throw error;
    }
  };
  if (path == "/healthz") {
    context.route = "/healthz";
    only("GET");
    return JsonResponse(200, {{"status", "ok"}});
  }
  if (path == "/readyz") {
    context.route = "/readyz";
    only("GET");
    if (!store_.Ready()) {
      throw AppError(ErrorCode::kStoreUnavailable, "The database is not ready.");
    }
    return JsonResponse(200, {{"status", "ready"}});
  }
  if (path == "/v1/labs/orders") {
    context.route = "/v1/labs/orders";
    if (method == "POST") {
      auth::Principal principal = Authenticate(request, "labs:orders:write");
      context.brand_id = principal.brand_id;
      json body = ParseJsonBody(request);
      orders::StoredAnswer answer =
          orders_.CreateOrder(principal, OptionalHeader(request, "idempotency-key"), body);
      ApiResponse response;
      response.status = answer.status;
      response.body = answer.body;
      if (answer.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
      return response;
    }
    only("GET");
    auth::Principal principal = Authenticate(request, "labs:orders:read");
    context.brand_id = principal.brand_id;
    Poco::Net::HTMLForm query;
    try {
      query.read(request.query);
    } catch (const Poco::Exception&) {
      throw AppError(ErrorCode::kValidationError, "The query string is not valid.");
    }
    int limit = 20;
    if (query.has("limit")) {
      const std::string& text = query.get("limit");
      bool digits = !text.empty() && text.size() <= 3 &&
                    text.find_first_not_of("0123456789") == std::string::npos;
      limit = digits ? std::stoi(text) : 0;
      if (limit < 1 || limit > 100) {
        throw AppError(ErrorCode::kValidationError, "The query is not valid.", "",
                       {{"/limit", "must be a whole number from 1 to 100"}});
      }
    }
    std::optional<std::string> status, cursor;
    if (query.has("status")) status = query.get("status");
    if (query.has("cursor")) cursor = query.get("cursor");
    return JsonResponse(200, orders_.ListOrders(principal, status, limit, cursor));
  }
  std::string order_id;
  if (IsOrderPath(path, &order_id)) {
    context.route = "/v1/labs/orders/{id}";
    only("GET");
    auth::Principal principal = Authenticate(request, "labs:orders:read");
    context.brand_id = principal.brand_id;
    return JsonResponse(200, orders_.GetOrder(principal, order_id));
  }
  context.route = "unknown";
  throw AppError(ErrorCode::kNotFound, "No such route.");
}

}  // namespace lab_orders::http
