#pragma once

#include <Poco/Pipe.h>
#include <Poco/Process.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lab_orders::testing {

// tests/webhooks/receiver/receiver.mjs under node: a webhook receiver on a free port that
// verifies each delivery with the npm standardwebhooks package, against any of its secrets.
// Stopped (SIGTERM) when this goes away, and by itself if the test process dies.
class NodeReceiver {
 public:
  // Why it cannot run on this machine (no node on the PATH, or `npm ci` not run for the
  // receiver), or nullopt when it can.
  static std::optional<std::string> Unavailable();

  // port 0: a free one; else that port (to come back where a stopped receiver was).
  explicit NodeReceiver(const std::vector<std::string>& secrets, unsigned short port = 0);
  ~NodeReceiver();
  NodeReceiver(const NodeReceiver&) = delete;
  NodeReceiver& operator=(const NodeReceiver&) = delete;

  unsigned short port() const { return port_; }
  std::string Url(const std::string& path) const;
  // Verifies with these secrets from now on (ones the service made after the receiver started).
  void SetSecrets(const std::vector<std::string>& secrets);
  // Every delivery so far: webhook_id, verified, secret_index, body, status, ...
  nlohmann::json Deliveries();
  // The event types acknowledged (a 2xx) for one order, in the order they arrived.
  std::vector<std::string> AcknowledgedTypes(const std::string& order_id);
  // The answers to give the next deliveries, in order: statuses, or {"status", "retry_after"}.
  void Script(const nlohmann::json& answers);

 private:
  std::unique_ptr<Poco::ProcessHandle> handle_;
  Poco::Pipe stdin_;  // closing it ends the receiver
  unsigned short port_ = 0;
};

// A fixture base for tests that need the receiver: skipped where it cannot run, and failed
// instead under LAB_ORDERS_REQUIRE_NODE_RECEIVER=1 (scripts/test.sh), so that there it can never
// silently go missing. A derived SetUp calls this one first and returns if IsSkipped() or
// HasFatalFailure().
class NodeReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override;
};

}  // namespace lab_orders::testing
