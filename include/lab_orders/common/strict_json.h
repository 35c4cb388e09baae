#pragma once

// JSON text as the API takes it from outside: no deeper than its limit, well-formed, UTF-8, and
// with no object that names a member twice. RFC 8259 leaves the meaning of a repeated name open and
// parsers disagree (the first wins in some, the last in others, nlohmann keeps the last), so a body
// with one would mean one thing to us and another to whoever checked or signed it before us.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

namespace lab_orders {

struct TooDeep {};        // arrays and objects nest deeper than max_depth (found before parsing)
struct MalformedJson {};  // not JSON, or not UTF-8
struct RepeatedMember {
  std::string pointer;  // JSON pointer to the member named again, e.g. "/patient/dob"
};

std::variant<nlohmann::json, TooDeep, MalformedJson, RepeatedMember> ParseStrictJson(
    std::string_view text, int max_depth);

}  // namespace lab_orders
