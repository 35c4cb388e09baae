#pragma once

#include <chrono>
#include <string>

#include "lab_orders/junction/result.h"
#include "lab_orders/junction/transport.h"

namespace lab_orders::junction {

// What a non-2xx answer from Junction means for the caller. Pure: no I/O.
CallError ClassifyFailure(const std::string& operation, const RawResponse& response,
                          std::chrono::system_clock::time_point now);

}  // namespace lab_orders::junction
