#pragma once

namespace lab_orders {

// Every log line becomes one JSON object on standard error: {"time", "level", "message"}, or,
// for a message that is itself a JSON object (the access log), its fields beside time and level.
void ConfigureJsonLogging();

}  // namespace lab_orders
