#pragma once

#include <gmock/gmock.h>

#include <optional>
#include <string>
#include <vector>

#include "lab_orders/store/webhook_store.h"

namespace lab_orders::testing {

class MockWebhookStore : public store::WebhookStore {
 public:
  MOCK_METHOD(void, CreateWebhookEndpoint, (const store::WebhookEndpoint&), (override));
  MOCK_METHOD(std::vector<store::WebhookEndpoint>, ListWebhookEndpoints, (const std::string&),
              (override));
  MOCK_METHOD(bool, DeleteWebhookEndpoint, (const std::string&, const std::string&), (override));
  MOCK_METHOD(std::vector<store::WebhookDelivery>, ClaimDueDeliveries,
              (store::TimePoint, store::TimePoint, const std::string&, int), (override));
  MOCK_METHOD(void, FinishDeliveryAttempt,
              (const store::WebhookDelivery&, const store::DeliveryOutcome&), (override));
  MOCK_METHOD(std::optional<store::WebhookEndpoint>, RotateWebhookSecret,
              (const std::string&, const std::string&, const std::string&, store::TimePoint),
              (override));
  MOCK_METHOD(std::optional<std::vector<store::WebhookDeliveryRecord>>, ListWebhookDeliveries,
              (const std::string&, const std::string&, int, const std::optional<std::string>&),
              (override));
  MOCK_METHOD(std::optional<store::WebhookDeliveryRecord>, ResendWebhookDelivery,
              (const std::string&, const std::string&, store::TimePoint), (override));
};

}  // namespace lab_orders::testing
