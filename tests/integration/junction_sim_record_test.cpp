// junction-sim --upstream --record: a session recorded through one simulator forwarding to
// another, then replayed offline from the recording by a third, answers the same.

#include <Poco/Net/ServerSocket.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "support/junction_fixtures.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kApiKey = "sk_us_test";

// A recording file in the temporary directory, removed (with any temporary) at the end.
class TempRecording {
 public:
  TempRecording() {
    path_ = fs::temp_directory_path() / ("junction-sim-record-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++) + ".json");
  }
  ~TempRecording() {
    std::error_code ignored;
    fs::remove(path_, ignored);
    fs::remove(path_.string() + ".tmp", ignored);
  }
  std::string path() const { return path_.string(); }
  json Read() const {
    std::ifstream in(path_);
    return json::parse(in);
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// One request of a session and what was answered.
struct Exchange {
  std::string what;
  std::string method;
  std::string path;
  std::string body;
  HttpReply reply;
};

class Session {
 public:
  explicit Session(unsigned short port) : port_(port) {}

  HttpReply Call(const std::string& what, const std::string& method, const std::string& path,
                 const json& body = nullptr,
                 std::map<std::string, std::string> headers = {{"x-vital-api-key", kApiKey}}) {
    std::string text = body.is_null() ? "" : body.dump();
    HttpReply reply = HttpCall(port_, method, path, text, headers);
    exchanges_.push_back({what, method, path, text, reply});
    return reply;
  }
  const std::vector<Exchange>& exchanges() const { return exchanges_; }

 private:
  unsigned short port_;
  std::vector<Exchange> exchanges_;
};

json OrderBody(const std::string& user_id) {
  return {{"user_id", user_id},
          {"patient_details",
           {{"first_name", "Test"},
            {"last_name", "Patient"},
            {"dob", "1988-04-12"},
            {"gender", "female"},
            {"phone_number", "+16025550123"},
            {"email", "test.patient@example.com"}}},
          {"patient_address",
           {{"first_line", "1 West Lincoln Street"},
            {"city", "Phoenix"},
            {"state", "AZ"},
            {"zip", "85004"},
            {"country", "US"}}},
          {"order_set", {{"lab_test_ids", {kPcosLabTestId}}}},
          {"collection_method", "at_home_phlebotomy"}};
}

json AppointmentAddress() {
  return {{"first_line", "1 West Lincoln Street"},
          {"city", "Phoenix"},
          {"state", "AZ"},
          {"zip_code", "85004"}};
}

std::string Field(const HttpReply& reply, const json::json_pointer& pointer) {
  json body = json::parse(reply.body, nullptr, false);
  if (body.is_discarded() || !body.contains(pointer) || !body[pointer].is_string()) {
    ADD_FAILURE() << "no " << pointer.to_string() << " in " << reply.status << " " << reply.body;
    return "missing";
  }
  return body[pointer].get<std::string>();
}

// A realistic session: a user, an order (twice with one idempotency key), its state,
// availability, a booking and the appointment read twice, with errors on the way: an unknown
// user (404 from the upstream), a body the spec refuses and a missing API key (answered by the
// forwarding simulator itself).
std::vector<Exchange> RunSession(unsigned short port) {
  Session session(port);
  HttpReply user = session.Call("create user", "POST", "/v2/user",
                                {{"client_user_id", "record-test:patient-1"}});
  std::string user_id = Field(user, "/user_id"_json_pointer);
  session.Call("resolve an unknown user", "GET", "/v2/user/resolve/record-test:nobody");
  session.Call("resolve the user", "GET", "/v2/user/resolve/record-test:patient-1");
  session.Call("lab tests", "GET", "/v3/lab_tests");
  std::map<std::string, std::string> idempotent = {{"x-vital-api-key", kApiKey},
                                                   {"X-Idempotency-Key", "record-test-order-1"}};
  HttpReply order =
      session.Call("create order", "POST", "/v3/order", OrderBody(user_id), idempotent);
  std::string order_id = Field(order, "/order/id"_json_pointer);
  session.Call("create order again, same key", "POST", "/v3/order", OrderBody(user_id), idempotent);
  session.Call("get order", "GET", "/v3/order/" + order_id);
  session.Call("area info", "GET", "/v3/order/area/info?zip_code=85004");
  json wrong_address = AppointmentAddress();
  wrong_address.erase("zip_code");
  wrong_address["zip"] = "85004";
  session.Call("availability, refused body", "POST",
               "/v3/order/phlebotomy/appointment/availability", wrong_address);
  HttpReply slots =
      session.Call("availability", "POST", "/v3/order/phlebotomy/appointment/availability",
                   AppointmentAddress());
  std::string key = Field(slots, "/slots/0/slots/0/booking_key"_json_pointer);
  session.Call("book without an API key", "POST",
               "/v3/order/" + order_id + "/phlebotomy/appointment/book", {{"booking_key", key}},
               {});
  session.Call("book", "POST", "/v3/order/" + order_id + "/phlebotomy/appointment/book",
               {{"booking_key", key}});
  session.Call("get appointment", "GET", "/v3/order/" + order_id + "/phlebotomy/appointment");
  session.Call("get appointment again", "GET", "/v3/order/" + order_id + "/phlebotomy/appointment");
  session.Call("get order again", "GET", "/v3/order/" + order_id);
  return session.exchanges();
}

// The exchanges answered by the upstream, not by the forwarding simulator itself.
bool ReachesUpstream(const Exchange& exchange) {
  return exchange.what != "availability, refused body" &&
         exchange.what != "book without an API key";
}

TEST(JunctionSimRecordTest, RecordingThroughAForwardingSimulatorReplaysTheSameAnswers) {
  TempRecording recording;
  SimProcess upstream;  // A: the stand-in for Junction's sandbox
  auto recorder = std::make_unique<SimProcess>(
      std::vector<std::string>{"--upstream", upstream.base_url(), "--record", recording.path()});

  std::vector<Exchange> recorded = RunSession(recorder->port());
  ASSERT_EQ(recorded.size(), 15u);
  // The session went as a session with Junction would.
  std::map<std::string, int> expected_status = {{"create user", 200},
                                                {"resolve an unknown user", 404},
                                                {"create order", 200},
                                                {"create order again, same key", 200},
                                                {"availability, refused body", 422},
                                                {"book without an API key", 401},
                                                {"book", 200},
                                                {"get appointment again", 200}};
  for (const Exchange& exchange : recorded) {
    if (expected_status.count(exchange.what)) {
      EXPECT_EQ(exchange.reply.status, expected_status[exchange.what])
          << exchange.what << ": " << exchange.reply.body;
    } else {
      EXPECT_EQ(exchange.reply.status, 200) << exchange.what << ": " << exchange.reply.body;
    }
    EXPECT_EQ(exchange.reply.headers.at("Content-Type"), "application/json") << exchange.what;
  }
  EXPECT_EQ(recorded[4].reply.body, recorded[5].reply.body)
      << "the idempotency key reached the upstream, which replayed its first answer";

  // The upstream saw every call the forwarding simulator did not answer itself, in order, as
  // they were sent, and answered what the caller got.
  json upstream_calls = upstream.Calls();
  std::vector<const Exchange*> forwarded;
  for (const Exchange& exchange : recorded) {
    if (ReachesUpstream(exchange)) forwarded.push_back(&exchange);
  }
  ASSERT_EQ(upstream_calls.size(), forwarded.size()) << upstream_calls.dump(1);
  json recorder_calls = recorder->Calls();
  ASSERT_EQ(recorder_calls.size(), recorded.size());
  for (size_t i = 0; i < forwarded.size(); ++i) {
    const Exchange& exchange = *forwarded[i];
    const json& call = upstream_calls[i];
    std::string target =
        call["path"].get<std::string>() +
        (call["query"].get<std::string>().empty() ? "" : "?" + call["query"].get<std::string>());
    EXPECT_EQ(call["method"], exchange.method) << exchange.what;
    EXPECT_EQ(target, exchange.path) << exchange.what;
    EXPECT_EQ(call["outcome"], exchange.reply.status) << exchange.what;
    if (!exchange.body.empty()) {
      EXPECT_EQ(call["body"], json::parse(exchange.body)) << exchange.what;
    }
  }
  EXPECT_EQ(upstream_calls[4]["operation"], "create_order");
  EXPECT_EQ(upstream_calls[4]["idempotency_key"], "record-test-order-1");
  // The forwarding simulator's own log names the operations and what it answered.
  for (size_t i = 0; i < recorded.size(); ++i) {
    EXPECT_EQ(recorder_calls[i]["outcome"], recorded[i].reply.status) << recorded[i].what;
  }
  EXPECT_EQ(recorder_calls[9]["operation"], "availability");
  EXPECT_EQ(recorder_calls[11]["operation"], "book_appointment");

  // Stopping the recorder (SIGTERM) leaves the recording, and no temporary file.
  recorder.reset();
  json script = recording.Read();
  EXPECT_FALSE(fs::exists(recording.path() + ".tmp"));
  EXPECT_EQ(
      script["name"].get<std::string>().rfind("recorded from " + upstream.base_url() + " at ", 0),
      0u)
      << script["name"];
  EXPECT_EQ(script["operations"]["get_appointment"].size(), 2u);
  EXPECT_EQ(script["operations"]["create_order"].size(), 2u);
  EXPECT_EQ(script["operations"]["book_appointment"][0]["status"], 401);
  EXPECT_EQ(script["operations"]["book_appointment"][1]["call"], 2);
  EXPECT_EQ(script["operations"]["resolve_user"][0]["status"], 404);

  // C: a plain simulator playing the recording answers the same session the same, byte for byte.
  SimProcess replay({"--script", recording.path()});
  std::vector<Exchange> replayed = RunSession(replay.port());
  ASSERT_EQ(replayed.size(), recorded.size());
  for (size_t i = 0; i < recorded.size(); ++i) {
    const Exchange& before = recorded[i];
    const Exchange& after = replayed[i];
    EXPECT_EQ(after.path, before.path) << before.what;
    EXPECT_EQ(after.body, before.body) << before.what;
    EXPECT_EQ(after.reply.status, before.reply.status) << before.what;
    EXPECT_EQ(after.reply.body, before.reply.body) << before.what;
    EXPECT_EQ(json::parse(after.reply.body), json::parse(before.reply.body)) << before.what;
  }
  // The replay answered from the recording: its own world made no user, order or booking.
  EXPECT_EQ(replay.Junction("GET", "/v2/user/resolve/record-test:patient-1").status, 404);
}

TEST(JunctionSimRecordTest, RetryAfterAndBodiesThatAreNotJsonAreRecordedAndReplayed) {
  TempRecording recording;
  SimProcess upstream;
  upstream.LoadScript({{"operations",
                        {{"list_lab_tests",
                          {{{"call", 1}, {"fault", "rate_limited"}, {"retry_after", 7}},
                           {{"call", 2}, {"fault", "malformed_json"}},
                           {{"call", 3}, {"status", 503}, {"raw_body", "upstream busy"}}}}}}});
  auto recorder = std::make_unique<SimProcess>(
      std::vector<std::string>{"--upstream", upstream.base_url(), "--record", recording.path()});
  std::vector<HttpReply> recorded;
  for (int i = 0; i < 4; ++i) recorded.push_back(recorder->Junction("GET", "/v3/lab_tests"));
  EXPECT_EQ(recorded[0].status, 429);
  EXPECT_EQ(recorded[0].headers["Retry-After"], "7");
  EXPECT_EQ(recorded[1].status, 200);
  EXPECT_TRUE(json::parse(recorded[1].body, nullptr, false).is_discarded());
  EXPECT_EQ(recorded[2].status, 503);
  EXPECT_EQ(recorded[2].body, "upstream busy");
  EXPECT_EQ(recorded[3].status, 200);

  // Written after every call: the file holds them before the simulator stops.
  json live = recording.Read()["operations"]["list_lab_tests"];
  ASSERT_EQ(live.size(), 4u);
  EXPECT_EQ(live[0]["headers"], json({{"Retry-After", "7"}}));
  EXPECT_TRUE(live[1].contains("raw_body"));
  EXPECT_FALSE(live[1].contains("body"));
  EXPECT_EQ(live[2]["raw_body"], "upstream busy");
  EXPECT_EQ(live[3]["body"], json::parse(recorded[3].body));
  recorder.reset();

  SimProcess replay({"--script", recording.path()});
  for (int i = 0; i < 4; ++i) {
    HttpReply again = replay.Junction("GET", "/v3/lab_tests");
    EXPECT_EQ(again.status, recorded[i].status) << i;
    EXPECT_EQ(again.body, recorded[i].body) << i;
    EXPECT_EQ(again.headers["Retry-After"], recorded[i].headers["Retry-After"]) << i;
  }
}

TEST(JunctionSimRecordTest, AnUnreachableUpstreamIs502AndNothingIsRecorded) {
  unsigned short closed_port = 0;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    closed_port = probe.address().port();
  }
  TempRecording recording;
  SimProcess recorder({"--upstream", "http://127.0.0.1:" + std::to_string(closed_port), "--record",
                       recording.path()});
  HttpReply reply = recorder.Junction("GET", "/v3/lab_tests");
  EXPECT_EQ(reply.status, 502);
  EXPECT_EQ(reply.Json(), json({{"detail", "upstream unreachable"}}));
  EXPECT_EQ(recorder.Calls("list_lab_tests")[0]["outcome"], 502);
  json state = recorder.Admin("GET", "/_sim/record");
  EXPECT_EQ(state["calls"], 0);
  EXPECT_EQ(state["script"]["operations"], json::object());
  EXPECT_EQ(recorder.Admin("POST", "/_sim/record/flush")["calls"], 0);
  EXPECT_EQ(recording.Read()["operations"], json::object());
  // Scripts do not apply while forwarding.
  EXPECT_EQ(HttpCall(recorder.port(), "POST", "/_sim/script", "{}").status, 409);
}

void RunShell(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

// An https upstream is verified strictly: the chain against --upstream-ca-file (or the system's
// authorities) and the host name. One that fails verification is never sent the call.
TEST(JunctionSimRecordTest, AnHttpsUpstreamIsVerifiedAgainstTheGivenAuthority) {
  fs::path dir =
      fs::temp_directory_path() / ("junction-sim-record-tls-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto path = [&](const std::string& name) { return (dir / name).string(); };
  RunShell(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj '/CN=record-test-ca' -keyout " +
      path("ca.key") + " -out " + path("ca.pem"));
  std::ofstream(path("server.ext")) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  RunShell(
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=server'"
      " -keyout " +
      path("server.key") + " -out " + path("server.csr"));
  RunShell("openssl x509 -req -days 2 -in " + path("server.csr") + " -CA " + path("ca.pem") +
           " -CAkey " + path("ca.key") + " -CAcreateserial -extfile " + path("server.ext") +
           " -out " + path("server.pem"));
  {
    SimProcess upstream({"--tls-cert", path("server.pem"), "--tls-key", path("server.key")});
    std::string url = "https://localhost:" + std::to_string(upstream.port());

    SimProcess trusting({"--upstream", url, "--upstream-ca-file", path("ca.pem")});
    HttpReply reply = trusting.Junction("GET", "/v3/lab_tests");
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.Json(), upstream.Junction("GET", "/v3/lab_tests").Json());

    SimProcess system_authorities({"--upstream", url});
    HttpReply refused = system_authorities.Junction("GET", "/v3/lab_tests");
    EXPECT_EQ(refused.status, 502) << refused.body;
    EXPECT_EQ(refused.Json(), json({{"detail", "upstream unreachable"}}));
    EXPECT_EQ(upstream.Calls("list_lab_tests").size(), 2u) << "the refused call never reached it";
  }
  fs::remove_all(dir);
}

TEST(JunctionSimRecordTest, RecordWithoutUpstreamIsRefusedWithExitStatus2) {
  TempRecording recording;
  Poco::Pipe err;
  Poco::ProcessHandle handle = Poco::Process::launch(
      JUNCTION_SIM_BINARY, {"--listen", "127.0.0.1:0", "--record", recording.path()}, nullptr,
      nullptr, &err);
  Poco::PipeInputStream stream(err);
  std::string message;
  Poco::StreamCopier::copyToString(stream, message);
  EXPECT_EQ(handle.wait(), 2);
  EXPECT_NE(message.find("--upstream"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(recording.path()));
}

TEST(JunctionSimRecordTest, FlushWithoutRecordingIs409) {
  SimProcess plain;
  EXPECT_EQ(HttpCall(plain.port(), "POST", "/_sim/record/flush").status, 409);
  EXPECT_EQ(HttpCall(plain.port(), "GET", "/_sim/record").status, 409);
}

}  // namespace
}  // namespace lab_orders::testing
