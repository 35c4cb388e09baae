// The brand cancels only an order's appointment, over real processes (issue 18): lab-orders lists
// Junction's cancellation reasons, cancels the appointment at junction-sim with the reason, keeps
// the order going without rebooking it (the cancellation is the brand's, not the provider's),
// tells the brand's endpoint (tests/webhooks/receiver/receiver.mjs) who cancelled it, and takes
// the brand's next booking as a new one. Polled with deadlines; nothing sleeps.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "support/brand_receiver_test.h"
#include "support/order_bodies.h"
#include "support/poll.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;

constexpr const char* kBrand = "brand-appointment-cancel";
constexpr const char* kScopes = "labs:orders:read labs:orders:write labs:webhooks:manage";

class AppointmentCancelTest : public BrandReceiverTest {
 protected:
  void SetUp() override {
    NodeReceiverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    StartWithBrandReceiver(kBrand, "user-appointment-cancel", kScopes,
                           {{"LAB_ORDERS_WEBHOOK_INTERVAL_MS", "50"}});
  }

  std::map<std::string, std::string> WithKey(const std::string& key) const {
    auto headers = Auth();
    headers["Idempotency-Key"] = key;
    return headers;
  }

  HttpReply CancelAppointment(const std::string& id, const json& body, const std::string& key) {
    return service_->Post("/v1/labs/orders/" + id + "/appointment/cancel", body.dump(),
                          WithKey(key));
  }
};

TEST_F(AppointmentCancelTest, TheBrandCancelsTheAppointmentOnlyAndNothingIsRebookedUntilItBooks) {
  HttpReply created = service_->Post("/v1/labs/orders", WorkflowOrderBody("patient-ac").dump(),
                                     WithKey("order-ac"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  const json scheduled = service_->WaitForOrderStatus(token_, id, "appointment_scheduled");
  ASSERT_EQ(scheduled["status"], "appointment_scheduled") << scheduled.dump();
  const std::string first_appointment = scheduled["appointment"]["id"];

  HttpReply reasons = service_->Get("/v1/labs/cancellation-reasons", Auth());
  ASSERT_EQ(reasons.status, 200) << reasons.body;
  ASSERT_GE(reasons.Json()["reasons"].size(), 1u);
  const json listed = reasons.Json()["reasons"];
  for (const json& reason : listed) {
    EXPECT_TRUE(reason["id"].is_string() && reason["name"].is_string() &&
                reason["is_refundable"].is_boolean())
        << reason.dump();
  }
  const std::string reason_id = reasons.Json()["reasons"][0]["id"];

  // A reason Junction does not list is the client's to fix, at its field; nothing is sent.
  HttpReply unknown =
      CancelAppointment(id, {{"reason_id", "00000000-0000-4000-8000-00000000dead"}}, "ac-bad");
  ASSERT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_EQ(unknown.Json()["details"][0]["path"], "/reason_id");
  EXPECT_EQ(sim_->Calls("cancel_appointment").size(), 0u);

  HttpReply cancelled =
      CancelAppointment(id, {{"reason_id", reason_id}, {"note", "patient travelling"}}, "ac-1");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.Json()["status"], "appointment_cancelled");
  EXPECT_EQ(cancelled.Json()["appointment"]["status"], "cancelled");
  EXPECT_EQ(cancelled.Json()["appointment"]["cancelled_by"], "brand");
  const json calls = sim_->Calls("cancel_appointment");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["body"]["cancellation_reason_id"], reason_id);

  // A retry under the key replays the answer and cancels nothing more.
  HttpReply replayed =
      CancelAppointment(id, {{"reason_id", reason_id}, {"note", "patient travelling"}}, "ac-1");
  EXPECT_EQ(replayed.status, 200);
  EXPECT_EQ(replayed.headers["Idempotent-Replayed"], "true");
  // Another cancel finds no active appointment.
  HttpReply again = CancelAppointment(id, {{"reason_id", reason_id}}, "ac-2");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.Json()["error"], "appointment_not_cancellable");
  EXPECT_EQ(sim_->Calls("cancel_appointment").size(), 1u);

  // The brand hears who cancelled it.
  ASSERT_TRUE(PollUntil(
      [&] {
        for (const json& delivery : receiver_->Deliveries()) {
          const json& event = delivery["body"];
          if (event["type"] == "appointment.cancelled" && event["data"]["order"]["id"] == id) {
            EXPECT_EQ(event["data"]["cancelled_by"], "brand") << event.dump();
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(20)));

  // The brand books again: a new booking, not a move of one the workflow made meanwhile.
  const json slots =
      service_->Get("/v1/labs/orders/" + id + "/appointment/availability", Auth()).Json()["slots"];
  ASSERT_FALSE(slots.empty());
  HttpReply booked = service_->Post("/v1/labs/orders/" + id + "/appointment",
                                    json{{"booking_key", slots[0]["booking_key"]}}.dump(), Auth());
  ASSERT_EQ(booked.status, 200) << booked.body;
  EXPECT_NE(booked.Json()["appointment"]["id"], first_appointment);
  EXPECT_EQ(booked.Json()["appointment"]["cancelled_by"], nullptr);
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 2u) << "the workflow's first and the brand's";
  EXPECT_EQ(sim_->Calls("reschedule_appointment").size(), 0u);
}

TEST_F(AppointmentCancelTest, NoAppointmentYetIsNotCancellable) {
  sim_->LoadScript({{"requisition", {{"mode", "manual"}}}});
  HttpReply created = service_->Post("/v1/labs/orders", WorkflowOrderBody("patient-ac2").dump(),
                                     WithKey("order-ac2"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string reason_id =
      service_->Get("/v1/labs/cancellation-reasons", Auth()).Json()["reasons"][0]["id"];
  HttpReply refused = CancelAppointment(created.Json()["id"], {{"reason_id", reason_id}}, "ac2-1");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.Json()["error"], "appointment_not_cancellable");
  EXPECT_EQ(sim_->Calls("cancel_appointment").size(), 0u);
}

}  // namespace
}  // namespace lab_orders::testing
