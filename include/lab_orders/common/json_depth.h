#pragma once

#include <string_view>

namespace lab_orders {

// How deeply arrays and objects nest in a JSON text, found by a scan that does not parse or
// recurse: deep input can be refused before anything recursive (copying, printing, schema
// validation) touches it.
int JsonNestingDepth(std::string_view text);

}  // namespace lab_orders
