#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/svix.h"

namespace lab_orders::sim {

// Delivers labtest.* events to one URL, Svix-signed, one at a time in the order they happened.
// A failed delivery is retried with the same svix-id, as Svix does (on a compressed schedule).
class WebhookSender {
 public:
  WebhookSender(std::string url, const std::string& secret, const Clock& clock);
  ~WebhookSender();

  // deliveries > 1 sends the same message (same svix-id) again, as Svix's duplicates do.
  void Enqueue(const nlohmann::json& event, int deliveries = 1);
  // Every delivery so far: svix-id, event type, attempts, the last status or error.
  nlohmann::json Deliveries() const;
  void Clear();

 private:
  struct Message {
    std::string id;
    std::string event_type;
    std::string body;
  };
  void Run();
  // The HTTP status, or 0 with *error set when no answer came.
  int Deliver(const Message& message, std::string* error);
  void Record(const Message& message, int attempts, int status, const std::string& error);
  bool WaitOrStop(std::chrono::milliseconds delay);

  std::string host_;
  unsigned short port_ = 80;
  std::string path_;
  WebhookSigner signer_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Message> queue_;
  nlohmann::json deliveries_ = nlohmann::json::array();
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace lab_orders::sim
