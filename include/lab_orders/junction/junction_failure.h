#pragma once

#include <string>

#include "lab_orders/common/error.h"
#include "lab_orders/junction/result.h"

namespace lab_orders::junction {

// The 502 a client reads when a Junction call fails: what Junction did, never its body.
// retry_hint ends the message ("retry with the same Idempotency-Key.", "retry.").
AppError JunctionFailure(const junction::CallError& error, const std::string& retry_hint);

}  // namespace lab_orders::junction
