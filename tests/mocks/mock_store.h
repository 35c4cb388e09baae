#pragma once

#include <gmock/gmock.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/store/store.h"

namespace lab_orders::testing {

class MockStore : public store::Store {
 public:
  MOCK_METHOD(void, Migrate, (), (override));
  MOCK_METHOD(bool, Ready, (), (override));

  MOCK_METHOD(store::Claim, ClaimKey,
              (const std::string&, const std::string&, const std::string&, store::TimePoint,
               store::TimePoint),
              (override));
  MOCK_METHOD(void, ReleaseKey, (const std::string&, const std::string&), (override));

  MOCK_METHOD(void, RecordOrder, (const std::string&, const model::LabOrder&), (override));
  MOCK_METHOD(void, SaveJunctionUser,
              (const std::string&, const std::string&, const std::string&, const std::string&,
               const std::string&, store::TimePoint),
              (override));
  MOCK_METHOD(void, SaveJunctionOrder,
              (const std::string&, const std::string&, const std::string&, const std::string&,
               const std::string&, store::TimePoint, const store::NewJob&),
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

  MOCK_METHOD(int, ReapKeys, (store::TimePoint), (override));
  MOCK_METHOD(std::vector<store::IdempotencyRecord>, ClaimStaleKeys,
              (store::TimePoint, store::TimePoint, store::TimePoint, int), (override));

  MOCK_METHOD(std::optional<model::LabOrder>, GetOrderById, (const std::string&), (override));
  MOCK_METHOD(std::optional<model::LabOrder>, FindOrderByJunctionId, (const std::string&),
              (override));

  MOCK_METHOD(std::vector<store::Job>, ClaimDueJobs,
              (store::TimePoint, store::TimePoint, const std::string&, int), (override));
  MOCK_METHOD(store::OrderJobClaim, ClaimOrderStep,
              (const std::string&, store::TimePoint, store::TimePoint, const std::string&,
               store::Job*),
              (override));
  MOCK_METHOD(void, CompleteJob, (const store::Job&, const store::JobOutcome&), (override));
  MOCK_METHOD(void, CheckpointOrder, (const store::Job&, const model::LabOrder&, std::int64_t),
              (override));
  MOCK_METHOD(void, ReleaseJob, (const store::Job&), (override));
  MOCK_METHOD(std::optional<store::TimePoint>, NextJobDue, (), (override));
  MOCK_METHOD((std::vector<std::pair<std::string, int>>), QueuedJobCounts, (), (override));

  MOCK_METHOD(bool, RecordJunctionWebhook,
              (const std::string&, store::TimePoint, const store::NewJob&), (override));
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
