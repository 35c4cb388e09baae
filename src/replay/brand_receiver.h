#pragma once

// The brand's end of a QA scenario's webhooks (fixtures/README.md: brand_webhooks): a receiver on
// 127.0.0.1 (a free port) that records every delivery lab-orders makes (its type, order and the
// status it answered) in the order they arrive, and answers 200, or 500 to the first few when a
// scenario wants the service to retry. Signatures are the webhook tests' business, not this one's.

#include <Poco/Net/HTTPServer.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace lab_orders::replay {

class BrandReceiver {
 public:
  explicit BrandReceiver(int fail_first);
  ~BrandReceiver();
  BrandReceiver(const BrandReceiver&) = delete;
  BrandReceiver& operator=(const BrandReceiver&) = delete;

  std::string Url() const;
  // Every delivery so far, in arrival order: {"type", "order_id", "webhook_id", "status"}.
  nlohmann::json Deliveries() const;
  // Waits until a delivery arrives after the count-th one, or until the deadline; returns the
  // deliveries then.
  nlohmann::json WaitForMore(std::size_t count, std::chrono::steady_clock::time_point until) const;

 private:
  class Handler;
  class Factory;
  // Records one delivery; returns the status to answer.
  int Record(const std::string& body, const std::string& webhook_id);

  mutable std::mutex mutex_;
  mutable std::condition_variable arrived_;
  nlohmann::json deliveries_ = nlohmann::json::array();
  int fail_first_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace lab_orders::replay
