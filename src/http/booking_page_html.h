#pragma once

// The booking page's HTML (issue 19), rendered on the server from what the page shows: plain
// markup, every control labelled, one script and one style sheet of the service's own
// (booking_page_assets.cpp). Internal to the http floor.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lab_orders::http::booking_page {

// Text made safe for HTML content and attribute values.
std::string Escape(std::string_view text);

// What every page says of the order: never more of the patient than a first name.
struct OrderSummary {
  std::string first_name;
  std::string panel_name;  // the panel's display name
  bool fasting = false;
  bool at_service_center = false;
};

struct SlotChoice {
  std::string booking_key;
  std::string label;  // "8:00 am – 8:30 am"
};

struct CenterChoice {
  std::string site_code;
  std::string name;
  std::string address;  // one line
  std::optional<double> distance_miles;
  bool chosen = false;
};

// A day's slots to choose from (and, for a walk-in order, the service center's).
struct ChooseView {
  OrderSummary order;
  std::string page_url;  // /book/{token}: the form's action and the base of the day links
  std::string form_token;
  std::vector<CenterChoice> centers;  // walk-in only
  std::string site_code;              // the chosen center's, walk-in only
  std::string day;                    // YYYY-MM-DD, "" when there is no slot at all
  std::string day_label;              // "Monday 7 December"
  std::optional<std::string> previous_day, next_day;
  std::string timezone;  // the slots' IANA zone, as shown
  std::vector<SlotChoice> slots;
  std::optional<std::string> notice;  // what went wrong with the last try, said first
};

// The booking made: shown read-only, and updated in place while it awaits confirmation.
struct AppointmentView {
  OrderSummary order;
  std::string state;       // pending | confirmed | done
  std::string when;        // "Monday 7 December, 8:00 am – 8:30 am (America/New_York)"
  std::string place_name;  // "At your home" or the service center's name
  std::string place_address;
  std::optional<std::string> confirmation_code;
  std::string page_url;
  std::string status_url;
};

// Everything else: a link that does not work, an order being prepared, an error.
struct MessageView {
  std::string heading;
  std::vector<std::string> paragraphs;
  // "preparing": the page asks for the order's state and reloads once it changes.
  std::optional<std::string> state;
  std::string page_url;  // "" when the page has no link of its own (a link that does not work)
  std::string status_url;
};

std::string Render(const ChooseView& view);
std::string Render(const AppointmentView& view);
std::string Render(const MessageView& view);

// What the state names read as on the page (pending, confirmed, done).
std::string StateText(std::string_view state);

}  // namespace lab_orders::http::booking_page
