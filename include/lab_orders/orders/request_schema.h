#pragma once

namespace lab_orders::orders {

// schemas/lab-order-request.schema.json, compiled in at build time.
const char* OrderRequestSchemaText();

}  // namespace lab_orders::orders
