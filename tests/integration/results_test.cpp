// The order's second half over real processes (issue 17): junction-sim produces results and
// sends its signed webhooks to lab-orders (dev mode, its own SQLite), whose brand events go to
// tests/webhooks/receiver/receiver.mjs. An order runs to completion and its result is served with
// every marker field; partial, final and corrected results are three versions and three events;
// a critical result reaches the brand ahead of its other pending events; a failed sample carries
// its reason; another brand's result is 404; neither the database files nor the log hold a marker
// value. Everything is polled with deadlines; nothing sleeps.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/brand_receiver_test.h"
#include "support/order_bodies.h"
#include "support/poll.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

// Whether text holds number as a number of its own: not part of a longer run of digits, letters
// or points.
bool ContainsNumber(const std::string& text, const std::string& number) {
  auto part_of_number = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.';
  };
  for (std::size_t at = text.find(number); at != std::string::npos;
       at = text.find(number, at + 1)) {
    const bool starts = at == 0 || !part_of_number(text[at - 1]);
    const std::size_t end = at + number.size();
    const bool ends = end == text.size() || !part_of_number(text[end]);
    if (starts && ends) return true;
  }
  return false;
}

using nlohmann::json;

constexpr const char* kBrand = "brand-results";
constexpr const char* kScopes =
    "labs:orders:read labs:orders:write labs:results:read labs:webhooks:manage";

class ResultsTest : public BrandReceiverTest {
 protected:
  void SetUp() override {
    NodeReceiverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    StartWithBrandReceiver(kBrand, "user-results", kScopes,
                           {{"LAB_ORDERS_RESULTS_POLL_MS", "20"},
                            {"LAB_ORDERS_WEBHOOK_RETRY_DELAYS_S", "10,10,10,10,10,10,10,10,10,10"},
                            {"LAB_ORDERS_WEBHOOK_INTERVAL_MS", "50"}});
  }

  // A new order, scheduled: returns {id, junction_order_id}.
  std::pair<std::string, std::string> ScheduledOrder(const std::string& patient) {
    HttpReply reply =
        service_->Post("/v1/labs/orders", WorkflowOrderBody(patient).dump(),
                       {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", patient}});
    EXPECT_EQ(reply.status, 201) << reply.body;
    const json order = reply.Json();
    json scheduled = service_->WaitForOrderStatus(token_, order["id"], "appointment_scheduled");
    EXPECT_EQ(scheduled["status"], "appointment_scheduled") << scheduled.dump();
    return {order["id"], order["junction_order_id"]};
  }

  void Advance(const std::string& junction_order_id, json body) {
    sim_->Admin("POST", "/_sim/orders/" + junction_order_id + "/advance", body);
  }

  // The order's result once it has this many versions (null when it does not in time).
  json WaitForResult(const std::string& order_id, int version) {
    json result;
    PollUntil(
        [&] {
          HttpReply reply = service_->Get("/v1/labs/orders/" + order_id + "/result", Auth());
          if (reply.status != 200) return false;
          result = reply.Json();
          return result["version"].get<int>() >= version;
        },
        std::chrono::seconds(20));
    return result;
  }
};

TEST_F(ResultsTest, ACompletedOrdersResultIsServedWithEveryMarkerFieldToItsBrandOnly) {
  const auto [id, junction_id] = ScheduledOrder("results-complete");
  Advance(junction_id, {{"status", "draw_completed"}});
  Advance(junction_id, {{"status", "completed"}, {"interpretation", "abnormal"}});
  const json result = WaitForResult(id, 1);
  ASSERT_TRUE(result.is_object()) << "no result in time";
  EXPECT_EQ(result["status"], "final");
  EXPECT_EQ(result["interpretation"], "abnormal");
  EXPECT_TRUE(result["sample_id"].is_string());
  ASSERT_FALSE(result["markers"].empty());
  bool flagged = false;
  for (const json& marker : result["markers"]) {
    for (const char* field : {"name", "slug", "loinc", "value", "value_type", "unit",
                              "reference_range", "flag", "notes"}) {
      EXPECT_TRUE(marker.contains(field)) << field << " missing in " << marker.dump();
    }
    EXPECT_TRUE(marker["name"].is_string() && marker["value"].is_string());
    flagged = flagged || marker["flag"] == "high" || marker["flag"] == "low";
  }
  EXPECT_TRUE(flagged) << "an abnormal result with no marker out of range";
  EXPECT_TRUE(result["missing_markers"].is_array());

  const json order = service_->Get("/v1/labs/orders/" + id, Auth()).Json();
  EXPECT_EQ(order["status"], "completed");
  EXPECT_EQ(order["result_bloodwork_id"], result["id"]);
  EXPECT_TRUE(order["completed_at"].is_string());

  HttpReply pdf = service_->Get("/v1/labs/orders/" + id + "/result/pdf", Auth());
  EXPECT_EQ(pdf.status, 200);
  EXPECT_EQ(pdf.body.rfind("%PDF-", 0), 0u);

  // Another brand, and a token without the results scope.
  const std::string other = service_->Token("brand-other", "user-x", kScopes);
  HttpReply foreign = service_->Get("/v1/labs/orders/" + id + "/result", Auth(other));
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(foreign.Json()["error"], "not_found");
  EXPECT_EQ(service_->Get("/v1/labs/orders/" + id + "/result/pdf", Auth(other)).status, 404);
  const std::string orders_only = service_->Token(kBrand, "user-results", "labs:orders:read");
  EXPECT_EQ(service_->Get("/v1/labs/orders/" + id + "/result", Auth(orders_only)).status, 403);

  // Results are PHI: no marker value in the database files or the log. A value is looked for as a
  // number standing alone, in a log without its lines' timestamps and access lines' latencies: a
  // value of 12.34 is no leak in "07:51:12.345", in an id, or in "latency_ms":12.34.
  const std::string database = service_->DatabaseBytes();
  const std::string log = std::regex_replace(
      service_->Log(),
      std::regex(R"(\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\]|"latency_ms":[0-9.]+)"), "");
  for (const json& marker : result["markers"]) {
    const std::string value = marker["value"];
    if (value.size() < 4) continue;  // too short to be told from other bytes
    EXPECT_FALSE(ContainsNumber(database, value)) << "a marker value in the database";
    EXPECT_FALSE(ContainsNumber(log, value)) << "a marker value in the log: " << value;
  }
  EXPECT_NE(log.find("audit: result read: brand " + std::string(kBrand)), std::string::npos);
}

TEST_F(ResultsTest, PartialFinalAndCorrectedAreThreeVersionsEachAnnouncedOnce) {
  const auto [id, junction_id] = ScheduledOrder("results-versions");
  HttpReply early = service_->Get("/v1/labs/orders/" + id + "/result", Auth());
  EXPECT_EQ(early.status, 404);
  EXPECT_EQ(early.Json()["error"], "result_not_ready");

  Advance(junction_id, {{"status", "partial_results"}});
  EXPECT_EQ(WaitForResult(id, 1)["status"], "partial");
  Advance(junction_id, {{"status", "completed"}});
  EXPECT_EQ(WaitForResult(id, 2)["status"], "final");
  Advance(junction_id, {{"status", "corrected"}});
  const json corrected = WaitForResult(id, 3);
  EXPECT_EQ(corrected["status"], "corrected");
  EXPECT_EQ(corrected["version"], 3);

  std::vector<std::string> ready;
  ASSERT_TRUE(PollUntil(
      [&] {
        ready.clear();
        for (const std::string& type : receiver_->AcknowledgedTypes(id)) {
          if (type == "lab_order.results_ready") ready.push_back(type);
        }
        return ready.size() >= 3;
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(ready.size(), 3u);
}

TEST_F(ResultsTest, ACriticalResultReachesTheBrandAheadOfItsOtherPendingEvents) {
  // The receiver fails its first delivery: the event waits 10 s for its retry (time enough on a
  // slow machine), and the order's later events wait behind it. The critical result arrives
  // meanwhile.
  receiver_->Script(json::array({500}));
  const auto [id, junction_id] = ScheduledOrder("results-critical");
  Advance(junction_id, {{"status", "draw_completed"}});
  Advance(junction_id, {{"status", "partial_results"}, {"interpretation", "critical"}});
  // Every delivery in arrival order, as "type=status".
  std::vector<std::string> timeline;
  ASSERT_TRUE(PollUntil(
      [&] {
        timeline.clear();
        for (const json& delivery : receiver_->Deliveries()) {
          timeline.push_back(delivery["body"]["type"].get<std::string>() + "=" +
                             std::to_string(delivery["status"].get<int>()));
        }
        return std::find(timeline.begin(), timeline.end(), "lab_order.result_critical=200") !=
                   timeline.end() &&
               !timeline.empty() && timeline.back() != timeline.front() &&
               std::count_if(timeline.begin(), timeline.end(),
                             [](const std::string& entry) { return entry.ends_with("=200"); }) >= 6;
      },
      std::chrono::seconds(30)));
  std::string trace;
  for (const std::string& entry : timeline) trace += entry + " ";
  ASSERT_FALSE(timeline.empty());
  ASSERT_TRUE(timeline.front().ends_with("=500")) << trace;
  // The first delivery acknowledged after the failure is the critical result, ahead of the
  // failed event's retry and everything queued behind it.
  EXPECT_EQ(timeline[1], "lab_order.result_critical=200") << trace;
  const std::string retried = timeline.front().substr(0, timeline.front().find('=')) + "=200";
  auto retry = std::find(timeline.begin(), timeline.end(), retried);
  EXPECT_NE(retry, timeline.end()) << trace;
  EXPECT_EQ(WaitForResult(id, 1)["interpretation"], "critical");
  const std::string metrics = service_->Get("/metrics").body;
  EXPECT_NE(metrics.find("lab_orders_critical_results_total{result_status=\"partial\"} 1"),
            std::string::npos);
}

TEST_F(ResultsTest, ARescheduleTellsTheBrandTheOldAndNewTimesAndWhoMovedIt) {
  const auto [id, junction_id] = ScheduledOrder("results-reschedule");
  const json before = service_->Get("/v1/labs/orders/" + id, Auth()).Json()["appointment"];
  const json slots =
      service_->Get("/v1/labs/orders/" + id + "/appointment/availability", Auth()).Json()["slots"];
  ASSERT_FALSE(slots.empty());
  const json later = slots[slots.size() - 1];
  HttpReply moved = service_->Post("/v1/labs/orders/" + id + "/appointment",
                                   json{{"booking_key", later["booking_key"]}}.dump(), Auth());
  ASSERT_EQ(moved.status, 200) << moved.body;
  json rescheduled;
  ASSERT_TRUE(PollUntil(
      [&] {
        for (const json& delivery : receiver_->Deliveries()) {
          const json& event = delivery["body"];
          if (event["type"] == "appointment.rescheduled" && event["data"]["order"]["id"] == id) {
            rescheduled = event["data"];
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(rescheduled["appointment_id"], before["id"]);
  EXPECT_EQ(rescheduled["previous_start_at"], before["start_at"]);
  EXPECT_EQ(rescheduled["start_at"], later["start_at"]);
  EXPECT_EQ(rescheduled["rescheduled_by"], "brand");
}

TEST_F(ResultsTest, AFailedSampleCarriesItsReason) {
  const auto [id, junction_id] = ScheduledOrder("results-failed");
  Advance(junction_id, {{"status", "sample_error"}, {"status_detail", "sample_hemolyzed"}});
  const json failed = service_->WaitForOrderStatus(token_, id, "failed");
  ASSERT_EQ(failed["status"], "failed") << failed.dump();
  EXPECT_NE(failed["failure_reason"].get<std::string>().find("hemolyzed"), std::string::npos);
  EXPECT_EQ(service_->Get("/v1/labs/orders/" + id + "/result", Auth()).Json()["error"],
            "result_not_ready");
}

}  // namespace
}  // namespace lab_orders::testing
