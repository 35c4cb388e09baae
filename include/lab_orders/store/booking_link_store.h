#pragma once

// A patient's booking links (POST /v1/labs/orders/{id}/booking-url): each bound to one order of
// one brand, stored by the SHA-256 of its token only (the token itself is never kept), valid until
// it expires, retired by a newer link for the same order, and marked used by the booking made
// through it. Ids, hashes and times only: no patient data.

#include <optional>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/store_errors.h"

namespace lab_orders::store {

struct BookingLink {
  std::string token_hash;  // hex SHA-256 of the token
  std::string order_id;
  std::string brand_id;
  // The page's form carries it back: a post from another site, which cannot read the page, has
  // not got it. Random; bound to this link.
  std::string form_token;
  TimePoint created_at;
  TimePoint expires_at;
  std::optional<TimePoint> retired_at;        // a newer link for the order was made
  std::optional<TimePoint> used_at;           // a booking was made through it
  std::optional<std::string> appointment_id;  // the booking's, Junction's id
};

class BookingLinkStore {
 public:
  virtual ~BookingLinkStore() = default;

  // Records link and retires (at link.created_at) every other unretired link of its order, in one
  // transaction: only the newest link of an order is ever live.
  virtual void MintBookingLink(const BookingLink& link) = 0;
  // The link whose token hashes to token_hash, or nullopt.
  virtual std::optional<BookingLink> FindBookingLink(const std::string& token_hash) = 0;
  // Marks the link used by the booking of appointment_id, at now (again for a later booking made
  // through it after the first was not confirmed). False when there is no such link.
  virtual bool MarkBookingLinkUsed(const std::string& token_hash, const std::string& appointment_id,
                                   TimePoint now) = 0;
};

}  // namespace lab_orders::store
