#pragma once

#include <gmock/gmock.h>

#include <optional>
#include <string>
#include <vector>

#include "lab_orders/store/order_store.h"

namespace lab_orders::testing {

class MockOrderStore : public store::OrderStore {
 public:
  MOCK_METHOD(std::optional<store::IdempotencyRecord>, FindFinishedKey,
              (const std::string&, const std::string&), (override));
  MOCK_METHOD(std::optional<store::IdempotencyRecord>, FindFinishedKeyInMemory,
              (const std::string&, const std::string&), (override));
  MOCK_METHOD(store::Claim, ClaimKey,
              (const std::string&, const std::string&, const store::RequestIdentity&,
               store::TimePoint, store::TimePoint, const model::LabOrder&),
              (override));
  MOCK_METHOD(void, ReleaseKey, (const std::string&, const std::string&), (override));
  MOCK_METHOD(void, SaveJunctionUser,
              (const std::string&, const std::string&, const std::string&, const std::string&,
               const std::string&, store::TimePoint),
              (override));
  MOCK_METHOD(void, SaveJunctionOrder,
              (const std::string&, const model::LabOrder&, const store::NewJob&, int,
               const std::string&),
              (override));
  MOCK_METHOD(void, FinishKey, (const std::string&, const std::string&, int, const std::string&),
              (override));
  MOCK_METHOD(std::optional<std::string>, FindJunctionUser, (const std::string&), (override));
  MOCK_METHOD(std::optional<model::LabOrder>, GetOrder, (const std::string&, const std::string&),
              (override));
  MOCK_METHOD(std::vector<model::LabOrder>, ListOrders,
              (const std::string&, const std::optional<std::string>&, int,
               const std::optional<std::string>&),
              (override));
  MOCK_METHOD(bool, KeyUnfinished, (const std::string&, const std::string&), (override));
};

}  // namespace lab_orders::testing
