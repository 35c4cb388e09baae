#include "load_driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace lab_orders::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Milliseconds(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double ThreadCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

enum class State { kIdle, kConnecting, kWriting, kReading };

// One simulated client: a connection, opened again whenever it fails.
struct Client {
  int fd = -1;
  State state = State::kIdle;
  Clock::time_point started;  // when this client first tried to connect
  std::optional<Clock::time_point> first_answer;
  Clock::time_point retry_at;    // kIdle: when to connect again
  Clock::time_point connect_at;  // kConnecting: since when
  long long n = -1;              // the request in flight
  std::string out;
  size_t written = 0;
  Clock::time_point sent_at;
  std::string in;
  size_t header_end = 0;  // 0 until the header is complete
  size_t content_length = 0;
  int status = 0;
  bool close_after = false;
  bool blocked = false;  // a send would block: EPOLLOUT is watched too
};

// Status, Content-Length and Connection: close from a complete header block; false if it is
// not an HTTP/1.x answer with a length (the services here always send one).
bool ParseHeader(Client& client) {
  const std::string& in = client.in;
  if (in.compare(0, 7, "HTTP/1.") != 0 || in.size() < 12) return false;
  client.status = std::atoi(in.c_str() + 9);
  client.close_after = in.compare(0, 8, "HTTP/1.0") == 0;
  bool has_length = false;
  size_t line = in.find("\r\n") + 2;
  while (line < client.header_end) {
    size_t end = in.find("\r\n", line);
    size_t colon = in.find(':', line);
    if (colon != std::string::npos && colon < end) {
      std::string name = in.substr(line, colon - line);
      size_t value_at = in.find_first_not_of(' ', colon + 1);
      std::string value = in.substr(value_at, end - value_at);
      if (strcasecmp(name.c_str(), "Content-Length") == 0) {
        client.content_length = size_t(std::strtoull(value.c_str(), nullptr, 10));
        has_length = true;
      } else if (strcasecmp(name.c_str(), "Connection") == 0) {
        client.close_after = strcasecmp(value.c_str(), "close") == 0;
      } else if (strcasecmp(name.c_str(), "Transfer-Encoding") == 0) {
        return false;
      }
    }
    line = end + 2;
  }
  return has_length && client.status >= 100;
}

class Driver {
 public:
  explicit Driver(const LoadPlan& plan) : plan_(plan), clients_(size_t(plan.connections)) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error("epoll_create1 failed");
    address_.sin_family = AF_INET;
    address_.sin_port = htons(plan.port);
    address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Driver() {
    for (Client& client : clients_) Close(client);
    ::close(epoll_);
  }

  LoadResult Run() {
    double cpu_start = ThreadCpuSeconds();
    start_ = Clock::now();
    measure_from_ = start_ + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(plan_.warmup_s));
    end_ = start_ + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(plan_.duration_s));
    timeout_ = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(plan_.request_timeout_s));
    for (Client& client : clients_) {
      client.started = start_;
      Connect(client);
    }
    std::vector<epoll_event> events(1024);
    auto next_sweep = start_;
    while (true) {
      auto now = Clock::now();
      if (now >= end_) break;
      if (now >= next_sweep) {
        Sweep(now);
        next_sweep = now + std::chrono::milliseconds(50);
      }
      int wait_ms = int(std::max<long long>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(std::min(end_, next_sweep) - now)
                 .count()));
      int ready = ::epoll_wait(epoll_, events.data(), int(events.size()), wait_ms);
      if (ready < 0 && errno != EINTR) throw std::runtime_error("epoll_wait failed");
      for (int i = 0; i < ready; ++i) {
        Client& client = clients_[events[size_t(i)].data.u64];
        if (client.fd < 0) continue;
        if (client.state == State::kConnecting) {
          Connected(client);
        } else if (client.state == State::kWriting) {
          Write(client);
        } else if (client.state == State::kReading) {
          Read(client);
        } else if (client.state == State::kIdle) {
          // An answer after time was up, or the server closing: nothing more is sent.
          Close(client);
        }
      }
    }
    result_.run_s = std::chrono::duration<double>(Clock::now() - start_).count();
    result_.seconds = std::chrono::duration<double>(end_ - measure_from_).count();
    result_.connections = plan_.connections;
    for (Client& client : clients_) {
      if (client.state == State::kWriting || client.state == State::kReading) {
        ++result_.in_flight_at_end;
      }
      if (!client.first_answer) {
        ++result_.never_answered;
        result_.slowest_first_answer_ms =
            std::max(result_.slowest_first_answer_ms, Milliseconds(end_ - client.started));
      }
    }
    std::sort(result_.latencies_ms.begin(), result_.latencies_ms.end());
    result_.driver_cpu_s = ThreadCpuSeconds() - cpu_start;
    return std::move(result_);
  }

 private:
  void Fail(Client& client, const std::string& kind) {
    ++result_.failures[kind];
    Close(client);
    // Opened again after a pause, as a client would, not in a tight loop that measures the
    // driver (a server whose queue is full closes connections at once).
    client.retry_at = Clock::now() + std::chrono::milliseconds(50);
  }

  void Close(Client& client) {
    if (client.fd >= 0) ::close(client.fd);  // also leaves the epoll set
    client.fd = -1;
    client.state = State::kIdle;
  }

  void Watch(Client& client, uint32_t events, bool add) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = uint64_t(&client - clients_.data());
    ::epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, client.fd, &event);
  }

  void Connect(Client& client) {
    client.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (client.fd < 0) {
      Fail(client, std::string("socket: ") + std::strerror(errno));
      return;
    }
    int one = 1;
    ::setsockopt(client.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(client.fd, reinterpret_cast<sockaddr*>(&address_), sizeof address_);
    if (rc < 0 && errno != EINPROGRESS) {
      Fail(client, errno == ECONNREFUSED ? "connect refused"
                                         : std::string("connect: ") + std::strerror(errno));
      return;
    }
    client.state = State::kConnecting;
    client.blocked = false;
    client.connect_at = Clock::now();
    Watch(client, EPOLLOUT, true);
  }

  void Connected(Client& client) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(client.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      Fail(client, error == ECONNREFUSED ? "connect refused"
                                         : std::string("connect: ") + std::strerror(error));
      return;
    }
    Watch(client, EPOLLIN, false);
    Send(client);
  }

  // Registered for reading from the connection on; writing is watched only while a request
  // does not fit the socket buffer: no epoll_ctl per request.
  void Send(Client& client) {
    client.n = next_request_++;
    client.out = plan_.request(client.n);
    client.written = 0;
    client.in.clear();
    client.header_end = 0;
    client.sent_at = Clock::now();
    client.state = State::kWriting;
    Write(client);
  }

  void Write(Client& client) {
    bool was_blocked = client.blocked;
    while (client.written < client.out.size()) {
      ssize_t sent = ::send(client.fd, client.out.data() + client.written,
                            client.out.size() - client.written, MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          if (!client.blocked) Watch(client, EPOLLIN | EPOLLOUT, false);
          client.blocked = true;
          return;
        }
        Fail(client, errno == ECONNRESET || errno == EPIPE
                         ? "reset while sending"
                         : std::string("send: ") + std::strerror(errno));
        return;
      }
      client.written += size_t(sent);
    }
    client.blocked = false;
    if (was_blocked) Watch(client, EPOLLIN, false);
    client.state = State::kReading;
  }

  void Read(Client& client) {
    char buffer[65536];
    while (true) {
      ssize_t got = ::recv(client.fd, buffer, sizeof buffer, 0);
      if (got == 0) {
        Fail(client, client.in.empty() ? "closed without an answer" : "closed mid-answer");
        return;
      }
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        Fail(client, errno == ECONNRESET ? "reset" : std::string("recv: ") + std::strerror(errno));
        return;
      }
      client.in.append(buffer, size_t(got));
      if (client.header_end == 0) {
        size_t end = client.in.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        client.header_end = end + 4;
        if (!ParseHeader(client)) {
          Fail(client, "malformed answer");
          return;
        }
      }
      if (client.in.size() >= client.header_end + client.content_length) {
        Answered(client);
        return;
      }
    }
  }

  void Answered(Client& client) {
    auto now = Clock::now();
    if (!client.first_answer) {
      client.first_answer = now;
      result_.slowest_first_answer_ms =
          std::max(result_.slowest_first_answer_ms, Milliseconds(now - client.started));
    }
    if (now >= measure_from_) {
      ++result_.answered;
      ++result_.statuses[client.status];
      result_.latencies_ms.push_back(Milliseconds(now - client.sent_at));
    }
    if (plan_.on_answer) plan_.on_answer(client.n, client.status);
    if (now >= end_) {
      client.state = State::kIdle;
      return;
    }
    if (client.close_after) {
      Close(client);
      Connect(client);
      return;
    }
    Send(client);
  }

  // Timeouts, and clients waiting to connect again.
  void Sweep(Clock::time_point now) {
    for (Client& client : clients_) {
      if ((client.state == State::kWriting || client.state == State::kReading ||
           client.state == State::kConnecting) &&
          now - (client.state == State::kConnecting ? client.connect_at : client.sent_at) >
              timeout_) {
        Fail(client, client.state == State::kConnecting ? "connect timeout" : "timeout");
      }
      if (client.state == State::kIdle && client.fd < 0 && now >= client.retry_at) {
        Connect(client);
      }
    }
  }

  const LoadPlan& plan_;
  std::vector<Client> clients_;
  int epoll_ = -1;
  sockaddr_in address_{};
  Clock::time_point start_, measure_from_, end_;
  Clock::duration timeout_{};
  long long next_request_ = 0;
  LoadResult result_;
};

}  // namespace

double LoadResult::Percentile(double p) const {
  if (latencies_ms.empty()) return 0;
  size_t at = size_t(p * double(latencies_ms.size() - 1) + 0.5);
  return latencies_ms[std::min(at, latencies_ms.size() - 1)];
}

long long LoadResult::Count(int status) const {
  auto it = statuses.find(status);
  return it == statuses.end() ? 0 : it->second;
}

LoadResult RunLoad(const LoadPlan& plan) {
  if (plan.connections < 1 || !plan.request) throw std::invalid_argument("RunLoad: bad plan");
  Driver driver(plan);
  return driver.Run();
}

std::string HttpRequestText(const std::string& method, const std::string& path,
                            const std::map<std::string, std::string>& headers,
                            const std::string& body) {
  std::string text = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST") {
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  text += "\r\n";
  text += body;
  return text;
}

}  // namespace lab_orders::bench
