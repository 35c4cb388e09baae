#pragma once

// What the API's route files share: JSON answers, bodies, queries, methods and scopes. Internal to
// the http floor (src/http), not a part of its public headers.

#include <Poco/Net/HTMLForm.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/http/api.h"

namespace lab_orders::http::api_detail {

ApiResponse JsonResponse(int status, const nlohmann::json& body);

// A request header's value, "" (or nullopt) when it is absent.
std::string Header(const ApiRequest& request, const std::string& name);
std::optional<std::string> OptionalHeader(const ApiRequest& request, const std::string& name);

// 415 unless the media type (parameters aside) is application/json.
void RequireJsonMedia(std::string_view type);
void RequireJsonMedia(const ApiRequest& request);

// The body of a request already known to be application/json: strict (no repeated member,
// bounded depth, valid UTF-8), or the field-level 400.
nlohmann::json ParseJsonText(const ApiRequest& request);

// RequireJsonMedia, then ParseJsonText.
nlohmann::json ParseJsonBody(const ApiRequest& request);

// "<prefix>{id}[/action...]": the id and what follows it ("" for the resource itself).
bool IsResourcePath(const std::string& path, const std::string& prefix, std::string* id,
                    std::string* action);

// The route label of a request no route took (and of a 413 the server answered alone).
inline const std::string kUnknownRoute = "unknown";

// Every route template Route() sets: the bounded values of the route label.
std::vector<std::string> RouteTemplates();

// Every workflow::WebhookVerdict's name: the bounded values of the verdict label.
std::vector<std::string> WebhookVerdictNames();

// The query string, or 400.
void ParseQuery(const ApiRequest& request, Poco::Net::HTMLForm* query);

// A whole number of at most max_digits digits, or nullopt.
std::optional<int> WholeNumber(const std::string& text, size_t max_digits);

// ?limit= of a list: 1 to 100, 20 when absent.
int PageLimit(const Poco::Net::HTMLForm& query);

// ?cursor= of a list: the next_cursor of the page before.
std::optional<std::string> Cursor(const Poco::Net::HTMLForm& query);

// The scope of an order's result routes: results are PHI, apart from the order's own scopes.
inline constexpr const char* kResultsScope = "labs:results:read";

// The scope of the brand webhook routes.
inline constexpr const char* kWebhooksScope = "labs:webhooks:manage";

// The longest a GET may wait for a status (?wait_status=): it holds a server thread meanwhile.
inline constexpr int kMaxWaitMs = 30000;

// ?wait_ms= of a long poll: 0 to kMaxWaitMs, fallback when absent; otherwise 400 at /wait_ms.
int WaitMilliseconds(const Poco::Net::HTMLForm& query, int fallback);

// What a client is told of a token refused.
const char* TokenFailureMessage(auth::AuthFailure failure);

// The methods a route takes, as its Allow header lists them ("GET, POST"); another is 405,
// naming them all.
void RequireMethod(const ApiRequest& request, std::string_view allowed);

}  // namespace lab_orders::http::api_detail
