#pragma once

// The HTTP status of each error code. The codes live at the bottom (common/error.h), where every
// floor can raise them; what they mean in HTTP is decided here, at the edge, and nowhere else.

#include "lab_orders/common/error.h"

namespace lab_orders::http {

int HttpStatusFor(ErrorCode code);

}  // namespace lab_orders::http
