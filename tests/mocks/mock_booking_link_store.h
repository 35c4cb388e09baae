#pragma once

#include <gmock/gmock.h>

#include "lab_orders/store/booking_link_store.h"

namespace lab_orders::testing {

class MockBookingLinkStore : public store::BookingLinkStore {
 public:
  MOCK_METHOD(void, MintBookingLink, (const store::BookingLink&), (override));
  MOCK_METHOD(std::optional<store::BookingLink>, FindBookingLink, (const std::string&), (override));
  MOCK_METHOD(bool, MarkBookingLinkUsed, (const std::string&, const std::string&, store::TimePoint),
              (override));
};

}  // namespace lab_orders::testing
