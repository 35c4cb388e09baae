#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace lab_orders {

// An HTTP Retry-After value (RFC 9110 §10.2.3) as seconds from now: delay-seconds, or an
// IMF-fixdate taken relative to now (a date already past means 0) and capped at a day. nullopt
// when absent or unreadable. Read from Junction's answers and from brands' webhook endpoints.
std::optional<int> ParseRetryAfter(const std::string& value,
                                   std::chrono::system_clock::time_point now);

}  // namespace lab_orders
