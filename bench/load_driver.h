#pragma once

// A closed-loop HTTP/1.1 load driver on one thread with epoll: N keep-alive connections, each
// sending its next request as soon as the previous answer is in, for a fixed time. Made for
// the benchmarks (bench_load); it reports what wrk reports and what wrk cannot: answers by
// status, failures by kind, connections that never got an answer (starved), and its own CPU,
// so a run can show the driver was not the bottleneck.

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lab_orders::bench {

struct LoadPlan {
  unsigned short port = 0;  // on 127.0.0.1
  int connections = 1;
  double duration_s = 10;
  // Answers in the first warmup_s are left out of the rate, the statuses and the latencies
  // (connections opening, thread pools growing); failures and starvation count from the start.
  double warmup_s = 0;
  // A request unanswered this long counts as a timeout, and its connection is opened again.
  double request_timeout_s = 30;
  // The whole HTTP/1.1 request number n (0, 1, 2, ... over all connections).
  std::function<std::string(long long n)> request;
  // Told of every complete answer, warm-up included (e.g. which idempotency keys finished).
  std::function<void(long long n, int status)> on_answer;
};

struct LoadResult {
  double seconds = 0;                         // the measured time (after the warm-up)
  long long answered = 0;                     // complete answers in that time
  std::map<int, long long> statuses;          // those answers by HTTP status
  std::vector<double> latencies_ms;           // theirs, sorted
  std::map<std::string, long long> failures;  // over the whole run, by kind
  long long in_flight_at_end = 0;             // requests sent and not answered when time was up
  int connections = 0;
  int never_answered = 0;              // connections with no answer in the whole run: starved
  double slowest_first_answer_ms = 0;  // the longest a connection waited for its first answer
  double driver_cpu_s = 0;             // the driver thread's user + system CPU over the run
  double run_s = 0;                    // the whole run, warm-up included

  double Rate() const { return seconds > 0 ? double(answered) / seconds : 0; }
  double Percentile(double p) const;  // of latencies_ms; 0 when there are none
  double Max() const { return latencies_ms.empty() ? 0 : latencies_ms.back(); }
  long long Count(int status) const;
  // Driver CPU as a percentage of one core over the run.
  double DriverCpuPercent() const { return run_s > 0 ? 100 * driver_cpu_s / run_s : 0; }
};

LoadResult RunLoad(const LoadPlan& plan);

// A request's text: the method, the path, the headers given (Host, Content-Length and
// keep-alive are added) and the body.
std::string HttpRequestText(const std::string& method, const std::string& path,
                            const std::map<std::string, std::string>& headers,
                            const std::string& body = "");

}  // namespace lab_orders::bench
