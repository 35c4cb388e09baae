#pragma once

#include <csignal>

namespace lab_orders {

// SIGINT and SIGTERM, as a set to wait on with sigwait().
sigset_t StopSignals();

// Blocks the stop signals in the calling thread and every thread it starts afterwards (call it
// first thing in main), and ignores SIGPIPE; POCO's ServerApplication can die on SIGTERM without
// a clean stop (poco#2978), so the main thread waits for them itself.
sigset_t BlockStopSignals();

}  // namespace lab_orders
