#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "lab_orders/junction/http_client.h"
#include "support/sim_process.h"

namespace lab_orders::testing {

junction::HttpClientOptions ClientOptions(const std::string& base_url,
                                          std::chrono::milliseconds timeout);

// One junction-sim process for a whole test suite, reset before each test.
class SharedSimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sim_ = new SimProcess(); }
  static void TearDownTestSuite() {
    delete sim_;
    sim_ = nullptr;
  }
  void SetUp() override { sim_->Reset(); }

  std::unique_ptr<junction::HttpJunctionClient> NewClient(std::chrono::milliseconds timeout) {
    return std::make_unique<junction::HttpJunctionClient>(ClientOptions(sim_->base_url(), timeout));
  }

  static inline SimProcess* sim_ = nullptr;
};

}  // namespace lab_orders::testing
