#pragma once

// Scenario (e) of bench_load: normal orders, one every 100 ms, each on a new connection, while a
// hostile crowd works on the front door (issue 16): 200 slowloris clients trickling a request
// head a byte a second, 100 clients pipelining requests and never reading an answer, 2,000 idle
// keep-alive connections; and once with no crowd, for comparison. Each crowd member whose
// connection the service closes (a deadline, the idle limit) comes straight back, as a real one
// would. The figures are every order's status and its latency's p50, p99 and maximum.

#include <map>
#include <string>
#include <vector>

#include "load_phases.h"

namespace lab_orders::bench {

struct DoorFigures {
  std::string crowd;        // "none", "slowloris", "never read", "idle keep-alive"
  int crowd_size = 0;       // connections the crowd holds open
  long long comebacks = 0;  // crowd connections the service closed, opened again
  int orders_sent = 0;
  std::map<int, int> statuses;  // by HTTP status; 0: no answer within 30 s
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Each crowd in turn against the deployment's service for `seconds` of orders.
std::vector<DoorFigures> RunDoorAttacks(const Deployment& deployment, const std::string& run_id,
                                        double seconds);

void PrintDoorFigures(const std::vector<DoorFigures>& figures);

}  // namespace lab_orders::bench
