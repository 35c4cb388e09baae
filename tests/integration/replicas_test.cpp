// Two lab-orders replicas sharing one PostgreSQL database, with one simulated Junction: every
// guarantee the single node gives must hold across processes, and through a database outage.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/order_bodies.h"
#include "support/postgres_env.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kOrders = 300;
constexpr int kSenders = 12;
constexpr auto kOutage = 10s;

std::map<std::string, std::string> ReplicaEnvironment(const std::string& database_url) {
  return {{"LAB_ORDERS_DATABASE", database_url},
          {"LAB_ORDERS_DATABASE_POOL", "8"},
          {"LAB_ORDERS_WORKERS", "4"},
          {"LAB_ORDERS_JUNCTION_RATE", "1000"},
          {"LAB_ORDERS_REQUISITION_POLL_MS", "50"},
          {"LAB_ORDERS_CONFIRMATION_POLL_MS", "50"},
          {"LAB_ORDERS_RETRY_INITIAL_MS", "50"},
          // Short, so the runs the outage cut off are taken again soon after it; yet longer than
          // any run takes on a loaded CI machine under the sanitizers (pool waits included), or
          // a slow run would be taken over and counted as lease_lost below.
          {"LAB_ORDERS_JOB_LEASE_S", "15"},
          // A request the outage cut off holds its key until its lease runs out.
          {"LAB_ORDERS_KEY_LEASE_S", "6"},
          {"LAB_ORDERS_RECONCILE_INTERVAL_MS", "3600000"},
          // Both replicas' completers and reapers run at once, over the keys the outage left.
          {"LAB_ORDERS_COMPLETER_AFTER_S", "2"},
          {"LAB_ORDERS_COMPLETER_INTERVAL_S", "1"}};
}

// A Prometheus counter's value for the series with exactly these labels (0 when absent).
double CounterValue(const std::string& metrics, const std::string& series) {
  std::size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(metrics.substr(at + series.size() + 2));
}

// The last `limit` warnings and errors of a service log (ids, never PHI) that are not the
// outage's own noise: what a failure in CI needs to be explained from its output alone.
std::string NoticeableLogLines(const std::string& log, std::size_t limit) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    bool noticeable = false;
    for (const char* level : {"warning", "error", "critical"}) {
      noticeable =
          noticeable || line.find("\"level\":\"" + std::string(level) + "\"") != std::string::npos;
    }
    // The outage's thousands of 503s and idle polls that met it are expected; what else went
    // wrong is the story.
    bool outage_noise = false;
    for (const char* noise : {"\"message\":\"request ", "\"message\":\"job worker ",
                              "\"message\":\"idempotency key completer: "}) {
      outage_noise = outage_noise || line.find(noise) != std::string::npos;
    }
    if (noticeable && !outage_noise) {
      lines.push_back(std::move(line));
    }
    start = end + 1;
  }
  std::string out;
  for (std::size_t i = lines.size() > limit ? lines.size() - limit : 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
  }
  return out;
}

struct Reply {
  int status = 0;
  std::string code;  // the error code of a non-2xx answer
  Clock::duration latency{};
  Clock::time_point sent;
};

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::optional<std::string> url = TestPostgresUrl();
    if (!url) {
      if (PostgresRequired()) FAIL() << kNoPostgresMessage;
      GTEST_SKIP() << kNoPostgresMessage;
    }
    admin_url_ = *url;
  }

  std::string admin_url_;
};

TEST_F(ReplicasTest, ThreeHundredOrdersOnTwoReplicasThroughAPostgresOutage) {
  ScratchPostgresDatabase database(admin_url_);
  SimProcess sim({"--latency-ms", "2"});
  sim.LoadScript(
      {{"requisition", {{"mode", "after_polls"}, {"polls", 1}}},
       {"bookings", {{{"from_call", 1}, {"outcome", "confirmed"}, {"resolve_after_polls", 1}}}}});
  std::vector<std::unique_ptr<ServiceProcess>> replicas;
  for (int i = 0; i < 2; ++i) {
    replicas.push_back(
        std::make_unique<ServiceProcess>(sim.base_url(), ReplicaEnvironment(database.url())));
  }
  const std::string token = replicas[0]->Token("brand-r", "user-r");
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + token}};

  // Sends until the key's order exists (201), as a client does: 503 (database down), 409 (the
  // key is being worked on elsewhere) and 502 are answers to retry.
  std::mutex mutex;
  std::condition_variable created_cv;
  int keys_created = 0;
  std::vector<Reply> unavailable_replies;
  std::vector<std::string> unexpected;
  std::atomic<int> transport_errors{0};
  // Set when the test body leaves early (a failed assertion or a throw): senders stop retrying
  // so that they can be joined.
  std::atomic<bool> abandoned{false};
  auto send_until_created = [&](int replica, const std::string& key) -> std::string {
    const std::string body = WorkflowOrderBody("patient-" + key).dump();
    for (int attempt = 0; attempt < 100000 && !abandoned; ++attempt) {
      Reply reply;
      reply.sent = Clock::now();
      std::map<std::string, std::string> headers = auth;
      headers["Idempotency-Key"] = key;
      HttpReply http;
      try {
        http = replicas[replica]->Post("/v1/labs/orders", body, headers);
      } catch (const std::exception&) {
        // A connection reset under the outage's load (a fresh connection per request, thousands
        // a second): a client retries it like a 503.
        ++transport_errors;
        continue;
      }
      reply.latency = Clock::now() - reply.sent;
      reply.status = http.status;
      if (http.status == 201) {
        try {
          return http.Json().at("id").get<std::string>();
        } catch (const std::exception&) {
          std::lock_guard lock(mutex);
          unexpected.push_back("201 without an order id: " + http.body);
          return "";
        }
      }
      try {
        reply.code = http.Json()["error"];
      } catch (const std::exception&) {
        reply.code = "(no error body)";
      }
      std::lock_guard lock(mutex);
      if (http.status == 503) {
        unavailable_replies.push_back(reply);
      } else if (http.status != 409 && http.status != 502) {
        unexpected.push_back(std::to_string(http.status) + " " + http.body);
        return "";
      }
    }
    return "";
  };

  // Keys 0..299, round-robin over the replicas. Every third key is sent again on the other
  // replica: for half of those at the same moment, for the others after the first answer.
  std::vector<std::string> first_ids(kOrders), second_ids(kOrders);
  std::atomic<int> next_key{0};
  auto sender = [&] {
    for (int i = next_key++; i < kOrders; i = next_key++) {
      const std::string key = "replica-key-" + std::to_string(i);
      const int replica = i % 2;
      if (i % 6 == 0) {
        std::thread twin([&, i, key] { second_ids[i] = send_until_created(1 - replica, key); });
        first_ids[i] = send_until_created(replica, key);
        twin.join();
      } else {
        first_ids[i] = send_until_created(replica, key);
        if (i % 6 == 3) second_ids[i] = send_until_created(1 - replica, key);
      }
      std::lock_guard lock(mutex);
      ++keys_created;
      created_cv.notify_all();
    }
  };
  std::vector<std::thread> senders;
  // Whatever ends the test body, the senders are told to stop and joined, so that a failure
  // (pg_ctl refusing, say) is reported as such rather than as std::terminate.
  struct JoinSenders {
    std::vector<std::thread>& threads;
    std::atomic<bool>& abandoned;
    ~JoinSenders() {
      abandoned = true;
      for (std::thread& thread : threads) {
        if (thread.joinable()) thread.join();
      }
    }
  } join_senders{senders, abandoned};
  for (int i = 0; i < kSenders; ++i) senders.emplace_back(sender);

  // A third of the way in, the database goes away for ten seconds while the load goes on.
  {
    std::unique_lock lock(mutex);
    created_cv.wait(lock, [&] { return keys_created >= kOrders / 3; });
  }
  StopTestPostgres();
  const Clock::time_point outage_start = Clock::now();
  int readyz_during_outage = 0;
  int readyz_checks = 0;
  while (Clock::now() - outage_start < kOutage) {
    try {
      HttpReply readyz = replicas[readyz_checks % 2]->Get("/readyz");
      ++readyz_checks;
      if (readyz.status == 503) ++readyz_during_outage;
    } catch (const std::exception&) {
      ++transport_errors;  // as above; not an answer either way
    }
  }
  StartTestPostgres();
  const Clock::time_point outage_end = Clock::now();
  for (std::thread& thread : senders) thread.join();
  const Clock::time_point all_created = Clock::now();

  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected answers, first: "
                                  << (unexpected.empty() ? "" : unexpected[0]);
  EXPECT_EQ(readyz_during_outage, readyz_checks) << "/readyz said ready with the database down";
  EXPECT_EQ(replicas[0]->Get("/readyz").status, 200);
  EXPECT_EQ(replicas[1]->Get("/readyz").status, 200);

  // The outage answered 503 store_unavailable, at once rather than by hanging on the database.
  ASSERT_FALSE(unavailable_replies.empty()) << "no request met the outage";
  Clock::duration slowest{};
  int during_outage = 0;
  for (const Reply& reply : unavailable_replies) {
    EXPECT_EQ(reply.code, "store_unavailable");
    slowest = std::max(slowest, reply.latency);
    if (reply.sent >= outage_start && reply.sent + reply.latency <= outage_end) ++during_outage;
  }
  EXPECT_GT(during_outage, 0);
  const auto slowest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count();
  RecordProperty("unavailable_replies", int(unavailable_replies.size()));
  RecordProperty("slowest_unavailable_ms", int(slowest_ms));
  // Answered while the database was still down, not when it came back.
  EXPECT_LT(slowest, kOutage / 2) << "a request waited " << slowest_ms << " ms for the database";

  // One order per key, the same on both replicas.
  std::set<std::string> order_ids;
  for (int i = 0; i < kOrders; ++i) {
    ASSERT_FALSE(first_ids[i].empty()) << "key " << i << " never got its order";
    order_ids.insert(first_ids[i]);
    if (i % 3 == 0) {
      EXPECT_EQ(second_ids[i], first_ids[i]) << "key " << i;
    }
  }
  EXPECT_EQ(order_ids.size(), size_t(kOrders));

  // Every workflow reaches its confirmed appointment, whichever replica ran it.
  std::map<std::string, std::string> junction_ids;
  int index = 0;
  for (const std::string& id : order_ids) {
    json order = json::object();
    for (int poll = 0; poll < 3 && order.value("status", "") != "appointment_scheduled"; ++poll) {
      order = replicas[index++ % 2]->WaitForOrderStatus(token, id, "appointment_scheduled", 30000);
    }
    EXPECT_EQ(order["status"], "appointment_scheduled") << order.dump();
    junction_ids[id] = order.value("junction_order_id", "");
  }

  auto seconds = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0;
  };
  std::cout << "outage " << seconds(outage_end - outage_start) << " s; every key created "
            << seconds(all_created - outage_end) << " s after it; every workflow confirmed "
            << seconds(Clock::now() - all_created) << " s after that; "
            << unavailable_replies.size() << " answers 503, the slowest in " << slowest_ms
            << " ms; " << transport_errors << " requests failed to connect or were reset\n";

  // Exactly one Junction order per key: one idempotency key per order at Junction, ours.
  std::set<std::string> junction_keys;
  for (const json& call : sim.Calls("create_order")) {
    if (call["idempotency_key"].is_string()) junction_keys.insert(call["idempotency_key"]);
  }
  EXPECT_EQ(junction_keys.size(), size_t(kOrders));
  for (const std::string& id : order_ids) {
    EXPECT_TRUE(junction_keys.contains("lab-orders:" + id)) << id;
  }

  // No appointment booked twice: one successful book call per Junction order.
  std::map<std::string, int> bookings;
  for (const json& call : sim.Calls("book_appointment")) {
    if (call["outcome"] == 200) ++bookings[call["path"].get<std::string>()];
  }
  for (const auto& [id, junction_id] : junction_ids) {
    EXPECT_EQ(bookings["/v3/order/" + junction_id + "/phlebotomy/appointment/book"], 1) << id;
  }

  // No job run twice: each order's booking step finished once, on one replica or the other,
  // and no worker ever found its job taken by another while it ran. A booking commit the outage
  // cut off may have taken effect unseen (store_unavailable): then that step has no "done".
  double booked = 0;
  double booked_unseen = 0;
  double lease_lost = 0;
  for (auto& replica : replicas) {
    std::string metrics = replica->Get("/metrics").body;
    booked +=
        CounterValue(metrics, R"(lab_orders_jobs_total{kind="book_appointment",result="done"})");
    booked_unseen += CounterValue(
        metrics, R"(lab_orders_jobs_total{kind="book_appointment",result="store_unavailable"})");
    for (const char* kind : {"await_requisition", "book_appointment", "await_confirmation",
                             "reconcile", "junction_event"}) {
      lease_lost += CounterValue(metrics, std::string("lab_orders_jobs_total{kind=\"") + kind +
                                              "\",result=\"lease_lost\"}");
    }
  }
  EXPECT_LE(booked, double(kOrders));
  EXPECT_GE(booked + booked_unseen, double(kOrders));
  EXPECT_EQ(lease_lost, 0);

  if (HasFailure()) {
    for (std::size_t i = 0; i < replicas.size(); ++i) {
      std::cout << "replica " << i << " warnings and errors:\n"
                << NoticeableLogLines(replicas[i]->Log(), 60);
    }
  }
}

}  // namespace
}  // namespace lab_orders::testing
