#pragma once

#include <gmock/gmock.h>

#include "lab_orders/store/result_store.h"

namespace lab_orders::testing {

class MockResultStore : public store::ResultStore {
 public:
  MOCK_METHOD(std::optional<model::OrderResult>, LatestResult,
              (const std::string&, const std::string&), (override));
  MOCK_METHOD(int, CountResultVersions, (const std::string&), (override));
};

}  // namespace lab_orders::testing
