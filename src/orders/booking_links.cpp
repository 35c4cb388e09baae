#include "lab_orders/orders/booking_links.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "lab_orders/common/encoding.h"
#include "lab_orders/common/error.h"
#include "lab_orders/model/order_status.h"

namespace lab_orders::orders {
namespace {

constexpr std::size_t kTokenBytes = 32;      // 256 bits
constexpr std::size_t kTokenLength = 43;     // their base64url, unpadded
constexpr std::size_t kFormTokenBytes = 16;  // 128 bits

}  // namespace

BookingLinks::BookingLinks(store::BookingLinkStore& links, store::OrderStore& orders,
                           const Clock& clock, BookingLinkSettings settings)
    : links_(links), orders_(orders), clock_(clock), settings_(std::move(settings)) {}

std::string BookingLinks::HashOf(std::string_view token) { return HexEncode(Sha256(token)); }

bool BookingLinks::IsTokenShaped(std::string_view text) {
  return text.size() == kTokenLength && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

nlohmann::json BookingLinks::Mint(const auth::Principal& principal, const std::string& order_id,
                                  std::optional<std::chrono::seconds> expires_in) {
  std::optional<model::LabOrder> order = orders_.GetOrder(principal.brand_id, order_id);
  if (!order) throw AppError(ErrorCode::kNotFound, "No such order.");
  if (model::IsFinalOrderStatus(order->status)) {
    throw AppError(ErrorCode::kOrderNotBookable,
                   "The order is " + order->status + ": there is nothing to book.");
  }
  if (order->workflow.collection_method == model::kTestkit) {
    throw AppError(ErrorCode::kOrderNotBookable,
                   "The order is a testkit order: the kit is mailed to the patient, and no "
                   "appointment is booked for it.");
  }
  const std::string token = Base64UrlEncode(RandomBytes(kTokenBytes));
  store::BookingLink link;
  link.token_hash = HashOf(token);
  link.order_id = order->id;
  link.brand_id = principal.brand_id;
  link.form_token = Base64UrlEncode(RandomBytes(kFormTokenBytes));
  link.created_at = clock_.Now();
  link.expires_at = link.created_at + std::min(expires_in.value_or(settings_.ttl), settings_.ttl);
  links_.MintBookingLink(link);
  spdlog::info("order {}: booking link made, expiring {}", order->id,
               FormatRfc3339(link.expires_at));
  return {{"url", settings_.public_base_url + "/book/" + token},
          {"expires_at", FormatRfc3339(link.expires_at)}};
}

OpenedLink BookingLinks::Open(std::string_view token) {
  OpenedLink opened;
  if (!IsTokenShaped(token)) return opened;
  std::optional<store::BookingLink> link = links_.FindBookingLink(HashOf(token));
  if (!link) return opened;
  opened.link = std::move(*link);
  if (opened.link.retired_at) {
    opened.state = LinkState::kRetired;
  } else if (clock_.Now() >= opened.link.expires_at) {
    opened.state = LinkState::kExpired;
  } else {
    opened.order = orders_.GetOrder(opened.link.brand_id, opened.link.order_id);
    // A link outlives nothing of its order's: an order gone reads as no link.
    opened.state = opened.order ? LinkState::kLive : LinkState::kUnknown;
  }
  return opened;
}

void BookingLinks::MarkUsed(const store::BookingLink& link, const std::string& appointment_id) {
  if (!links_.MarkBookingLinkUsed(link.token_hash, appointment_id, clock_.Now())) {
    spdlog::warn("order {}: the booking link of appointment {} was not found to mark",
                 link.order_id, appointment_id);
  }
}

}  // namespace lab_orders::orders
