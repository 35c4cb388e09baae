#pragma once

// HTTP/1.1 written and read by hand over a socket, for tests of what a well-behaved client library
// would never send.

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <string>
#include <utility>

namespace lab_orders::testing {

struct RawReply {
  int status = 0;
  std::string head;
  std::string body;
};

inline RawReply ParseReply(const std::string& raw) {
  RawReply reply;
  const std::size_t end = raw.find("\r\n\r\n");
  reply.head = raw.substr(0, end);
  reply.body = end == std::string::npos ? "" : raw.substr(end + 4);
  if (raw.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::stoi(raw.substr(9, 3));
  return reply;
}

// A client socket that sends what it is given and reads until the service closes.
class RawClient {
 public:
  explicit RawClient(unsigned short port) : socket_(Poco::Net::SocketAddress("127.0.0.1", port)) {
    socket_.setReceiveTimeout(Poco::Timespan(30, 0));  // a bound on a failure, not a pause
  }

  void Send(const std::string& bytes) { socket_.sendBytes(bytes.data(), int(bytes.size())); }
  void EndSending() { socket_.shutdownSend(); }

  // Everything until the service closes the connection.
  std::string ReadToEnd() {
    std::string raw = std::exchange(unread_, {});
    char buffer[16384];
    try {
      for (int n; (n = socket_.receiveBytes(buffer, sizeof buffer)) > 0;) raw.append(buffer, n);
    } catch (const Poco::Exception&) {
      // A reset after the answer: what was read is the answer.
    }
    return raw;
  }

  // One answer with a Content-Length body, leaving the connection open. What arrived beyond it
  // (the next pipelined answer) is kept for the next call.
  RawReply ReadOne() {
    std::string& raw = unread_;
    char buffer[4096];
    for (;;) {
      const std::size_t end = raw.find("\r\n\r\n");
      if (end != std::string::npos) {
        const std::size_t at = raw.find("Content-Length: ");
        const std::size_t length =
            at == std::string::npos || at > end ? 0 : std::stoul(raw.substr(at + 16));
        if (raw.size() >= end + 4 + length) {
          RawReply reply = ParseReply(raw.substr(0, end + 4 + length));
          raw.erase(0, end + 4 + length);
          return reply;
        }
      }
      const int n = socket_.receiveBytes(buffer, sizeof buffer);
      if (n <= 0) {
        RawReply reply = ParseReply(raw);
        raw.clear();
        return reply;
      }
      raw.append(buffer, n);
    }
  }

  Poco::Net::StreamSocket& socket() { return socket_; }

 private:
  Poco::Net::StreamSocket socket_;
  std::string unread_;  // read from the socket, not yet returned by ReadOne
};

}  // namespace lab_orders::testing
