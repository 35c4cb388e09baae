#pragma once

#include <gmock/gmock.h>

#include "lab_orders/webhooks/transport.h"

namespace lab_orders::testing {

class MockWebhookTransport : public webhooks::WebhookTransport {
 public:
  MOCK_METHOD(webhooks::DeliveryResult, Post, (const webhooks::WebhookRequest&), (override));
};

}  // namespace lab_orders::testing
