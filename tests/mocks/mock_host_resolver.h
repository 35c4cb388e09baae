#pragma once

#include <gmock/gmock.h>

#include "lab_orders/webhooks/host_resolver.h"

namespace lab_orders::testing {

class MockHostResolver : public webhooks::HostResolver {
 public:
  MOCK_METHOD(std::vector<webhooks::IpAddress>, Resolve, (const std::string&), (const, override));
};

}  // namespace lab_orders::testing
