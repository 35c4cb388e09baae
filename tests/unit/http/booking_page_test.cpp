// The booking page's parts that need no server (http/booking_page.h): what a link's page shows
// for each state of its order, its HTML made safe and labelled, and times in the place's zone.

#include "http/booking_page.h"

#include <gtest/gtest.h>

#include "http/booking_page_html.h"
#include "http/local_time_text.h"
#include "support/store_fixtures.h"

namespace lab_orders::http {
namespace {

using namespace std::chrono_literals;
using booking_page::Escape;

const std::chrono::system_clock::time_point kT0 =
    std::chrono::sys_days{std::chrono::year{2025} / 6 / 15} + 10h;

// A live link of an order whose requisition is ready, booked by the patient (auto_book false).
orders::OpenedLink Live() {
  orders::OpenedLink opened;
  opened.state = orders::LinkState::kLive;
  opened.link.order_id = "order-1";
  opened.link.brand_id = "brand-1";
  model::LabOrder order = testing::ExampleOrder("order-1", "brand-1", kT0);
  order.status = "ordered";
  order.junction_order_id = "jo-1";
  order.workflow.junction_status = "received.at_home_phlebotomy.requisition_created";
  order.workflow.auto_book = false;
  opened.order = order;
  return opened;
}

model::AppointmentView Appointment(const std::string& id, const std::string& status) {
  model::AppointmentView view;
  view.id = id;
  view.status = status;
  return view;
}

TEST(BookingPageStateTest, ALinkThatNoLongerOpensSaysWhy) {
  orders::OpenedLink opened;
  EXPECT_EQ(BookingPage::StateOf(opened), "unknown");
  opened.state = orders::LinkState::kExpired;
  EXPECT_EQ(BookingPage::StateOf(opened), "expired");
  opened.state = orders::LinkState::kRetired;
  EXPECT_EQ(BookingPage::StateOf(opened), "retired");
}

TEST(BookingPageStateTest, AnOpenOrderIsChosenForOnceItCanBeBooked) {
  orders::OpenedLink opened = Live();
  EXPECT_EQ(BookingPage::StateOf(opened), "choose");
  opened.order->workflow.junction_status = "received.at_home_phlebotomy.ordered";
  EXPECT_EQ(BookingPage::StateOf(opened), "preparing");  // no requisition yet
  opened = Live();
  opened.order->workflow.booking_sent = true;
  EXPECT_EQ(BookingPage::StateOf(opened), "preparing");  // a booking under way
  opened = Live();
  opened.order->workflow.auto_book = true;
  EXPECT_EQ(BookingPage::StateOf(opened), "preparing");  // the workflow books it
  opened = Live();
  opened.order->workflow.collection_method = model::kWalkIn;
  opened.order->workflow.auto_book = true;
  EXPECT_EQ(BookingPage::StateOf(opened), "choose");  // a walk-in order is never booked for it
  opened = Live();
  opened.order->status = "cancelled";
  EXPECT_EQ(BookingPage::StateOf(opened), "closed");
}

TEST(BookingPageStateTest, AnAppointmentIsShownPendingConfirmedOrDone) {
  orders::OpenedLink opened = Live();
  for (const auto& [status, shown] :
       std::vector<std::pair<std::string, std::string>>{{"pending", "pending"},
                                                        {"reserved", "pending"},
                                                        {"confirmed", "confirmed"},
                                                        {"in_progress", "confirmed"},
                                                        {"completed", "done"}}) {
    opened.order->workflow.appointment = Appointment("appt-1", status);
    EXPECT_EQ(BookingPage::StateOf(opened), shown) << status;
  }
}

TEST(BookingPageStateTest, AUsedLinkBooksAgainOnlyWhenItsOwnBookingFellThrough) {
  orders::OpenedLink opened = Live();
  opened.link.used_at = kT0;
  opened.link.appointment_id = "appt-1";
  opened.order->workflow.appointment = Appointment("appt-1", "cancelled");
  opened.order->workflow.appointment_cancelled_by = "junction";
  EXPECT_EQ(BookingPage::StateOf(opened), "choose");  // the provider did not confirm it
  opened.order->workflow.appointment_cancelled_by = "brand";
  EXPECT_EQ(BookingPage::StateOf(opened), "used");  // the brand cancelled it: a new link
  opened.order->workflow.appointment = Appointment("appt-2", "cancelled");
  opened.order->workflow.appointment_cancelled_by = "junction";
  EXPECT_EQ(BookingPage::StateOf(opened), "used");  // another booking since
}

TEST(BookingPageHtmlTest, TextIsEscapedForContentAndAttributes) {
  EXPECT_EQ(Escape("<a href=\"x\">'O'Brien' & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;O&#39;Brien&#39; &amp; co&lt;/a&gt;");
}

TEST(BookingPageHtmlTest, EveryTimeIsALabelledRadioOfTheForm) {
  booking_page::ChooseView view;
  view.order.first_name = "<Ana>";
  view.order.panel_name = "PCOS panel";
  view.page_url = "/book/t";
  view.form_token = "ft";
  view.day = "2025-06-16";
  view.day_label = "Monday 16 June";
  view.timezone = "America/Phoenix";
  view.slots = {{"bk_1", "8:00 am to 9:00 am"}, {"bk_\"2", "9:00 am to 10:00 am"}};
  const std::string html = booking_page::Render(view);
  EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(html.find("Hi &lt;Ana&gt;,"), std::string::npos);
  EXPECT_NE(html.find("id=\"slot-0\" value=\"bk_1\" required><label for=\"slot-0\">"),
            std::string::npos);
  EXPECT_NE(html.find("value=\"bk_&quot;2\""), std::string::npos);
  EXPECT_NE(html.find("name=\"form_token\" value=\"ft\""), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos) << "no inline script";
  EXPECT_EQ(html.find("style="), std::string::npos) << "no inline style";
}

TEST(LocalTimeTextTest, ATimeIsReadInThePlacesZone) {
  std::optional<LocalTimeText> phoenix =
      LocalTimeOf("2025-06-16T15:30:00+00:00", "America/Phoenix");
  ASSERT_TRUE(phoenix);
  EXPECT_EQ(phoenix->date, "2025-06-16");
  EXPECT_EQ(phoenix->day_label, "Monday 16 June");
  EXPECT_EQ(phoenix->clock, "8:30 am");
  // Past midnight UTC is still the evening before in New York.
  std::optional<LocalTimeText> evening = LocalTimeOf("2025-06-17T00:00:00Z", "America/New_York");
  ASSERT_TRUE(evening);
  EXPECT_EQ(evening->date, "2025-06-16");
  EXPECT_EQ(evening->clock, "8:00 pm");
  EXPECT_EQ(LocalTimeOf("2025-06-16T12:00:00Z", "Not/AZone")->clock, "12:00 pm");  // UTC
  EXPECT_FALSE(LocalTimeOf("tomorrow", "UTC"));
  EXPECT_EQ(DayLabelOf("2025-12-25"), "Thursday 25 December");
  EXPECT_FALSE(DayLabelOf("2025-02-30"));
}

}  // namespace
}  // namespace lab_orders::http
