#pragma once

// The checks a QA scenario makes (fixtures/README.md): matchers on JSON values found by JSON
// pointer, and on the Junction calls the simulator received. Pure: no sockets, no processes.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lab_orders::replay {

// A scenario file that cannot be run as written; the message names the field.
struct ScenarioError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Replaces ${name} with saved values and ${env.X} with the environment variable X, in every
// string of value (keys included). Throws ScenarioError for a name never saved.
nlohmann::json Substitute(const nlohmann::json& value,
                          const std::map<std::string, std::string>& saved);

// Checks one value against a matcher: {"equals": v}, {"matches": "regex"}, {"present": true},
// {"absent": true}, or a bare string / number (equals). found is nullptr when the pointer
// reaches nothing. Returns what differed, or nullopt when it holds.
std::optional<std::string> CheckMatcher(const nlohmann::json& matcher, const nlohmann::json* found);

// Every "pointer": matcher of checks against document; one line per difference, prefixed by
// what (e.g. "step 2: body"). A pointer "/list/*/rest" holds when some element of the array at
// /list matches at /rest.
std::vector<std::string> CheckPointers(const nlohmann::json& checks, const nlohmann::json& document,
                                       const std::string& what);

// The "junction" block against the simulator's /_sim/calls list.
std::vector<std::string> CheckJunctionCalls(const nlohmann::json& expected,
                                            const nlohmann::json& calls);

// A "deliveries" step's checks against what the scenario's brand receiver got ({"type",
// "order_id", "status"} in arrival order): the types it acknowledged for "order", checked with
// "sequence", "starts_with", "includes" (in order), "first" and "counts".
std::vector<std::string> CheckBrandDeliveries(const nlohmann::json& expected,
                                              const nlohmann::json& deliveries);

// Short, one-line JSON for messages (long values cut).
std::string Brief(const nlohmann::json& value);

}  // namespace lab_orders::replay
