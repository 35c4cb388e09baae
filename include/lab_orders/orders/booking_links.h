#pragma once

// A patient's booking links (issue 19): a brand trades its API token for a link, valid for a day,
// that opens the booking page lab-orders serves (GET /book/{token}), where the patient chooses a
// time themselves. The token is 256 random bits, kept only as its SHA-256, bound to one order of
// one brand; a newer link for the order retires the older; the URL carries nothing but the token.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/model/order.h"
#include "lab_orders/store/booking_link_store.h"
#include "lab_orders/store/order_store.h"

namespace lab_orders::orders {

struct BookingLinkSettings {
  // scheme://host[:port], without a trailing slash (LAB_ORDERS_PUBLIC_BASE_URL): the links' origin.
  std::string public_base_url;
  std::chrono::seconds ttl{std::chrono::hours(24)};  // LAB_ORDERS_BOOKING_LINK_TTL_S
};

// What a link opens to.
enum class LinkState {
  kLive,     // the order's newest link, unexpired
  kUnknown,  // no such link (a forged or mistyped token)
  kExpired,
  kRetired,  // a newer link was made for the order
};

struct OpenedLink {
  LinkState state = LinkState::kUnknown;
  store::BookingLink link;               // unless kUnknown
  std::optional<model::LabOrder> order;  // when kLive: the order as it stands (with PHI)
};

class BookingLinks {
 public:
  BookingLinks(store::BookingLinkStore& links, store::OrderStore& orders, const Clock& clock,
               BookingLinkSettings settings);

  // A new link for principal's brand's order: {"url", "expires_at"}, the order's older links
  // retired. 404 for an order of another brand (or none); 409 order_not_bookable for an order that
  // has ended or is a test kit's (nothing to book). Throws AppError.
  // expires_in: a shorter life than settings' ttl (never a longer one).
  nlohmann::json Mint(const auth::Principal& principal, const std::string& order_id,
                      std::optional<std::chrono::seconds> expires_in = std::nullopt);

  // What the token opens to: the link and its order when live. A token that is not one this
  // service makes is kUnknown without a store lookup.
  OpenedLink Open(std::string_view token);

  // The booking of appointment_id was made through link.
  void MarkUsed(const store::BookingLink& link, const std::string& appointment_id);

  // The token's SHA-256, in hex: what the store keeps.
  static std::string HashOf(std::string_view token);
  // Whether text has a token's form (43 characters of base64url, 256 bits).
  static bool IsTokenShaped(std::string_view text);

  const BookingLinkSettings& settings() const { return settings_; }

 private:
  store::BookingLinkStore& links_;
  store::OrderStore& orders_;
  const Clock& clock_;
  BookingLinkSettings settings_;
};

}  // namespace lab_orders::orders
