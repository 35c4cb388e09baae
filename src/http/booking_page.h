#pragma once

// The patient's booking page (issue 19): GET /book/{token} shows what is being booked and the
// day's free times (a walk-in order's service centers first), POST /book/{token} books the chosen
// one through the same code as the API (workflow::OrderActions::Book, as the patient), and the
// page then shows the appointment read-only, following it from pending to confirmed
// (GET /book/{token}/status). Every answer but the status route's is a page: a link that does not
// work, a refusal, a failure of Junction's each get a page of plain words and the right status
// code, never a stack trace or a JSON error. Requests are rate limited per client address and per
// link. Internal to the http floor.

#include <map>
#include <memory>
#include <string>

#include "lab_orders/common/change_notifier.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/keyed_rate_limiter.h"
#include "lab_orders/http/api.h"
#include "lab_orders/orders/booking_links.h"
#include "lab_orders/workflow/order_actions.h"

namespace lab_orders::http {

class BookingPage {
 public:
  BookingPage(orders::BookingLinks& links, workflow::OrderActions& actions, const Clock& clock,
              BookingPageSettings settings);

  // Lets the status route wait for the order to change (?known=state&wait_ms=N).
  void WaitForChangesWith(ChangeNotifier& changes) { changes_ = &changes; }

  // /book/... . Fills context's route. Never throws for a page; the status route's errors are
  // thrown (AppError) for the API's JSON envelope.
  ApiResponse Serve(const ApiRequest& request, ApiResponse& context) const;

  // POST /v1/labs/orders/{id}/booking-url: the brand's link, counted against its API token and
  // its address (429 rate_limited past either). Throws AppError.
  // body: nullopt, or {"expires_in_seconds": 1 to the configured life of a link}.
  nlohmann::json Mint(const ApiRequest& request, const auth::Principal& principal,
                      const std::string& order_id, const std::optional<nlohmann::json>& body) const;

  // What a link's page shows now: choose | preparing | pending | confirmed | done | closed |
  // used, or expired | retired | unknown for a link that no longer opens.
  static std::string StateOf(const orders::OpenedLink& opened);

 private:
  ApiResponse Page(const ApiRequest& request, const std::string& token) const;
  ApiResponse BookFromForm(const ApiRequest& request, const std::string& token) const;
  ApiResponse Status(const ApiRequest& request, const std::string& token) const;
  // The choosing page of a live link, with notice (what went wrong with the last try) first.
  ApiResponse ChoosePage(const ApiRequest& request, const orders::OpenedLink& opened,
                         const std::string& token, const std::optional<std::string>& notice,
                         int status) const;
  // A 429 page (or nothing) for this request: per address, then per link (token "" for none).
  std::optional<ApiResponse> Limited(const ApiRequest& request, const std::string& token,
                                     bool as_page) const;
  // Whether a POST came from the page itself: its Origin (when sent) is the service's.
  bool SameOrigin(const ApiRequest& request) const;

  orders::BookingLinks& links_;
  workflow::OrderActions& actions_;
  const Clock& clock_;
  BookingPageSettings settings_;
  ChangeNotifier* changes_ = nullptr;
  std::unique_ptr<KeyedRateLimiter> per_address_;
  std::unique_ptr<KeyedRateLimiter> per_link_;
  std::unique_ptr<KeyedRateLimiter> mint_per_token_;
  std::unique_ptr<KeyedRateLimiter> mint_per_address_;
};

}  // namespace lab_orders::http
