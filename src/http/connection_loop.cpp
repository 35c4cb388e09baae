#include "http/connection_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "http/wire_response.h"

namespace lab_orders::http {
namespace {

using Clock = std::chrono::steady_clock;

// After its last answer a closing connection reads and drops what the client still sends, for
// this long or this much, so that the client reads the answer rather than a reset.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::size_t kMaxLingerBytes = 1 << 20;
// How often deadlines are checked: the granularity of every timeout.
constexpr std::chrono::milliseconds kSweepInterval{100};
// Refused connections being answered, beyond the cap: past this many they are closed unanswered.
constexpr std::size_t kMaxRefusedOpen = 1024;

std::string AddressOf(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof text);
  } else if (address.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text,
              sizeof text);
  }
  return text;
}

// The tags that tell the listening socket's and the wake-up's events from a connection's.
char listen_tag;
char wake_tag;

}  // namespace

struct ConnectionLoop::Connection {
  enum class Phase { kReading, kHandling, kWriting, kLingering, kClosing };

  Connection(int descriptor, std::string peer, IoThread& owner, bool admitted_, ReaderLimits limits)
      : fd(descriptor), address(std::move(peer)), io(owner), admitted(admitted_), reader(limits) {}

  const int fd;
  const std::string address;
  IoThread& io;
  const bool admitted;  // counted against the caps (a refused one is only being answered)

  // Held by whoever acts on the connection: its I/O thread on an event or a deadline, or the
  // worker serving it. An armed connection (EPOLLONESHOT) gets one event at a time, so this is
  // contended only by the deadline sweep, which skips a connection it cannot lock.
  std::mutex mutex;
  Phase phase = Phase::kReading;
  Clock::time_point deadline;
  std::string input;  // received and not yet consumed: the request being read, and what follows
  RequestReader reader;
  bool head_deadline_set = false;
  bool body_deadline_set = false;
  bool continue_sent = false;
  ReadRequest request;  // the request being served
  std::string output;
  std::string_view output_tail;  // a compiled-in body sent after output, from where it lies
  std::size_t sent = 0;          // across output, then output_tail
  bool close_after_send = false;
  std::size_t lingered = 0;
};

struct ConnectionLoop::IoThread {
  int epoll = -1;
  int wake = -1;
  std::thread thread;
  // Touched by this I/O thread only; workers hold a connection only while it is kHandling, and
  // the I/O thread never closes one in that phase.
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections;
  bool accept_paused = false;  // out of descriptors: the listening socket is out of the set
};

ConnectionLoop::ConnectionLoop(LoopSettings settings, RequestHandlers handlers, WorkerPool& pool)
    : settings_(std::move(settings)), handlers_(std::move(handlers)), pool_(pool) {}

ConnectionLoop::~ConnectionLoop() {
  StopAccepting();
  Stop();
}

void ConnectionLoop::Start(Poco::Net::ServerSocket listening) {
  listening_ = std::move(listening);
  listening_.setBlocking(false);
  for (int i = 0; i < std::max(1, settings_.door.io_threads); ++i) {
    auto io = std::make_unique<IoThread>();
    io->epoll = epoll_create1(EPOLL_CLOEXEC);
    io->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (io->epoll < 0 || io->wake < 0) {
      throw std::system_error(errno, std::generic_category(), "http: epoll");
    }
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.ptr = &wake_tag;
    epoll_ctl(io->epoll, EPOLL_CTL_ADD, io->wake, &wake);
    if (!WatchListening(*io)) {
      throw std::system_error(errno, std::generic_category(), "http: epoll listen");
    }
    io_threads_.push_back(std::move(io));
  }
  for (auto& io : io_threads_) io->thread = std::thread([this, raw = io.get()] { Run(*raw); });
}

bool ConnectionLoop::WatchListening(IoThread& io) {
  // Each I/O thread waits on the listening socket; EXCLUSIVE wakes one of them per connection.
  epoll_event accept{};
  accept.events = EPOLLIN | EPOLLEXCLUSIVE;
  accept.data.ptr = &listen_tag;
  return epoll_ctl(io.epoll, EPOLL_CTL_ADD, listening_.impl()->sockfd(), &accept) == 0;
}

unsigned short ConnectionLoop::port() const { return listening_.address().port(); }

void ConnectionLoop::StopAccepting() {
  if (stopping_.exchange(true)) return;
  for (auto& io : io_threads_) {
    epoll_ctl(io->epoll, EPOLL_CTL_DEL, listening_.impl()->sockfd(), nullptr);
    const std::uint64_t one = 1;
    if (write(io->wake, &one, sizeof one) < 0) {
      // The eventfd cannot be full: it is read on every wake-up. Nothing to do.
    }
  }
  // Closed, not just unwatched: a client connecting now is refused at once, instead of waiting in
  // the backlog for a reset.
  if (listening_.impl()->initialized()) listening_.close();
}

void ConnectionLoop::Stop() {
  StopAccepting();
  if (exiting_.exchange(true)) return;
  for (auto& io : io_threads_) {
    const std::uint64_t one = 1;
    if (write(io->wake, &one, sizeof one) < 0) {
      // As above.
    }
  }
  for (auto& io : io_threads_) {
    if (io->thread.joinable()) io->thread.join();
    for (auto& [raw, connection] : io->connections) {
      close(connection->fd);
      if (connection->admitted) {
        Release(connection->address);
      } else {
        std::lock_guard lock(admission_mutex_);
        --refused_open_;
      }
    }
    io->connections.clear();
    close(io->epoll);
    close(io->wake);
  }
  io_threads_.clear();
}

std::size_t ConnectionLoop::Connections() const {
  std::lock_guard lock(admission_mutex_);
  return open_ + refused_open_;
}

void ConnectionLoop::Run(IoThread& io) {
  epoll_event events[128];
  Clock::time_point next_sweep = Clock::now() + kSweepInterval;
  bool swept_for_stop = false;
  while (!exiting_) {
    const int ready = epoll_wait(io.epoll, events, 128, int(kSweepInterval.count()));
    for (int i = 0; i < ready; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &wake_tag) {
        std::uint64_t count = 0;
        if (read(io.wake, &count, sizeof count) < 0) {
          // Already read by an earlier wake-up: nothing to do.
        }
      } else if (tag == &listen_tag) {
        try {
          Accept(io);
        } catch (const std::exception&) {
          spdlog::error(R"({{"event":"http_accept_failed"}})");
        }
      } else {
        auto& connection = *static_cast<Connection*>(tag);
        try {
          OnReady(io, connection, events[i].events);
        } catch (const std::exception&) {
          // Out of memory, say: this connection ends; the others go on.
          spdlog::error(R"({{"event":"http_connection_failed"}})");
          CloseSoon(connection);
        }
      }
    }
    const bool stopping = stopping_;
    if (Clock::now() >= next_sweep || (stopping && !swept_for_stop)) {
      Sweep(io, stopping);
      swept_for_stop = stopping;
      next_sweep = Clock::now() + kSweepInterval;
    }
  }
}

bool ConnectionLoop::Admit(const std::string& address) {
  std::lock_guard lock(admission_mutex_);
  std::size_t& from_address = per_address_[address];
  if (open_ >= settings_.door.max_connections ||
      from_address >= settings_.door.max_connections_per_address) {
    if (from_address == 0) per_address_.erase(address);
    return false;
  }
  ++open_;
  ++from_address;
  return true;
}

void ConnectionLoop::Release(const std::string& address) {
  std::lock_guard lock(admission_mutex_);
  --open_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

void ConnectionLoop::Accept(IoThread& io) {
  const int listen_fd = listening_.impl()->sockfd();
  for (int accepted = 0; accepted < 64; ++accepted) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: the kernel keeps the connection queued. The listening
        // socket (level-triggered) would wake this thread at once, for ever: it leaves the
        // epoll set until the next sweep, which closes what has expired.
        spdlog::warn(R"({{"event":"http_accept_paused","errno":{}}})", errno);
        epoll_ctl(io.epoll, EPOLL_CTL_DEL, listen_fd, nullptr);
        io.accept_paused = true;
      }
      return;
    }
    const std::string address = AddressOf(peer);
    const bool admitted = !stopping_ && Admit(address);
    if (!admitted) {
      std::lock_guard lock(admission_mutex_);
      if (refused_open_ >= kMaxRefusedOpen) {
        close(fd);  // a flood: answering each would hold the descriptors the cap protects
        continue;
      }
      ++refused_open_;
    }
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    auto owned = std::make_unique<Connection>(fd, address, io, admitted, settings_.limits);
    Connection& connection = *owned;
    io.connections.emplace(owned.get(), std::move(owned));
    // No lock: until its first event, which this thread handles, nobody else sees it.
    connection.deadline = Clock::now() + settings_.door.idle_timeout;
    epoll_event event{};
    event.data.ptr = &connection;
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    if (epoll_ctl(io.epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
      Close(io, connection);
      continue;
    }
    if (!admitted) {
      AppError busy(ErrorCode::kServerBusy, stopping_
                                                ? "The service is shutting down; retry shortly."
                                                : "Too many connections; retry shortly.");
      busy.retry_after_seconds = 1;
      Respond(connection, handlers_.refuse(busy, ReadRequest{}), false);
    }
  }
}

void ConnectionLoop::OnReady(IoThread& io, Connection& connection, std::uint32_t events) {
  std::unique_lock lock(connection.mutex);
  Next next = Next::kWait;
  switch (connection.phase) {
    case Connection::Phase::kReading: {
      bool end_of_input = false;
      char buffer[16384];
      // Reads what has arrived, but holds no more than a whole request and a little: a client
      // pipelining without reading answers waits for them. (The reader refuses a request before
      // its bytes reach this: a head over max_head, a body over max_body, chunk framing over
      // kMaxChunkedOverhead.)
      const std::size_t cap = settings_.limits.max_head + settings_.limits.max_body +
                              kMaxChunkedOverhead + sizeof buffer;
      while (connection.input.size() < cap) {
        const ssize_t got = recv(connection.fd, buffer, sizeof buffer, 0);
        if (got > 0) {
          connection.input.append(buffer, std::size_t(got));
          continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (got < 0 && connection.input.empty()) {  // reset by the client: nothing to answer
          lock.unlock();
          Close(io, connection);
          return;
        }
        end_of_input = true;
        break;
      }
      (void)events;
      next = Advance(connection, end_of_input);
      if (next == Next::kWait && connection.phase == Connection::Phase::kReading &&
          connection.input.size() >= cap) {
        // Never, with the reader's limits: but a full buffer and a readable socket must not spin.
        next = Respond(connection,
                       handlers_.refuse(AppError(ErrorCode::kPayloadTooLarge,
                                                 "The request is larger than the service accepts."),
                                        connection.reader.Head()),
                       false);
      }
      break;
    }
    case Connection::Phase::kWriting: {
      next = SendRest(connection);
      break;
    }
    case Connection::Phase::kLingering: {
      char buffer[16384];
      for (;;) {
        const ssize_t got = recv(connection.fd, buffer, sizeof buffer, 0);
        if (got > 0) {
          connection.lingered += std::size_t(got);
          if (connection.lingered < kMaxLingerBytes) continue;
        } else if (got < 0 && errno == EINTR) {
          continue;
        } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          Arm(connection, EPOLLIN | EPOLLRDHUP);
          return;
        }
        lock.unlock();  // the client's end, an error, or enough: done
        Close(io, connection);
        return;
      }
    }
    case Connection::Phase::kClosing:
      lock.unlock();
      Close(io, connection);
      return;
    case Connection::Phase::kHandling:
      return;  // not armed while a worker holds it; never here
  }
  if (next == Next::kServe) Dispatch(connection);
}

void ConnectionLoop::Dispatch(Connection& connection) {
  while (handlers_.serve_at_once) {
    std::optional<ApiResponse> answer = handlers_.serve_at_once(connection.request);
    if (!answer) break;
    const Next next = Respond(connection, *answer, connection.request.keep_alive && !stopping_);
    if (next == Next::kWait) return;
  }
  connection.phase = Connection::Phase::kHandling;
  if (pool_.TrySubmit([this, &connection] { ServeOnWorker(connection); })) return;
  AppError busy(ErrorCode::kServerBusy, "Every thread is busy; retry shortly.");
  busy.retry_after_seconds = 1;
  if (Respond(connection, handlers_.refuse(busy, connection.request), false) == Next::kServe) {
    Dispatch(connection);  // never: a closing connection serves nothing more
  }
}

void ConnectionLoop::ServeOnWorker(Connection& connection) {
  std::lock_guard lock(connection.mutex);
  try {
    Next next = Next::kServe;
    while (next == Next::kServe) {
      const ApiResponse response = handlers_.serve(connection.request);
      next = Respond(connection, response, connection.request.keep_alive && !stopping_);
    }
  } catch (...) {
    // Out of memory, say: the connection is closed, never left held (it would never be freed).
    CloseSoon(connection);
  }
}

ConnectionLoop::Next ConnectionLoop::Advance(Connection& connection, bool end_of_input) {
  const RequestReader::Status status = connection.reader.Advance(connection.input);
  if (status == RequestReader::Status::kRefused) {
    return Respond(connection,
                   handlers_.refuse(connection.reader.Refusal(), connection.reader.Head()), false);
  }
  if (status == RequestReader::Status::kComplete) {
    connection.request = connection.reader.TakeRequest();
    connection.request.peer_address = connection.address;
    connection.input.erase(0, connection.reader.Consumed());
    connection.reader.Reset();
    connection.head_deadline_set = connection.body_deadline_set = connection.continue_sent = false;
    return Next::kServe;
  }
  if (end_of_input) {
    if (!connection.reader.Started()) {
      CloseSoon(connection);  // a client done with its connection
      return Next::kWait;
    }
    // Whatever arrived is not the request the client meant: it is never processed.
    const AppError cut(ErrorCode::kMalformedRequest,
                       connection.reader.HeadComplete()
                           ? "The request body ended before its Content-Length or last chunk."
                           : "The connection ended in the middle of a request head.");
    return Respond(connection, handlers_.refuse(cut, connection.reader.Head()), false);
  }
  const Clock::time_point now = Clock::now();
  if (connection.reader.Started() && !connection.head_deadline_set) {
    connection.deadline = now + settings_.door.head_timeout;
    connection.head_deadline_set = true;
  }
  if (connection.reader.HeadComplete() && !connection.body_deadline_set) {
    connection.deadline = now + settings_.door.body_timeout;
    connection.body_deadline_set = true;
    if (connection.reader.Head().expects_continue && !connection.continue_sent) {
      // Tiny and the first thing written: a socket buffer always takes it.
      send(connection.fd, kContinueResponse.data(), kContinueResponse.size(), MSG_NOSIGNAL);
      connection.continue_sent = true;
    }
  }
  Arm(connection, EPOLLIN | EPOLLRDHUP);
  return Next::kWait;
}

ConnectionLoop::Next ConnectionLoop::Respond(Connection& connection, const ApiResponse& response,
                                             bool keep_alive) {
  WireOptions options;
  options.keep_alive = keep_alive;
  options.http_1_0 = connection.request.minor_version == 0;
  options.head_request = connection.request.method == "HEAD";
  if (response.static_body.empty()) {
    connection.output = WireResponse(response, options);
    connection.output_tail = {};
  } else {
    connection.output = WireHead(response, options);
    connection.output_tail =
        WireCarriesBody(response, options) ? response.static_body : std::string_view();
  }
  connection.sent = 0;
  connection.close_after_send = !keep_alive;
  connection.phase = Connection::Phase::kWriting;
  connection.deadline = Clock::now() + settings_.door.send_timeout;
  return SendRest(connection);
}

ConnectionLoop::Next ConnectionLoop::SendRest(Connection& connection) {
  const std::size_t total = connection.output.size() + connection.output_tail.size();
  while (connection.sent < total) {
    // The head and the body's rest in one call, neither copied.
    std::array<iovec, 2> parts{};
    std::size_t count = 0;
    if (connection.sent < connection.output.size()) {
      parts[count++] = {connection.output.data() + connection.sent,
                        connection.output.size() - connection.sent};
    }
    if (!connection.output_tail.empty()) {
      const std::size_t into_tail = connection.sent > connection.output.size()
                                        ? connection.sent - connection.output.size()
                                        : 0;
      // sendmsg does not write through iov_base; the cast only satisfies its type.
      parts[count++] = {const_cast<char*>(connection.output_tail.data()) + into_tail,
                        connection.output_tail.size() - into_tail};
    }
    msghdr message{};
    message.msg_iov = parts.data();
    message.msg_iovlen = count;
    const ssize_t wrote = sendmsg(connection.fd, &message, MSG_NOSIGNAL);
    if (wrote > 0) {
      connection.sent += std::size_t(wrote);
      continue;
    }
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Arm(connection, EPOLLOUT);  // the I/O thread sends the rest as the client reads
      return Next::kWait;
    }
    CloseSoon(connection);  // the client is gone
    return Next::kWait;
  }
  connection.output.clear();
  connection.output.shrink_to_fit();
  connection.output_tail = {};
  return AfterResponse(connection);
}

ConnectionLoop::Next ConnectionLoop::AfterResponse(Connection& connection) {
  if (connection.close_after_send) {
    Linger(connection);
    return Next::kWait;
  }
  connection.phase = Connection::Phase::kReading;
  connection.request = ReadRequest{};
  connection.deadline = Clock::now() + settings_.door.idle_timeout;
  if (!connection.input.empty()) return Advance(connection, false);  // pipelined
  Arm(connection, EPOLLIN | EPOLLRDHUP);
  return Next::kWait;
}

void ConnectionLoop::Arm(Connection& connection, std::uint32_t events) {
  epoll_event event{};
  event.data.ptr = &connection;
  event.events = events | EPOLLONESHOT;
  epoll_ctl(connection.io.epoll, EPOLL_CTL_MOD, connection.fd, &event);
}

void ConnectionLoop::CloseSoon(Connection& connection) {
  // Only the I/O thread closes (it owns the descriptor's entry); shut down, the socket is
  // reported at once, and closed there.
  connection.phase = Connection::Phase::kClosing;
  shutdown(connection.fd, SHUT_RDWR);
  Arm(connection, EPOLLIN | EPOLLOUT);
}

void ConnectionLoop::Linger(Connection& connection) {
  connection.phase = Connection::Phase::kLingering;
  connection.deadline = Clock::now() + kLingerTime;
  shutdown(connection.fd, SHUT_WR);
  Arm(connection, EPOLLIN | EPOLLRDHUP);
}

void ConnectionLoop::Sweep(IoThread& io, bool stopping) {
  const Clock::time_point now = Clock::now();
  std::vector<Connection*> expired;
  for (auto& [raw, connection] : io.connections) {
    std::unique_lock lock(connection->mutex, std::try_to_lock);
    if (!lock.owns_lock() || connection->phase == Connection::Phase::kHandling) continue;
    const bool idle =
        connection->phase == Connection::Phase::kReading && !connection->reader.Started();
    if (now < connection->deadline && !(stopping && idle)) continue;
    if (connection->phase == Connection::Phase::kReading && connection->reader.Started()) {
      // A head or body not received in time: told so, best effort, then closed.
      const ApiResponse timeout = handlers_.refuse(
          AppError(ErrorCode::kRequestTimeout, "The request was not received in time."),
          connection->reader.Head());
      const std::string wire = WireResponse(timeout, WireOptions{false, false, false});
      send(connection->fd, wire.data(), wire.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    expired.push_back(raw);
  }
  for (Connection* connection : expired) Close(io, *connection);
  if (io.accept_paused && !stopping) io.accept_paused = !WatchListening(io);
}

void ConnectionLoop::Close(IoThread& io, Connection& connection) {
  auto it = io.connections.find(&connection);
  if (it == io.connections.end()) return;
  std::unique_ptr<Connection> owned = std::move(it->second);
  io.connections.erase(it);
  close(owned->fd);  // also leaves the epoll set
  if (owned->admitted) {
    Release(owned->address);
  } else {
    std::lock_guard lock(admission_mutex_);
    --refused_open_;
  }
}

}  // namespace lab_orders::http
