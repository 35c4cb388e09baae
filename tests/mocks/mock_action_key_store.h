#pragma once

#include <gmock/gmock.h>

#include <string>
#include <string_view>

#include "lab_orders/store/action_key_store.h"

namespace lab_orders::testing {

class MockActionKeyStore : public store::ActionKeyStore {
 public:
  MOCK_METHOD(store::ActionClaim, ClaimActionKey,
              (const std::string&, const std::string&, std::string_view,
               const store::RequestIdentity&, store::TimePoint, store::TimePoint),
              (override));
  MOCK_METHOD(void, CheckpointActionKey,
              (const std::string&, const std::string&, store::TimePoint, const std::string&),
              (override));
  MOCK_METHOD(void, FinishActionKey,
              (const std::string&, const std::string&, store::TimePoint, int, const std::string&),
              (override));
  MOCK_METHOD(void, ReleaseActionKey, (const std::string&, const std::string&, store::TimePoint),
              (override));
  MOCK_METHOD(void, ForgetActionKey, (const std::string&, const std::string&, store::TimePoint),
              (override));
};

}  // namespace lab_orders::testing
