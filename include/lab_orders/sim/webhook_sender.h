#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/svix.h"

namespace lab_orders::sim {

// Delivers labtest.* events to one URL, Svix-signed, one at a time in the order they happened.
// A failed delivery is retried with the same svix-id, as Svix does (on a compressed schedule).
// The target can change at run time: each message goes where the target was when it was queued.
class WebhookSender {
 public:
  // Idle (events are dropped) until SetTarget.
  explicit WebhookSender(const Clock& clock);
  // Sends to url from the start; throws std::invalid_argument as SetTarget does.
  WebhookSender(const std::string& url, const std::string& secret, const Clock& clock);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Where events queued from now on go: an http:// or https:// URL (https verified against the
  // system's certificate authorities), signed with a "whsec_..." secret. Throws
  // std::invalid_argument naming the problem, and then changes nothing.
  void SetTarget(const std::string& url, const std::string& secret);
  // Events queued from now on are dropped. Messages already queued are still delivered.
  void ClearTarget();
  // The current target's URL (never its secret).
  std::optional<std::string> TargetUrl() const;

  // deliveries > 1 sends the same message (same svix-id) again, as Svix's duplicates do.
  void Enqueue(const nlohmann::json& event, int deliveries = 1);
  // Whether an endpoint is set: without one, Enqueue drops what it is given.
  bool HasTarget() const;
  // Every delivery so far: svix-id, event type, URL, attempts, the last status or error.
  nlohmann::json Deliveries() const;
  // Forgets queued messages and past deliveries; the target stays.
  void Clear();

 private:
  // Immutable once made, shared by the messages queued for it.
  struct Target {
    std::string url;
    bool secure = false;
    std::string host;
    unsigned short port = 80;
    std::string path;
    WebhookSigner signer;
  };
  struct Message {
    std::string id;
    std::string event_type;
    std::string body;
    std::shared_ptr<const Target> target;
  };
  static std::shared_ptr<const Target> MakeTarget(const std::string& url,
                                                  const std::string& secret);
  void Run();
  // The HTTP status, or 0 with *error set when no answer came.
  int Deliver(const Message& message, std::string* error);
  void Record(const Message& message, int attempts, int status, const std::string& error);
  bool WaitOrStop(std::chrono::milliseconds delay);

  const Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<const Target> target_;  // guarded by mutex_; null: not sending
  std::deque<Message> queue_;
  nlohmann::json deliveries_ = nlohmann::json::array();
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace lab_orders::sim
