// A walk-in order's service-center appointment over real processes (issue 18): lab-orders lists
// the venues near the patient, a site's slots (junction-sim's PSC availability), books one under
// Junction's idempotency key, reschedules it and cancels the appointment only, each through
// Junction's /psc/ endpoints (checked against its spec by the simulator). Polled with deadlines;
// nothing sleeps.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/order_bodies.h"
#include "support/poll.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;

class ServiceCenterBookingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<SimProcess>();
    service_ = std::make_unique<ServiceProcess>(sim_->base_url(), FastWorkflow());
    token_ = service_->Token("brand-psc", "user-psc");
  }

  std::map<std::string, std::string> Auth() const {
    return {{"Authorization", "Bearer " + token_}};
  }

  // A walk-in order in Phoenix, its requisition made (the simulator's default).
  std::string WalkInOrder(const std::string& key) {
    json body = WorkflowOrderBody(key);
    body["collection_method"] = "walk_in";
    HttpReply created =
        service_->Post("/v1/labs/orders", body.dump(),
                       {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", key}});
    EXPECT_EQ(created.status, 201) << created.body;
    return created.Json().value("id", "");
  }

  // Booked as a client would: until the order's requisition is ready (409 order_not_bookable
  // before the workflow has learnt it, which frees the key), then once.
  HttpReply BookOnceReady(const std::string& id, const std::string& booking_key,
                          const std::string& key) {
    HttpReply booked;
    EXPECT_TRUE(PollUntil(
        [&] {
          booked = Book(id, booking_key, key);
          return booked.status != 409 || booked.Json().value("error", "") != "order_not_bookable";
        },
        std::chrono::seconds(20)));
    return booked;
  }

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::string token_;

  json Slots(const std::string& id, const std::string& site_code) {
    HttpReply slots = service_->Get(
        "/v1/labs/orders/" + id + "/appointment/availability?site_code=" + site_code, Auth());
    EXPECT_EQ(slots.status, 200) << slots.body;
    return slots.Json()["slots"];
  }

  HttpReply Book(const std::string& id, const std::string& booking_key, const std::string& key) {
    return service_->Post("/v1/labs/orders/" + id + "/appointment",
                          json{{"booking_key", booking_key}}.dump(),
                          {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", key}});
  }
};

TEST_F(ServiceCenterBookingTest, AWalkInOrderBooksAServiceCenterSlotReschedulesAndCancelsIt) {
  const std::string id = WalkInOrder("psc-1");
  ASSERT_FALSE(id.empty());

  // The venues near the patient; the first takes bookings through Junction.
  const json venues = service_->Get("/v1/labs/venues?zip=85004", Auth()).Json()["venues"];
  ASSERT_FALSE(venues.empty());
  ASSERT_EQ(venues[0]["books_through_junction"], true);
  const std::string site = venues[0]["site_code"];

  // Its slots, each naming the site; asked of Junction's PSC availability for Quest.
  json slots = Slots(id, site);
  ASSERT_GE(slots.size(), 2u);
  for (const json& slot : slots) EXPECT_EQ(slot["service_center"]["site_code"], site);
  EXPECT_EQ(slots[0]["service_center"]["address"]["zip"], "85004");
  const json asked = sim_->Calls("psc_availability");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_NE(asked[0]["query"].get<std::string>().find("lab=quest"), std::string::npos);
  EXPECT_NE(asked[0]["query"].get<std::string>().find("site_codes=" + site), std::string::npos);
  EXPECT_EQ(sim_->Calls("availability").size(), 0u);  // no home visit's slots

  // Booked under Junction's idempotency key: one call, no home-visit booking.
  HttpReply booked = BookOnceReady(id, slots[0]["booking_key"], "book-psc-1");
  ASSERT_EQ(booked.status, 200) << booked.body;
  const json order = service_->WaitForOrderStatus(token_, id, "appointment_scheduled");
  ASSERT_EQ(order["status"], "appointment_scheduled") << order.dump();
  EXPECT_EQ(order["appointment"]["provider"], "quest");
  EXPECT_EQ(order["appointment"]["start_at"], slots[0]["start_at"]);
  EXPECT_EQ(order["appointment"]["confirmation_code"].get<std::string>().rfind("QC", 0), 0u);
  // Where the center is, one line, for the brand to tell the patient.
  const json& address = slots[0]["service_center"]["address"];
  const std::string where = order["appointment"]["site_address"].get<std::string>();
  EXPECT_EQ(where.rfind(address["line1"].get<std::string>(), 0), 0u) << where;
  EXPECT_TRUE(where.ends_with(" 85004")) << where;
  EXPECT_EQ(order["appointment"]["booked_by"], "brand");
  const json book_calls = sim_->Calls("psc_book_appointment");
  ASSERT_EQ(book_calls.size(), 1u);
  EXPECT_FALSE(book_calls[0]["idempotency_key"].is_null());
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 0u);

  // The same request again replays its answer: nothing more is sent.
  EXPECT_EQ(Book(id, slots[0]["booking_key"], "book-psc-1").status, 200);
  EXPECT_EQ(sim_->Calls("psc_book_appointment").size(), 1u);

  // Rescheduled to another of the site's slots.
  slots = Slots(id, site);
  ASSERT_GE(slots.size(), 2u);
  const json later = slots[1];
  HttpReply moved = Book(id, later["booking_key"], "move-psc-1");
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.Json()["appointment"]["start_at"], later["start_at"]);
  EXPECT_EQ(sim_->Calls("psc_reschedule_appointment").size(), 1u);

  // The service center's own cancellation reasons; the appointment only is cancelled.
  const json reasons =
      service_->Get("/v1/labs/cancellation-reasons?collection_method=walk_in", Auth())
          .Json()["reasons"];
  ASSERT_FALSE(reasons.empty());
  HttpReply cancelled =
      service_->Post("/v1/labs/orders/" + id + "/appointment/cancel",
                     json{{"reason_id", reasons[0]["id"]}, {"note", "Patient will walk in"}}.dump(),
                     {{"Authorization", "Bearer " + token_}});
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.Json()["status"], "appointment_cancelled");
  EXPECT_EQ(cancelled.Json()["appointment"]["cancelled_by"], "brand");
  const json cancel_calls = sim_->Calls("psc_cancel_appointment");
  ASSERT_EQ(cancel_calls.size(), 1u);
  EXPECT_EQ(cancel_calls[0]["body"]["cancellationReasonId"], reasons[0]["id"]);
  EXPECT_EQ(cancel_calls[0]["body"]["note"], "Patient will walk in");
  EXPECT_EQ(sim_->Calls("cancel_order").size(), 0u);
  EXPECT_EQ(sim_->Calls("cancel_appointment").size(), 0u);
  // The order goes on (the patient may walk in): not cancelled, not rebooked.
  EXPECT_EQ(service_->Get("/v1/labs/orders/" + id, Auth()).Json()["status"],
            "appointment_cancelled");
  EXPECT_EQ(sim_->Calls("psc_book_appointment").size(), 1u);
}

TEST_F(ServiceCenterBookingTest, AHomeVisitsReasonIsRefusedForAServiceCentersAppointment) {
  const std::string id = WalkInOrder("psc-2");
  const json venues = service_->Get("/v1/labs/venues?zip=85004", Auth()).Json()["venues"];
  ASSERT_FALSE(venues.empty());
  const json slots = Slots(id, venues[0]["site_code"]);
  ASSERT_FALSE(slots.empty());
  ASSERT_EQ(BookOnceReady(id, slots[0]["booking_key"], "book-psc-2").status, 200);
  const json home_reasons =
      service_->Get("/v1/labs/cancellation-reasons", Auth()).Json()["reasons"];
  ASSERT_FALSE(home_reasons.empty());
  HttpReply refused = service_->Post("/v1/labs/orders/" + id + "/appointment/cancel",
                                     json{{"reason_id", home_reasons[0]["id"]}}.dump(),
                                     {{"Authorization", "Bearer " + token_}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.Json()["details"][0]["path"], "/reason_id");
  EXPECT_EQ(sim_->Calls("psc_cancel_appointment").size(), 0u);

  HttpReply bad_site = service_->Get(
      "/v1/labs/orders/" + id + "/appointment/availability?site_code=%3Cscript%3E", Auth());
  EXPECT_EQ(bad_site.status, 400) << bad_site.body;
}

// A booking Junction made but whose answer was lost (silence past the call's deadline): the
// brand's retry under the same Idempotency-Key sends it again under the same Junction key, and
// Junction answers with the booking it made. One appointment, never two.
TEST_F(ServiceCenterBookingTest, ABookingWhoseAnswerWasLostIsSentAgainUnderTheSameJunctionKey) {
  sim_->LoadScript(
      {{"operations",
        {{"psc_book_appointment",
          {{{"call", 1}, {"fault", "hang"}, {"hang_ms", 3000}, {"when", "after"}}}}}}});
  const std::string id = WalkInOrder("psc-3");
  const json venues = service_->Get("/v1/labs/venues?zip=85004", Auth()).Json()["venues"];
  ASSERT_FALSE(venues.empty());
  const json slots = Slots(id, venues[0]["site_code"]);
  ASSERT_FALSE(slots.empty());

  HttpReply lost = BookOnceReady(id, slots[0]["booking_key"], "book-psc-3");
  ASSERT_EQ(lost.status, 502) << lost.body;
  EXPECT_EQ(lost.Json()["error"], "junction_timeout");
  HttpReply retried = Book(id, slots[0]["booking_key"], "book-psc-3");
  ASSERT_EQ(retried.status, 200) << retried.body;

  const json calls = sim_->Calls("psc_book_appointment");
  ASSERT_GE(calls.size(), 1u);
  ASSERT_LE(calls.size(), 2u);
  ASSERT_FALSE(calls[0]["idempotency_key"].is_null());
  for (const json& call : calls) EXPECT_EQ(call["idempotency_key"], calls[0]["idempotency_key"]);
  const std::string junction_id =
      service_->Get("/v1/labs/orders/" + id, Auth()).Json()["junction_order_id"];
  const json active = sim_->Junction("GET", "/v3/order/" + junction_id + "/psc/appointment").Json();
  EXPECT_EQ(retried.Json()["appointment"]["id"], active["id"]);
  EXPECT_EQ(sim_->Calls("psc_reschedule_appointment").size(), 0u);
}

}  // namespace
}  // namespace lab_orders::testing
