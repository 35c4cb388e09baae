#pragma once

#include <gmock/gmock.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/store/job_store.h"

namespace lab_orders::testing {

class MockJobStore : public store::JobStore {
 public:
  MOCK_METHOD(std::optional<model::LabOrder>, GetOrderById, (const std::string&), (override));
  MOCK_METHOD(std::optional<model::OrderResult>, LatestResultOfOrder, (const std::string&),
              (override));
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
};

}  // namespace lab_orders::testing
