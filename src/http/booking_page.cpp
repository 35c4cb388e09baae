#include "http/booking_page.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTMLForm.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "http/api_helpers.h"
#include "http/booking_page_assets.h"
#include "http/booking_page_html.h"
#include "http/local_time_text.h"
#include "lab_orders/common/encoding.h"
#include "lab_orders/http/error_status.h"
#include "lab_orders/model/order_json.h"
#include "lab_orders/model/order_status.h"
#include "lab_orders/store/store_errors.h"
#include "lab_orders/workflow/state.h"

namespace lab_orders::http {
namespace {

using nlohmann::json;
using namespace booking_page;
using namespace api_detail;

constexpr std::size_t kMaxBookingKey = 512;

ApiResponse HtmlResponse(int status, std::string body) {
  ApiResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = {{"Content-Type", "text/html; charset=utf-8"},
                      {"Content-Security-Policy", kPagePolicy},
                      // The page holds the patient's first name and the link's form token.
                      {"Cache-Control", "no-store"},
                      // The URL is the link: never sent on to another site. (Not no-referrer:
                      // a browser then sends its form posts with Origin: null.)
                      {"Referrer-Policy", "same-origin"},
                      {"X-Content-Type-Options", "nosniff"},
                      {"X-Frame-Options", "DENY"}};
  return response;
}

ApiResponse Message(int status, const MessageView& view) {
  return HtmlResponse(status, Render(view));
}

// A page of plain words with no link of its own.
ApiResponse Message(int status, std::string heading, std::vector<std::string> paragraphs) {
  MessageView view;
  view.heading = std::move(heading);
  view.paragraphs = std::move(paragraphs);
  return Message(status, view);
}

ApiResponse SeeOther(const std::string& location) {
  ApiResponse response = HtmlResponse(303, "");
  response.headers.emplace_back("Location", location);
  return response;
}

std::string PageUrl(const std::string& token) { return "/book/" + token; }
std::string StatusUrl(const std::string& token) { return "/book/" + token + "/status"; }

// A link that no longer opens to a booking, in plain words.
ApiResponse LinkGone(const std::string& state) {
  if (state == "expired") {
    return Message(410, "This link has expired",
                   {"Booking links work for a limited time, and this one has run out.",
                    "Please ask your care team to send you a new link."});
  }
  if (state == "retired") {
    return Message(410, "This link has been replaced",
                   {"A newer booking link was sent to you: please use the latest one.",
                    "If you cannot find it, ask your care team to send it again."});
  }
  if (state == "used") {
    return Message(410, "This link has been used",
                   {"An appointment was already booked with this link.",
                    "If you need another, please ask your care team for a new link."});
  }
  return Message(404, "This link does not work",
                 {"Please check that you opened the whole link from your message.",
                  "If it still does not work, ask your care team to send a new one."});
}

ApiResponse Closed(const model::LabOrder& order) {
  if (order.status == "cancelled") {
    return Message(410, "This order was cancelled",
                   {"There is nothing to book for it. If you think this is a mistake, "
                    "please contact your care team."});
  }
  return Message(410, "There is nothing left to book",
                 {"This order is closed. Your care team will be in touch about what "
                  "comes next."});
}

// A refusal or a failure, as the patient reads it.
ApiResponse Failure(const AppError& error, const std::string& token) {
  const int status = HttpStatusFor(error.code());
  MessageView view;
  view.page_url = token.empty() ? "" : PageUrl(token);
  if (status == 429) {
    view.heading = "Please wait a moment";
    view.paragraphs = {
        "There have been too many requests from here. Please wait a minute and "
        "try again."};
  } else if (status >= 500) {
    view.heading = "We could not reach the lab just now";
    view.paragraphs = {"Nothing was booked. Please try again in a minute."};
  } else {
    view.heading = "We could not do that";
    view.paragraphs = {error.what()};
  }
  ApiResponse response = Message(status, view);
  if (error.retry_after_seconds) {
    response.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
  }
  return response;
}

AppError RateLimited(std::chrono::nanoseconds wait) {
  AppError limited(ErrorCode::kRateLimited, "Too many requests; wait and retry.");
  limited.retry_after_seconds =
      int(std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(wait).count()));
  return limited;
}

// The link's brand acting for its patient: what OrderActions needs to find the order.
auth::Principal PatientOf(const store::BookingLink& link) {
  return {"booking-link", link.brand_id, {}};
}

OrderSummary SummaryOf(const model::LabOrder& order,
                       const std::map<std::string, std::string>& panel_names) {
  OrderSummary summary;
  summary.first_name = order.patient.first_name;
  auto name = panel_names.find(order.panel_slug);
  summary.panel_name = name != panel_names.end() ? name->second : order.panel_slug;
  summary.fasting = order.workflow.fasting;
  summary.at_service_center = order.workflow.collection_method == model::kWalkIn;
  return summary;
}

std::string Text(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

// A site's address as the availability answer has it (model::SiteAddressJson), on one line.
std::string SiteAddressLine(const json& address) {
  return model::SiteAddressLine(Text(address, "line1"), Text(address, "line2"),
                                Text(address, "city"), Text(address, "state"), Text(address, "zip"))
      .value_or("");
}

std::optional<std::string> QueryValue(const Poco::Net::HTMLForm& query, const char* name) {
  if (!query.has(name)) return std::nullopt;
  return query.get(name);
}

}  // namespace

BookingPage::BookingPage(orders::BookingLinks& links, workflow::OrderActions& actions,
                         const Clock& clock, BookingPageSettings settings)
    : links_(links),
      actions_(actions),
      clock_(clock),
      settings_(std::move(settings)),
      per_address_(std::make_unique<KeyedRateLimiter>(settings_.per_address_per_second,
                                                      settings_.per_address_burst, clock)),
      per_link_(std::make_unique<KeyedRateLimiter>(settings_.per_link_per_second,
                                                   settings_.per_link_burst, clock)),
      mint_per_token_(std::make_unique<KeyedRateLimiter>(settings_.mint_per_token_per_second,
                                                         settings_.mint_per_token_burst, clock)),
      mint_per_address_(std::make_unique<KeyedRateLimiter>(
          settings_.mint_per_address_per_second, settings_.mint_per_address_burst, clock)) {}

std::string BookingPage::StateOf(const orders::OpenedLink& opened) {
  switch (opened.state) {
    case orders::LinkState::kUnknown:
      return "unknown";
    case orders::LinkState::kExpired:
      return "expired";
    case orders::LinkState::kRetired:
      return "retired";
    case orders::LinkState::kLive:
      break;
  }
  const model::LabOrder& order = *opened.order;
  if (model::IsFinalOrderStatus(order.status)) return "closed";
  const std::optional<model::AppointmentView>& appointment = order.workflow.appointment;
  if (appointment && appointment->status == "completed") return "done";
  if (appointment && workflow::IsActiveAppointmentStatus(appointment->status)) {
    return workflow::IsPendingAppointmentStatus(appointment->status) ? "pending" : "confirmed";
  }
  // The link's own booking that did not hold (not confirmed, or cancelled by the provider) may be
  // made again; a link used for a booking since replaced, or cancelled by the brand, may not.
  const bool own_booking_fell_through = appointment &&
                                        opened.link.appointment_id == appointment->id &&
                                        order.workflow.appointment_cancelled_by != "brand";
  if (opened.link.used_at && !own_booking_fell_through) return "used";
  // A home visit the workflow books (auto_book) is being booked by it.
  const bool workflow_books =
      order.workflow.collection_method == model::kAtHome && order.workflow.auto_book;
  if (workflow_books || !workflow::BookableNow(order)) return "preparing";
  return "choose";
}

std::optional<ApiResponse> BookingPage::Limited(const ApiRequest& request, const std::string& token,
                                                bool as_page) const {
  std::chrono::nanoseconds wait = per_address_->TryAcquire(request.client_address);
  // Per link by its hash: the table of limits holds no token.
  if (wait == std::chrono::nanoseconds::zero() && !token.empty()) {
    wait = per_link_->TryAcquire(orders::BookingLinks::HashOf(token));
  }
  if (wait == std::chrono::nanoseconds::zero()) return std::nullopt;
  const AppError limited = RateLimited(wait);
  if (!as_page) throw limited;
  return Failure(limited, "");
}

bool BookingPage::SameOrigin(const ApiRequest& request) const {
  // A browser says where a form was posted from; one from another site is refused.
  const std::string fetch_site = Header(request, "sec-fetch-site");
  if (!fetch_site.empty() && fetch_site != "same-origin" && fetch_site != "none") return false;
  const std::string origin = Header(request, "origin");
  if (origin.empty()) return true;  // not sent (an older browser): the form token decides
  // An opaque origin (a sandboxed frame, a page with no referrer): only the browser's own word
  // that it is this site's page will do.
  if (origin == "null") return fetch_site == "same-origin";
  if (!settings_.public_origin.empty()) return origin == settings_.public_origin;
  const std::string host = Header(request, "host");
  return !host.empty() && (origin == "http://" + host || origin == "https://" + host);
}

ApiResponse BookingPage::Serve(const ApiRequest& request, ApiResponse& context) const {
  const std::string rest = request.path.substr(std::string_view("/book/").size());
  if (rest.rfind("assets/", 0) == 0) {
    context.route = "/book/assets/{file}";
    RequireMethod(request, "GET");
    if (auto limited = Limited(request, "", /*as_page=*/true)) return *limited;
    const Asset asset = AssetNamed(std::string_view(rest).substr(7));
    if (asset.body.empty()) return Message(404, "Not found", {"There is nothing here."});
    ApiResponse response;
    response.static_body = asset.body;
    response.headers = {{"Content-Type", asset.content_type},
                        {"Cache-Control", "public, max-age=3600"},
                        {"X-Content-Type-Options", "nosniff"}};
    return response;
  }
  const std::size_t slash = rest.find('/');
  const std::string token = rest.substr(0, slash);
  const std::string action = slash == std::string::npos ? "" : rest.substr(slash);
  if (action == "/status") {
    context.route = "/book/{token}/status";
    RequireMethod(request, "GET");
    Limited(request, token, /*as_page=*/false);
    return Status(request, token);
  }
  context.route = action.empty() ? "/book/{token}" : "unknown";
  if (!action.empty()) return LinkGone("unknown");
  try {
    RequireMethod(request, "GET, POST");
  } catch (const AppError& error) {
    ApiResponse refused = Failure(error, "");
    refused.headers.emplace_back("Allow", "GET, POST");
    return refused;
  }
  if (auto limited = Limited(request, token, /*as_page=*/true)) return *limited;
  try {
    return request.method == "POST" ? BookFromForm(request, token) : Page(request, token);
  } catch (const AppError& error) {
    if (HttpStatusFor(error.code()) >= 500) {
      spdlog::warn("request {}: booking page: {} ({})", request.request_id,
                   ErrorCodeName(error.code()), error.log_detail());
    }
    return Failure(error, token);
  } catch (const store::StoreUnavailable& e) {
    spdlog::error("request {}: booking page: store unavailable: {}", request.request_id, e.what());
    return Failure(AppError(ErrorCode::kStoreUnavailable, "The service is busy; try again."),
                   token);
  } catch (const std::exception& e) {
    spdlog::error("request {}: booking page: unexpected error: {}", request.request_id, e.what());
    return Failure(AppError(ErrorCode::kInternalError, "Something went wrong."), token);
  }
}

ApiResponse BookingPage::Page(const ApiRequest& request, const std::string& token) const {
  Poco::Net::HTMLForm query;
  ParseQuery(request, &query);
  orders::OpenedLink opened = links_.Open(token);
  const std::string state = StateOf(opened);
  if (state == "unknown" || state == "expired" || state == "retired" || state == "used") {
    return LinkGone(state);
  }
  const model::LabOrder& order = *opened.order;
  if (state == "closed") return Closed(order);
  if (state == "choose") {
    std::optional<std::string> notice;
    if (opened.link.used_at) {
      notice = "The time you chose could not be confirmed. Please choose another.";
    }
    return ChoosePage(request, opened, token, notice, 200);
  }
  if (state == "preparing") {
    MessageView view{"We are getting your appointment ready",
                     {"Your order is being prepared with the lab. This page updates by itself "
                      "in a moment; there is nothing you need to do."},
                     state,
                     PageUrl(token),
                     StatusUrl(token)};
    return Message(200, view);
  }
  // pending, confirmed or done: the appointment, read-only.
  const model::AppointmentView& appointment = *order.workflow.appointment;
  AppointmentView view;
  view.order = SummaryOf(order, settings_.panel_names);
  view.state = state;
  view.page_url = PageUrl(token);
  view.status_url = StatusUrl(token);
  const std::string zone = appointment.timezone.value_or("UTC");
  std::optional<LocalTimeText> start =
      appointment.start_at ? LocalTimeOf(*appointment.start_at, zone) : std::nullopt;
  std::optional<LocalTimeText> end =
      appointment.end_at ? LocalTimeOf(*appointment.end_at, zone) : std::nullopt;
  view.when = start ? start->day_label + ", " + start->clock + (end ? " to " + end->clock : "") +
                          " (" + zone + " time)"
                    : "To be confirmed";
  view.place_name = view.order.at_service_center ? "At the patient service center"
                                                 : "At your home, by a visiting phlebotomist";
  view.confirmation_code = appointment.confirmation_code;
  view.place_address = appointment.site_address.value_or("");
  return HtmlResponse(200, Render(view));
}

ApiResponse BookingPage::ChoosePage(const ApiRequest& request, const orders::OpenedLink& opened,
                                    const std::string& token,
                                    const std::optional<std::string>& notice, int status) const {
  Poco::Net::HTMLForm query;
  ParseQuery(request, &query);
  const model::LabOrder& order = *opened.order;
  const json availability = actions_.Availability(PatientOf(opened.link), order.id);
  ChooseView view;
  view.order = SummaryOf(order, settings_.panel_names);
  view.page_url = PageUrl(token);
  view.form_token = opened.link.form_token;
  view.notice = notice;
  std::string zone = Text(availability, "timezone");
  const json& slots = availability.at("slots");

  // A walk-in order's centers, nearest first; the one asked for, or the nearest.
  std::vector<const json*> chosen_slots;
  if (view.order.at_service_center) {
    std::set<std::string> seen;
    for (const json& slot : slots) {
      const json& center = slot.at("service_center");
      const std::string code = Text(center, "site_code");
      if (!seen.insert(code).second) continue;
      CenterChoice choice{code, Text(center, "name"),
                          SiteAddressLine(center.value("address", json())), std::nullopt, false};
      if (center.contains("distance_miles") && center["distance_miles"].is_number()) {
        choice.distance_miles = center["distance_miles"].get<double>();
      }
      view.centers.push_back(std::move(choice));
    }
    std::stable_sort(view.centers.begin(), view.centers.end(), [](const auto& a, const auto& b) {
      return a.distance_miles.value_or(0) < b.distance_miles.value_or(0);
    });
    const std::string asked = QueryValue(query, "site").value_or("");
    auto chosen = std::find_if(view.centers.begin(), view.centers.end(),
                               [&](const CenterChoice& c) { return c.site_code == asked; });
    if (chosen == view.centers.end() && !view.centers.empty()) chosen = view.centers.begin();
    if (chosen != view.centers.end()) {
      chosen->chosen = true;
      view.site_code = chosen->site_code;
    }
    for (const json& slot : slots) {
      const json& center = slot.at("service_center");
      if (Text(center, "site_code") != view.site_code) continue;
      if (!Text(center, "timezone").empty()) zone = Text(center, "timezone");
      chosen_slots.push_back(&slot);
    }
  } else {
    for (const json& slot : slots) chosen_slots.push_back(&slot);
  }
  if (zone.empty()) zone = "UTC";
  view.timezone = zone;

  // A day at a time, on the place's calendar.
  std::vector<std::string> days;
  for (const json* slot : chosen_slots) {
    if (auto start = LocalTimeOf(Text(*slot, "start_at"), zone)) {
      if (std::find(days.begin(), days.end(), start->date) == days.end()) {
        days.push_back(start->date);
      }
    }
  }
  std::sort(days.begin(), days.end());
  if (!days.empty()) {
    const std::string asked = QueryValue(query, "day").value_or("");
    auto day = std::find(days.begin(), days.end(), asked);
    if (day == days.end()) day = days.begin();
    view.day = *day;
    view.day_label = DayLabelOf(view.day).value_or(view.day);
    if (day != days.begin()) view.previous_day = *(day - 1);
    if (day + 1 != days.end()) view.next_day = *(day + 1);
    for (const json* slot : chosen_slots) {
      auto start = LocalTimeOf(Text(*slot, "start_at"), zone);
      auto end = LocalTimeOf(Text(*slot, "end_at"), zone);
      if (!start || start->date != view.day) continue;
      view.slots.push_back(
          {Text(*slot, "booking_key"), start->clock + (end ? " to " + end->clock : "")});
    }
  }
  return HtmlResponse(status, Render(view));
}

ApiResponse BookingPage::BookFromForm(const ApiRequest& request, const std::string& token) const {
  const std::string type = Header(request, "content-type");
  if (type.rfind("application/x-www-form-urlencoded", 0) != 0) {
    throw AppError(ErrorCode::kUnsupportedMediaType, "Please use the form on the booking page.");
  }
  Poco::Net::HTMLForm form;
  try {
    form.read(request.body);
  } catch (const Poco::Exception&) {
    throw AppError(ErrorCode::kValidationError, "The form could not be read. Please try again.");
  }
  orders::OpenedLink opened = links_.Open(token);
  const std::string state = StateOf(opened);
  if (state == "unknown" || state == "expired" || state == "retired" || state == "used") {
    return LinkGone(state);
  }
  if (!SameOrigin(request) ||
      !ConstantTimeEquals(form.get("form_token", ""), opened.link.form_token)) {
    spdlog::warn("request {}: booking page: a form of order {} refused (origin or form token)",
                 request.request_id, opened.link.order_id);
    MessageView view;
    view.heading = "This page is out of date";
    view.paragraphs = {
        "Nothing was booked. Please open your booking link again and choose a "
        "time there."};
    view.page_url = PageUrl(token);
    return Message(403, view);
  }
  // Booked already (this form sent twice, say), or nothing to book: the page says what there is.
  if (state != "choose") return SeeOther(PageUrl(token));
  const std::string booking_key = form.get("booking_key", "");
  if (booking_key.empty() || booking_key.size() > kMaxBookingKey) {
    return ChoosePage(request, opened, token, "Please choose a time, then book it.", 400);
  }
  json order;
  try {
    order = actions_.Book(PatientOf(opened.link), opened.link.order_id,
                          {{"booking_key", booking_key}}, nullptr, workflow::Booker::kPatient);
  } catch (const AppError& error) {
    if (error.code() == ErrorCode::kSlotUnavailable) {
      return ChoosePage(request, opened, token,
                        "That time has just been taken. Please choose another.", 409);
    }
    if (error.code() == ErrorCode::kOrderNotBookable) return SeeOther(PageUrl(token));
    throw;
  }
  const json& appointment = order.value("appointment", json());
  if (appointment.is_object() && appointment.contains("id")) {
    links_.MarkUsed(opened.link, appointment["id"].get<std::string>());
  }
  spdlog::info("request {}: order {} booked by the patient through a booking link",
               request.request_id, opened.link.order_id);
  return SeeOther(PageUrl(token));
}

ApiResponse BookingPage::Status(const ApiRequest& request, const std::string& token) const {
  Poco::Net::HTMLForm query;
  ParseQuery(request, &query);
  const std::string known = query.get("known", "");
  const int wait_ms = WaitMilliseconds(query, 0);
  std::string state = StateOf(links_.Open(token));
  if (state == "unknown") throw AppError(ErrorCode::kNotFound, "No such booking link.");
  if (changes_ != nullptr && !known.empty() && state == known && wait_ms > 0) {
    changes_->WaitUntil(
        [&] {
          state = StateOf(links_.Open(token));
          return state != known;
        },
        std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms));
  }
  ApiResponse response = JsonResponse(200, {{"state", state}});
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  return response;
}

json BookingPage::Mint(const ApiRequest& request, const auth::Principal& principal,
                       const std::string& order_id, const std::optional<json>& body) const {
  std::optional<std::chrono::seconds> expires_in;
  if (body) {
    const long long longest = links_.settings().ttl.count();
    std::vector<FieldViolation> violations;
    if (!body->is_object()) {
      violations.push_back({"", "must be an object"});
    } else {
      for (const auto& [name, value] : body->items()) {
        if (name != "expires_in_seconds") {
          violations.push_back({"/" + name, "is not a known field"});
        } else if (!value.is_number_integer() || value.get<long long>() < 1 ||
                   value.get<long long>() > longest) {
          violations.push_back({"/expires_in_seconds",
                                "must be a whole number from 1 to " + std::to_string(longest)});
        } else {
          expires_in = std::chrono::seconds(value.get<long long>());
        }
      }
    }
    if (!violations.empty()) {
      throw AppError(ErrorCode::kValidationError, "The request body is not valid.", "",
                     std::move(violations));
    }
  }
  // Per API token by its hash: the table of limits holds no credential.
  std::chrono::nanoseconds wait =
      mint_per_token_->TryAcquire(Sha256(Header(request, "authorization")));
  if (wait == std::chrono::nanoseconds::zero()) {
    wait = mint_per_address_->TryAcquire(request.client_address);
  }
  if (wait != std::chrono::nanoseconds::zero()) throw RateLimited(wait);
  return links_.Mint(principal, order_id, expires_in);
}

}  // namespace lab_orders::http
