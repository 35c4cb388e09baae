// The front door over real sockets: what a hostile or broken client sends is answered with the
// JSON envelope or closed by a deadline, and slow, silent and idle clients never keep a normal
// order from being answered. Receive timeouts below are failure bounds, never pacing.

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/committed_file.h"
#include "support/order_bodies.h"
#include "support/raw_http.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class FrontDoorTest : public ::testing::Test {
 protected:
  // A send to a connection the service closed must be an error here, not the end of the test.
  FrontDoorTest() { std::signal(SIGPIPE, SIG_IGN); }

  void StartService(std::map<std::string, std::string> environment = {}) {
    sim_ = std::make_unique<SimProcess>();
    service_ = std::make_unique<ServiceProcess>(sim_->base_url(), std::move(environment));
    token_ = service_->Token("brand-a", "user-1");
  }

  RawReply SendRaw(const std::string& bytes) {
    RawClient client(service_->port());
    client.Send(bytes);
    client.EndSending();
    return ParseReply(client.ReadToEnd());
  }

  static void ExpectJsonError(const RawReply& reply, int status, const std::string& code) {
    EXPECT_EQ(reply.status, status) << reply.head;
    EXPECT_NE(reply.head.find("X-Request-Id: "), std::string::npos) << reply.head;
    EXPECT_NE(reply.head.find("Connection: close"), std::string::npos) << reply.head;
    const json body = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << reply.body;
    EXPECT_EQ(body.value("error", ""), code) << reply.body;
  }

  std::string OrderRequest(const std::string& key, const std::string& patient) const {
    const std::string body = WorkflowOrderBody(patient).dump();
    return "POST /v1/labs/orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token_ +
           "\r\nIdempotency-Key: " + key + "\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  // Sends normal orders one after the other while load runs, each on its own connection, and
  // calls after_each once each is answered (the load's next step); returns the statuses.
  std::vector<int> OrdersDuring(const std::function<bool()>& load_running,
                                const std::function<void()>& after_each, const char* tag) {
    std::vector<int> statuses;
    for (int i = 0; load_running() || i < 5; ++i) {
      const std::string suffix = std::string(tag) + "-" + std::to_string(i);
      HttpReply reply =
          service_->Post("/v1/labs/orders", WorkflowOrderBody("patient-" + suffix).dump(),
                         {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", suffix}});
      statuses.push_back(reply.status);
      after_each();
    }
    return statuses;
  }

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::string token_;
};

TEST_F(FrontDoorTest, WhatPocoUsedToDropOrAcceptIsAJsonErrorNamingItsProblem) {
  StartService();
  const std::string host = "Host: t\r\n";
  ExpectJsonError(SendRaw("GET /healthz HTTP/1.1\n" + host + "\r\n"), 400, "malformed_request");
  ExpectJsonError(SendRaw("GET /healthz HTTP/1.1\r\n" + host + "X-A: 1\r\n folded\r\n\r\n"), 400,
                  "malformed_request");
  ExpectJsonError(SendRaw("GET /healthz HTTP/1.1\r\n" + host + "no colon\r\n\r\n"), 400,
                  "malformed_request");
  ExpectJsonError(SendRaw("GET /healthz HTTP/1.1\r\n\r\n"), 400, "malformed_request");  // no Host
  ExpectJsonError(SendRaw("GET /healthz HTTP/1.1\r\n" + host + "X-Big: " + std::string(40000, 'a') +
                          "\r\n\r\n"),
                  431, "headers_too_large");
  std::string many = "GET /healthz HTTP/1.1\r\n" + host;
  for (int i = 0; i < 1000; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  ExpectJsonError(SendRaw(many + "\r\n"), 431, "headers_too_large");
  ExpectJsonError(SendRaw("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n" + host + "\r\n"), 414,
                  "uri_too_long");
  ExpectJsonError(SendRaw("GET /healthz HTTP/2.0\r\n" + host + "\r\n"), 505,
                  "http_version_not_supported");
  ExpectJsonError(SendRaw("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + std::string(64, 'x')),
                  400, "malformed_request");
  ExpectJsonError(SendRaw("garbage garbage garbage\r\n\r\n"), 400, "malformed_request");
  // A 7 KB token is an ordinary request, not a 431.
  RawReply big_token = SendRaw("GET /healthz HTTP/1.1\r\n" + host + "Authorization: Bearer " +
                               std::string(7000, 'a') + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(big_token.status, 200) << big_token.head;
}

TEST_F(FrontDoorTest, AChunkedOrderWithoutItsLastChunkIsRefusedAndCreatesNothing) {
  StartService();
  const std::string body = WorkflowOrderBody("patient-chunked").dump();
  std::string head = OrderRequest("chunked-cut", "patient-chunked");
  head = head.substr(0, head.find("Content-Length:")) + "Transfer-Encoding: chunked\r\n\r\n";
  std::ostringstream size;
  size << std::hex << body.size();
  ExpectJsonError(SendRaw(head + size.str() + "\r\n" + body + "\r\n"), 400, "malformed_request");
  // The same, whole, is an order.
  RawReply whole = SendRaw(head + size.str() + "\r\n" + body + "\r\n0\r\n\r\n");
  EXPECT_EQ(whole.status, 201) << whole.head << whole.body;
  json list = service_->Get("/v1/labs/orders", {{"Authorization", "Bearer " + token_}}).Json();
  EXPECT_EQ(list["data"].size(), 1u) << list.dump();
}

TEST_F(FrontDoorTest, PipelinedRequestsAreAnsweredInOrderAndExpectContinueIsHonoured) {
  StartService();
  RawClient client(service_->port());
  client.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.ReadOne().status, 200);
  EXPECT_EQ(client.ReadOne().status, 404);

  const std::string order = OrderRequest("continue", "patient-continue");
  const std::size_t body_at = order.find("\r\n\r\n") + 4;
  client.Send(order.substr(0, body_at - 2) + "Expect: 100-continue\r\n\r\n");
  char interim[64] = {};
  const int n = client.socket().receiveBytes(interim, sizeof interim - 1);
  EXPECT_EQ(std::string(interim, std::size_t(std::max(n, 0))), "HTTP/1.1 100 Continue\r\n\r\n");
  client.Send(order.substr(body_at));
  EXPECT_EQ(client.ReadOne().status, 201);
}

TEST_F(FrontDoorTest, AHeadNotFinishedInTimeIsA408AndAnIdleConnectionIsClosed) {
  StartService({{"LAB_ORDERS_HTTP_HEAD_TIMEOUT_S", "1"}, {"LAB_ORDERS_HTTP_IDLE_TIMEOUT_S", "1"}});
  RawClient slow(service_->port());
  slow.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ");
  ExpectJsonError(ParseReply(slow.ReadToEnd()), 408, "request_timeout");
  RawClient idle(service_->port());
  EXPECT_EQ(idle.ReadToEnd(), "");  // closed without a word once idle for a second
}

TEST_F(FrontDoorTest, AFullQueueIsAFast503WithRetryAfter) {
  StartService({{"LAB_ORDERS_HTTP_THREADS", "2"}, {"LAB_ORDERS_HTTP_QUEUE", "1"}});
  const std::string auth = "Authorization: Bearer " + token_ + "\r\n";
  HttpReply created =
      service_->Post("/v1/labs/orders", WorkflowOrderBody("patient-busy").dump(),
                     {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", "busy"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  // Three long polls that wait for a status the order never reaches: two threads and the queue.
  const std::string poll = "GET /v1/labs/orders/" + id +
                           "?wait_status=completed&wait_ms=2000 HTTP/1.1\r\nHost: t\r\n" + auth +
                           "\r\n";
  std::vector<std::unique_ptr<RawClient>> holders;
  for (int i = 0; i < 3; ++i) {
    holders.push_back(std::make_unique<RawClient>(service_->port()));
    holders.back()->Send(poll);
  }
  // Until the three are in, a fourth may still find room; then it must be refused at once.
  RawReply refused;
  for (int attempt = 0; attempt < 200 && refused.status != 503; ++attempt) {
    refused = SendRaw("GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  ExpectJsonError(refused, 503, "server_busy");
  EXPECT_NE(refused.head.find("Retry-After: 1"), std::string::npos) << refused.head;
  // The liveness probe is answered on the I/O thread: busy workers do not fail it.
  EXPECT_EQ(SendRaw("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
  // The holders that found room are answered when their wait is over. The queue takes whoever
  // is read first: on a loaded machine a probe's bytes can be read before the last holder's,
  // which is then the one refused, the same fast 503. Two holders always have the threads.
  int answered = 0;
  for (auto& holder : holders) {
    RawReply reply = holder->ReadOne();
    if (reply.status == 503) {
      ExpectJsonError(reply, 503, "server_busy");
      continue;
    }
    EXPECT_EQ(reply.status, 200) << reply.head;
    ++answered;
  }
  EXPECT_GE(answered, 2);
}

// A replay whose answer is in memory is answered on the I/O thread: busy workers do not delay it,
// and everything else still goes to them.
TEST_F(FrontDoorTest, AReplayIsAnsweredWhileEveryWorkerIsBusy) {
  StartService({{"LAB_ORDERS_HTTP_THREADS", "2"}});
  // Junction takes 1.5 s to create every order after the first: two such orders hold both workers.
  sim_->LoadScript({{"operations", {{"create_order", {{{"from_call", 2}, {"delay_ms", 1500}}}}}}});
  const std::string replay = OrderRequest("replayed", "patient-replayed");
  RawReply created = SendRaw(replay);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(SendRaw(replay).status, 201);  // read from the database once, then kept in memory

  std::vector<std::unique_ptr<RawClient>> holders;
  for (const char* key : {"held-1", "held-2"}) {
    holders.push_back(std::make_unique<RawClient>(service_->port()));
    holders.back()->Send(OrderRequest(key, std::string("patient-") + key));
  }
  // Both are inside Junction's order call, on the two workers, once the simulator has their users.
  sim_->Admin("GET", "/_sim/calls?operation=create_user&wait_handled=3&timeout_ms=10000");

  RawReply replayed = SendRaw(replay);
  EXPECT_EQ(replayed.status, 201) << replayed.head;
  EXPECT_EQ(replayed.body, created.body);
  EXPECT_NE(replayed.head.find("Idempotent-Replayed: true"), std::string::npos) << replayed.head;
  EXPECT_NE(replayed.head.find("X-Request-Id: "), std::string::npos) << replayed.head;
  // Answered while both workers were still busy: a worker would have answered its holder first.
  for (auto& holder : holders) EXPECT_EQ(holder->socket().available(), 0);

  // The same key with other bytes, or a forged token, needs a worker: answered once one is free.
  std::string forged = replay;
  forged.replace(forged.find(token_), token_.size(), token_.substr(0, token_.size() - 2) + "xx");
  EXPECT_EQ(SendRaw(OrderRequest("replayed", "patient-other")).status, 422);
  EXPECT_EQ(SendRaw(forged).status, 401);
  for (auto& holder : holders) EXPECT_EQ(holder->ReadOne().status, 201);
}

TEST_F(FrontDoorTest, ConnectionsPastThePerAddressCapAreA503) {
  StartService({{"LAB_ORDERS_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "4"}});
  std::vector<std::unique_ptr<RawClient>> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(std::make_unique<RawClient>(service_->port()));
    open.back()->Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(open.back()->ReadOne().status, 200);  // admitted, and kept open
  }
  ExpectJsonError(SendRaw("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"), 503, "server_busy");
  open.pop_back();  // one closes: room for one more
  RawReply admitted;
  for (int attempt = 0; attempt < 200 && admitted.status != 200; ++attempt) {
    admitted = SendRaw("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  }
  EXPECT_EQ(admitted.status, 200);
}

// 200 clients trickle a request head a byte at a time; 100 pipeline requests for a large
// document and never read; 2,000 sit idle on keep-alive. Orders sent meanwhile are all answered.
TEST_F(FrontDoorTest, SlowSilentAndIdleClientsDoNotKeepOrdersFromBeingAnswered) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  ASSERT_GE(limit.rlim_cur, 2600u) << "needs 2,600 descriptors; the hard limit is lower";
  StartService({{"LAB_ORDERS_HTTP_HEAD_TIMEOUT_S", "3"},
                {"LAB_ORDERS_HTTP_SEND_TIMEOUT_S", "3"},
                {"LAB_ORDERS_HTTP_IDLE_TIMEOUT_S", "60"},
                {"LAB_ORDERS_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "5000"}});

  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 2000; ++i) {  // one at a time: 2,000 at once would rightly meet 503s
    idle.push_back(std::make_unique<RawClient>(service_->port()));
    idle.back()->Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_EQ(idle.back()->ReadOne().status, 200);
  }

  std::vector<std::unique_ptr<RawClient>> silent;
  std::string pipeline;
  for (int i = 0; i < 50; ++i) pipeline += "GET /openapi.json HTTP/1.1\r\nHost: t\r\n\r\n";
  for (int i = 0; i < 100; ++i) {
    silent.push_back(std::make_unique<RawClient>(service_->port()));
    silent.back()->socket().setSendTimeout(Poco::Timespan(0, 200000));
    try {
      silent.back()->Send(pipeline);
    } catch (const Poco::Exception&) {
      // The service stopped reading its pipeline: as it should.
    }
  }

  // Each slow client sends the start of a head, then one more byte of a header value after each
  // order is answered: a head that never ends, until its deadline.
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<RawClient>(service_->port()));
    slow.back()->Send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ");
  }
  auto trickle = [&] {
    for (auto& client : slow) {
      try {
        client->Send("a");
      } catch (const Poco::Exception&) {
        // Closed by its deadline: as it should be.
      }
    }
  };
  const auto until = std::chrono::steady_clock::now() + 5s;
  std::vector<int> statuses =
      OrdersDuring([&] { return std::chrono::steady_clock::now() < until; }, trickle, "door");
  for (int status : statuses) EXPECT_EQ(status, 201);
  EXPECT_GE(statuses.size(), 5u);

  // Each slow client was told 408 once its head deadline passed, and closed.
  for (auto& client : slow) {
    const RawReply reply = ParseReply(client->ReadToEnd());
    EXPECT_TRUE(reply.status == 408 || reply.status == 0) << reply.head;
  }
  // The idle connections are still served.
  idle.front()->Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(idle.front()->ReadOne().status, 200);
}

// The service's anonymous memory (heap), in KiB, from /proc: file-backed pages such as the binary's
// compiled-in documents are not in it.
long AnonymousKib(long pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::stol(line.substr(8));
  }
  return -1;
}

// A reader of GET /docs that has the head and stops reading: the rest of the 1.4 MB page waits
// on the service's side.
std::unique_ptr<Poco::Net::StreamSocket> StalledReader(std::uint16_t port) {
  auto socket = std::make_unique<Poco::Net::StreamSocket>(Poco::Net::SocketAddress::IPv4);
  // Before connect, as a reader on a real network: a small window, and segments of Ethernet's
  // size rather than loopback's 64 KiB, which would let the service's kernel take the whole page
  // into its send buffer (autotuned to a few windows of segments) and hide what the service holds.
  socket->setReceiveBufferSize(4096);
  socket->setOption(IPPROTO_TCP, TCP_MAXSEG, 1400);
  socket->connect(Poco::Net::SocketAddress("127.0.0.1", port));
  socket->setReceiveTimeout(Poco::Timespan(30, 0));  // a failure bound, not pacing
  const std::string request = "GET /docs HTTP/1.1\r\nHost: t\r\n\r\n";
  socket->sendBytes(request.data(), int(request.size()));
  std::string head;
  char byte = 0;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    if (socket->receiveBytes(&byte, 1) != 1) throw std::runtime_error("closed before the head");
    head.push_back(byte);
  }
  return socket;
}

// 300 clients ask for the reference page and stop reading after its head. The head proves the
// answer was made; each waits with the page unsent. They hold no copy of it: the service's heap
// grows by far less than one page per reader, and a stalled reader, read on, gets the page whole.
TEST_F(FrontDoorTest, ReadersWhoStallOnTheReferencePageHoldNoCopyOfIt) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  // Long enough that no reader is closed (and its memory freed) while the heap is measured.
  StartService({{"LAB_ORDERS_HTTP_SEND_TIMEOUT_S", "300"}});
  const std::string page = CommittedFile("docs/reference.html");
  ASSERT_GT(page.size(), 1'000'000u);
  for (int warm = 0; warm < 3; ++warm) {
    EXPECT_EQ(SendRaw("GET /docs HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").body, page);
  }
  const long before = AnonymousKib(service_->pid());
  // Linux has had RssAnon since 4.5: without it this test measures nothing, so it fails.
  ASSERT_GE(before, 0) << "no RssAnon in /proc/" << service_->pid() << "/status";

  constexpr int kReaders = 300;
  std::vector<std::unique_ptr<Poco::Net::StreamSocket>> readers;
  for (int i = 0; i < kReaders; ++i) readers.push_back(StalledReader(service_->port()));
  const long after = AnonymousKib(service_->pid());
  const long page_kib = long(page.size() / 1024);
  // A copy each would be kReaders × 1,380 KiB (about 400 MB); a head each is a few hundred bytes.
  EXPECT_LT(after - before, kReaders * page_kib / 5)
      << "heap grew from " << before << " KiB to " << after << " KiB for " << kReaders
      << " stalled readers of a " << page_kib << " KiB page";

  // Read on, a little at a time: the page arrives whole and exact.
  std::string body;
  std::vector<char> chunk(3000);
  while (body.size() < page.size()) {
    const int got = readers.front()->receiveBytes(chunk.data(), int(chunk.size()));
    ASSERT_GT(got, 0) << "closed after " << body.size() << " bytes";
    body.append(chunk.data(), std::size_t(got));
  }
  EXPECT_EQ(body, page);
  EXPECT_EQ(SendRaw("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").status, 200);
}

}  // namespace
}  // namespace lab_orders::testing
