#pragma once

#include <map>
#include <memory>
#include <string>

#include "support/node_receiver.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {

// A real lab-orders (development mode, its own SQLite, FastWorkflow) taking junction-sim's
// signed webhooks as it would Junction's, and one brand whose webhook endpoint is the
// npm-verified receiver (tests/webhooks/receiver/receiver.mjs). Skipped or failed as
// NodeReceiverTest says when the receiver cannot run.
class BrandReceiverTest : public NodeReceiverTest {
 protected:
  // Call from SetUp after NodeReceiverTest::SetUp(): starts the processes, signs a token for the
  // brand with scopes (token_), registers the receiver as the brand's endpoint.
  void StartWithBrandReceiver(const std::string& brand, const std::string& user,
                              const std::string& scopes,
                              std::map<std::string, std::string> environment = {});

  // The brand's bearer token (or another's) and a JSON content type.
  std::map<std::string, std::string> Auth(const std::string& token = "") const;

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::unique_ptr<NodeReceiver> receiver_;
  std::string token_;
};

}  // namespace lab_orders::testing
