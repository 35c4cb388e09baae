#include "http/booking_page_html.h"

#include <cstdio>

namespace lab_orders::http::booking_page {
namespace {

// The head every page shares: the service's own style sheet, script and icon, and nothing else
// (the Content-Security-Policy allows nothing else).
std::string Head(std::string_view title) {
  std::string html =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"referrer\" content=\"same-origin\">\n<title>";
  html += Escape(title);
  html +=
      "</title>\n<link rel=\"icon\" href=\"/book/assets/icon.svg\" type=\"image/svg+xml\">\n"
      "<link rel=\"stylesheet\" href=\"/book/assets/page.css\">\n"
      "<script src=\"/book/assets/page.js\" defer></script>\n</head>\n";
  return html;
}

// The body's opening: data-status-url and data-state tell the script what to follow.
std::string BodyStart(const std::string& status_url, const std::optional<std::string>& state) {
  std::string html = "<body";
  if (!status_url.empty() && state) {
    html += " data-status-url=\"" + Escape(status_url) + "\" data-state=\"" + Escape(*state) + "\"";
  }
  html +=
      ">\n<header class=\"masthead\"><p class=\"brand\">Blood draw booking</p></header>\n"
      "<main id=\"main\">\n";
  return html;
}

const char* const kEnd =
    "</main>\n<footer class=\"footer\"><p>This page is private to you: please do not share "
    "its link.</p></footer>\n</body>\n</html>\n";

std::string Paragraph(std::string_view text, std::string_view attributes = "") {
  std::string html = "<p";
  if (!attributes.empty()) html += " " + std::string(attributes);
  return html + ">" + Escape(text) + "</p>\n";
}

// What is being booked: the panel, how it is drawn, whether to fast.
std::string Summary(const OrderSummary& order) {
  std::string html = "<section class=\"card\" aria-labelledby=\"what\">\n";
  html += "<h2 id=\"what\">What you are booking</h2>\n<dl class=\"facts\">\n";
  html += "<div><dt>Test</dt><dd>" + Escape(order.panel_name) + "</dd></div>\n";
  html += "<div><dt>Blood draw</dt><dd>";
  html += order.at_service_center ? "At a patient service center near you"
                                  : "At home, by a visiting phlebotomist";
  html += "</dd></div>\n";
  html += "<div><dt>Fasting</dt><dd>";
  html += order.fasting ? "Needed: eat and drink nothing but water for 8 to 12 hours before"
                        : "Not needed";
  html += "</dd></div>\n</dl>\n</section>\n";
  return html;
}

std::string Greeting(const OrderSummary& order) {
  return order.first_name.empty() ? std::string() : Paragraph("Hi " + order.first_name + ",");
}

std::string Distance(double miles) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f miles away", miles);
  return text;
}

std::string DayLink(const ChooseView& view, const std::string& day) {
  std::string href = view.page_url + "?day=" + day;
  if (!view.site_code.empty()) href += "&site=" + view.site_code;
  return href;
}

}  // namespace

std::string Escape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string StateText(std::string_view state) {
  if (state == "confirmed") return "Confirmed. You are all set.";
  if (state == "done") return "Done: your blood has been drawn.";
  return "Requested. Waiting for the lab to confirm it; this page updates by itself.";
}

std::string Render(const ChooseView& view) {
  std::string html = Head("Choose a time for your blood draw");
  html += BodyStart("", std::nullopt);
  html += "<h1>Choose a time for your blood draw</h1>\n";
  if (view.notice) html += Paragraph(*view.notice, "class=\"notice\" role=\"alert\"");
  html += Greeting(view.order);
  html += Paragraph("Pick a time that suits you. You can look at one day at a time.");
  html += Summary(view.order);

  if (view.order.at_service_center) {
    html += "<section class=\"card\" aria-labelledby=\"where\">\n<h2 id=\"where\">Where</h2>\n";
    if (view.centers.empty()) {
      html += Paragraph("No service center near you has a free time to book right now.");
    } else {
      html += "<ul class=\"centers\">\n";
      for (const CenterChoice& center : view.centers) {
        html += "<li><a href=\"" + Escape(view.page_url + "?site=" + center.site_code) + "\"";
        if (center.chosen) html += " aria-current=\"true\"";
        html += "><span class=\"center-name\">" + Escape(center.name) + "</span>";
        html += "<span class=\"center-address\">" + Escape(center.address) + "</span>";
        if (center.distance_miles) {
          html += "<span class=\"center-distance\">" + Distance(*center.distance_miles) + "</span>";
        }
        html += "</a></li>\n";
      }
      html += "</ul>\n";
    }
    html += "</section>\n";
  }

  html += "<section class=\"card\" aria-labelledby=\"when\">\n<h2 id=\"when\">When</h2>\n";
  if (view.day.empty()) {
    html += Paragraph("There is no free time to book right now. Please come back later.");
    html += "<p><a href=\"" + Escape(view.page_url) + "\">Look again</a></p>\n";
    html += "</section>\n";
    return html + kEnd;
  }
  html += "<nav class=\"days\" aria-label=\"Days\">\n";
  if (view.previous_day) {
    html += "<a href=\"" + Escape(DayLink(view, *view.previous_day)) +
            "\" rel=\"prev\">Earlier day</a>\n";
  }
  html += "<p class=\"day\" aria-live=\"polite\">" + Escape(view.day_label) + "</p>\n";
  if (view.next_day) {
    html +=
        "<a href=\"" + Escape(DayLink(view, *view.next_day)) + "\" rel=\"next\">Later day</a>\n";
  }
  html += "</nav>\n";
  html += "<form method=\"post\" action=\"" + Escape(view.page_url) + "\" class=\"slots-form\">\n";
  html += "<input type=\"hidden\" name=\"form_token\" value=\"" + Escape(view.form_token) + "\">\n";
  html += "<input type=\"hidden\" name=\"day\" value=\"" + Escape(view.day) + "\">\n";
  if (!view.site_code.empty()) {
    html += "<input type=\"hidden\" name=\"site\" value=\"" + Escape(view.site_code) + "\">\n";
  }
  html += "<fieldset>\n<legend>Times on " + Escape(view.day_label) + " (" + Escape(view.timezone) +
          " time)</legend>\n<div class=\"slots\">\n";
  int index = 0;
  for (const SlotChoice& slot : view.slots) {
    const std::string id = "slot-" + std::to_string(index++);
    html += "<div class=\"slot\"><input type=\"radio\" name=\"booking_key\" id=\"" + id +
            "\" value=\"" + Escape(slot.booking_key) + "\" required>";
    html += "<label for=\"" + id + "\">" + Escape(slot.label) + "</label></div>\n";
  }
  html += "</div>\n</fieldset>\n<button type=\"submit\">Book this time</button>\n</form>\n";
  html += "</section>\n";
  return html + kEnd;
}

std::string Render(const AppointmentView& view) {
  std::string html = Head("Your blood draw appointment");
  html += BodyStart(view.status_url, view.state);
  html += "<h1>Your blood draw appointment</h1>\n";
  html += Greeting(view.order);
  html += "<section class=\"card\" aria-labelledby=\"appointment\">\n";
  html += "<h2 id=\"appointment\">Appointment</h2>\n";
  html += "<p id=\"booking-state\" class=\"state state-" + Escape(view.state) +
          "\" role=\"status\" aria-live=\"polite\">" + Escape(StateText(view.state)) + "</p>\n";
  html += "<dl class=\"facts\">\n";
  html += "<div><dt>When</dt><dd>" + Escape(view.when) + "</dd></div>\n";
  html += "<div><dt>Where</dt><dd>" + Escape(view.place_name);
  if (!view.place_address.empty()) html += "<br>" + Escape(view.place_address);
  html += "</dd></div>\n";
  if (view.confirmation_code) {
    html += "<div><dt>Confirmation code</dt><dd>" + Escape(*view.confirmation_code) +
            " (show it at the desk)</dd></div>\n";
  }
  html += "</dl>\n</section>\n";
  html += Summary(view.order);
  if (view.state == "pending") {
    // Without the script, the patient asks again.
    html += "<p class=\"again\"><a href=\"" + Escape(view.page_url) + "\">Check again</a></p>\n";
  }
  return html + kEnd;
}

std::string Render(const MessageView& view) {
  std::string html = Head(view.heading);
  html += BodyStart(view.status_url, view.state);
  html += "<h1>" + Escape(view.heading) + "</h1>\n";
  for (const std::string& paragraph : view.paragraphs) html += Paragraph(paragraph);
  if (!view.page_url.empty()) {
    html += "<p class=\"again\"><a href=\"" + Escape(view.page_url) + "\">Check again</a></p>\n";
  }
  return html + kEnd;
}

}  // namespace lab_orders::http::booking_page
