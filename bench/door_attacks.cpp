#include "door_attacks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <iostream>
#include <string_view>
#include <thread>

#include "bench_support.h"
#include "support/raw_http.h"

namespace lab_orders::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::milliseconds(100);

// A connected socket to the service, or -1.
int Connect(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool WouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

// Sends what the socket takes without blocking; false once the service has closed it.
bool SendSome(int fd, std::string_view bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 || WouldBlock();
}

// Reads whatever has arrived; false once the service has closed the connection.
bool Drain(int fd) {
  char buffer[16384];
  for (;;) {
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (got > 0) continue;
    return got < 0 && WouldBlock();
  }
}

enum class Kind { kNone, kSlowloris, kNeverRead, kIdle };

struct CrowdPlan {
  const char* name;
  Kind kind;
  int size;
};

// The crowd's connections, each opened with its kind's first bytes and kept at its kind's game
// every tick; a connection the service closed is opened again at the next tick.
class Crowd {
 public:
  Crowd(Kind kind, int size, unsigned short port)
      : kind_(kind), port_(port), fds_(size, -1), sent_(size, 0) {
    for (int i = 0; i < 50; ++i) pipeline_ += "GET /openapi.json HTTP/1.1\r\nHost: bench\r\n\r\n";
  }
  ~Crowd() {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }

  // Opens every connection; then plays until stop, a tick at a time.
  void Run(const std::atomic<bool>& stop) {
    for (std::size_t i = 0; i < fds_.size(); ++i) Open(fds_[i], i);
    for (long tick = 1; !stop; ++tick) {
      std::this_thread::sleep_for(kTick);  // the crowd's pace: a byte a second, say
      for (std::size_t i = 0; i < fds_.size(); ++i) {
        int& fd = fds_[i];
        if (fd >= 0 && Play(fd, tick, i)) continue;
        if (fd >= 0) {
          ::close(fd);
          fd = -1;
        }
        if (Open(fd, i)) ++comebacks_;
      }
    }
  }

  long long comebacks() const { return comebacks_; }

 private:
  bool Open(int& fd, std::size_t index) {
    fd = Connect(port_);
    sent_[index] = 0;
    if (fd < 0) return false;
    switch (kind_) {
      case Kind::kSlowloris:
        return SendSome(fd, "GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: ");
      case Kind::kNeverRead:
        return Pipeline(fd, index);
      case Kind::kIdle:
        return SendSome(fd, "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n");
      case Kind::kNone:
        break;
    }
    return true;
  }

  // One tick of a connection's game; false once the service has closed it.
  bool Play(int fd, long tick, std::size_t index) {
    switch (kind_) {
      case Kind::kSlowloris:  // a byte a second each, spread over the second; reads its 408
        if ((tick + long(index)) % 10 == 0 && !SendSome(fd, "a")) return false;
        return Drain(fd);
      case Kind::kNeverRead:  // more of the pipeline while the service still takes it
        return Pipeline(fd, index);
      case Kind::kIdle:  // reads its one answer, then sits
        return Drain(fd);
      case Kind::kNone:
        break;
    }
    return true;
  }

  // The next bytes of an endless pipeline of requests, from where the last send stopped.
  bool Pipeline(int fd, std::size_t index) {
    std::size_t& sent = sent_[index];
    const ssize_t n =
        ::send(fd, pipeline_.data() + sent, pipeline_.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return WouldBlock();
    sent = (sent + std::size_t(n)) % pipeline_.size();
    return true;
  }

  Kind kind_;
  unsigned short port_;
  std::vector<int> fds_;
  std::vector<std::size_t> sent_;  // bytes of the pipeline sent, per connection
  std::string pipeline_;
  long long comebacks_ = 0;
};

struct OrderOutcome {
  int status = 0;  // 0: no whole answer within the bound
  double ms = 0;
};

// One order on a new connection, timed from connect to its whole answer.
OrderOutcome SendOrder(unsigned short port, const std::string& request) {
  const Clock::time_point started = Clock::now();
  OrderOutcome outcome;
  try {
    testing::RawClient client(port);  // its 30 s receive bound: no answer is status 0
    client.Send(request);
    outcome.status = client.ReadOne().status;
  } catch (const Poco::Exception&) {
    // Refused, reset or timed out: no answer.
  }
  outcome.ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  return outcome;
}

double Percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t rank = std::size_t(fraction * double(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

DoorFigures RunOne(const CrowdPlan& plan, const Deployment& deployment, const std::string& run_id,
                   double seconds, long long first_order) {
  std::cerr << "(e) door: " << plan.name << " (" << plan.size << " connections), an order every "
            << kTick.count() << " ms for " << Fixed(seconds, 0) << " s...\n";
  Crowd crowd(plan.kind, plan.size, deployment.service_port);
  std::atomic<bool> stop{false};
  std::thread crowd_thread([&] { crowd.Run(stop); });
  // The crowd in place for a few seconds first: slowloris heads are then well under way.
  std::this_thread::sleep_for(std::chrono::seconds(2));

  // Open loop: an order every tick, each on its own thread, however long the others take.
  std::vector<std::future<OrderOutcome>> orders;
  const int count = std::max(1, int(seconds * 1000 / double(kTick.count())));
  Clock::time_point next = Clock::now();
  for (int i = 0; i < count; ++i) {
    const std::string request = OrderRequest(deployment, run_id, first_order + i);
    orders.push_back(std::async(std::launch::async, SendOrder, deployment.service_port, request));
    next += kTick;
    std::this_thread::sleep_until(next);
  }
  DoorFigures figures;
  figures.crowd = plan.name;
  figures.crowd_size = plan.size;
  figures.orders_sent = count;
  std::vector<double> latencies;
  for (auto& order : orders) {
    const OrderOutcome outcome = order.get();
    ++figures.statuses[outcome.status];
    latencies.push_back(outcome.ms);
  }
  stop = true;
  crowd_thread.join();
  figures.comebacks = crowd.comebacks();
  figures.p50_ms = Percentile(latencies, 0.50);
  figures.p99_ms = Percentile(latencies, 0.99);
  figures.max_ms = Percentile(latencies, 1.0);
  return figures;
}

}  // namespace

std::vector<DoorFigures> RunDoorAttacks(const Deployment& deployment, const std::string& run_id,
                                        double seconds) {
  const CrowdPlan plans[] = {{"none", Kind::kNone, 0},
                             {"slowloris", Kind::kSlowloris, 200},
                             {"never read", Kind::kNeverRead, 100},
                             {"idle keep-alive", Kind::kIdle, 2000}};
  std::vector<DoorFigures> figures;
  long long first_order = 50'000'000;  // far from the numbers (a) and (b) use
  for (const CrowdPlan& plan : plans) {
    figures.push_back(RunOne(plan, deployment, run_id, seconds, first_order));
    first_order += 100'000;
  }
  return figures;
}

void PrintDoorFigures(const std::vector<DoorFigures>& figures) {
  std::cout << "\n(e) normal orders (one every " << kTick.count()
            << " ms, each on a new connection) while a crowd works on the front door\n";
  std::cout << "  crowd                 conn.  came back   orders   201   other           p50 ms"
               "   p99 ms   max ms\n";
  for (const DoorFigures& f : figures) {
    std::string other;
    for (const auto& [status, n] : f.statuses) {
      if (status == 201) continue;
      other += (other.empty() ? "" : " ") + std::to_string(n) + "x" +
               (status == 0 ? std::string("none") : std::to_string(status));
    }
    const auto created = f.statuses.find(201);
    char line[256];
    std::snprintf(line, sizeof line, "  %-20s %6d %10lld %8d %5d   %-14s %7.1f  %7.1f  %7.1f\n",
                  f.crowd.c_str(), f.crowd_size, f.comebacks, f.orders_sent,
                  created == f.statuses.end() ? 0 : created->second,
                  other.empty() ? "-" : other.c_str(), f.p50_ms, f.p99_ms, f.max_ms);
    std::cout << line;
  }
}

}  // namespace lab_orders::bench
