#include "lab_orders/sim/webhook_sender.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>

#include "lab_orders/common/client_tls.h"
#include "lab_orders/common/encoding.h"

namespace lab_orders::sim {
namespace {
// Svix retries after 5 s, 5 min, 30 min, ...; the simulator keeps the shape but not the wait.
const std::chrono::milliseconds kRetryDelays[] = {
    std::chrono::milliseconds(0), std::chrono::milliseconds(200), std::chrono::milliseconds(1000),
    std::chrono::milliseconds(3000)};

// For https:// targets: the chain is verified against the system's certificate authorities and
// the name against the host, as Svix would. Made once, on the first https delivery.
Poco::Net::Context::Ptr ClientContext() {
  static const Poco::Net::Context::Ptr context = MakeClientTlsContext();
  return context;
}
}  // namespace

WebhookSender::WebhookSender(const Clock& clock) : clock_(clock) {
  worker_ = std::thread([this] { Run(); });
}

WebhookSender::WebhookSender(const std::string& url, const std::string& secret, const Clock& clock)
    : clock_(clock), target_(MakeTarget(url, secret)) {
  worker_ = std::thread([this] { Run(); });
}

std::shared_ptr<const WebhookSender::Target> WebhookSender::MakeTarget(const std::string& url,
                                                                       const std::string& secret) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception&) {
    throw std::invalid_argument("webhook url is not a valid http:// or https:// URL");
  }
  if (uri.getScheme() != "http" && uri.getScheme() != "https") {
    throw std::invalid_argument("webhook url must be an http:// or https:// URL");
  }
  if (uri.getHost().empty()) throw std::invalid_argument("webhook url has no host");
  bool secure = uri.getScheme() == "https";
  std::string path = uri.getPathEtc().empty() ? "/" : uri.getPathEtc();
  // The signer checks the secret (std::invalid_argument naming what is wrong with it).
  return std::make_shared<const Target>(
      Target{url, secure, uri.getHost(), uri.getPort(), std::move(path), WebhookSigner(secret)});
}

void WebhookSender::SetTarget(const std::string& url, const std::string& secret) {
  std::shared_ptr<const Target> target = MakeTarget(url, secret);
  std::lock_guard lock(mutex_);
  target_ = std::move(target);
}

void WebhookSender::ClearTarget() {
  std::lock_guard lock(mutex_);
  target_.reset();
}

std::optional<std::string> WebhookSender::TargetUrl() const {
  std::lock_guard lock(mutex_);
  if (!target_) return std::nullopt;
  return target_->url;
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void WebhookSender::Enqueue(const nlohmann::json& event, int deliveries) {
  // The target as it is now: a later SetTarget does not redirect what is already queued.
  std::shared_ptr<const Target> target;
  {
    std::lock_guard lock(mutex_);
    target = target_;
  }
  if (!target) return;  // no endpoint: nothing is sent, nor kept for a later one
  Message message{"msg_" + HexEncode(RandomBytes(12)), event.value("event_type", std::string()),
                  event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  std::move(target)};
  {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < deliveries; ++i) queue_.push_back(message);
  }
  wake_.notify_all();
}

bool WebhookSender::HasTarget() const {
  std::lock_guard lock(mutex_);
  return target_ != nullptr;
}

nlohmann::json WebhookSender::Deliveries() const {
  std::lock_guard lock(mutex_);
  return deliveries_;
}

void WebhookSender::Clear() {
  std::lock_guard lock(mutex_);
  queue_.clear();
  deliveries_ = nlohmann::json::array();
}

bool WebhookSender::WaitOrStop(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_; });
}

void WebhookSender::Run() {
  while (true) {
    Message message;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      message = queue_.front();
      queue_.pop_front();
    }
    int attempts = 0;
    int status = 0;
    std::string error;
    for (auto delay : kRetryDelays) {
      if (delay.count() > 0 && !WaitOrStop(delay)) return;
      ++attempts;
      error.clear();
      status = Deliver(message, &error);
      if (status >= 200 && status < 300) break;
    }
    Record(message, attempts, status, error);
  }
}

int WebhookSender::Deliver(const Message& message, std::string* error) {
  try {
    const Target& target = *message.target;
    std::unique_ptr<Poco::Net::HTTPClientSession> owned;
    if (target.secure) {
      owned = std::make_unique<Poco::Net::HTTPSClientSession>(target.host, target.port,
                                                              ClientContext());
    } else {
      owned = std::make_unique<Poco::Net::HTTPClientSession>(target.host, target.port);
    }
    Poco::Net::HTTPClientSession& session = *owned;
    session.setTimeout(Poco::Timespan(15, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target.path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    long long timestamp =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
    request.setContentType("application/json");
    request.setContentLength(std::streamsize(message.body.size()));
    request.set("svix-id", message.id);
    request.set("svix-timestamp", std::to_string(timestamp));
    request.set("svix-signature", target.signer.Sign(message.id, timestamp, message.body));
    session.sendRequest(request) << message.body;
    Poco::Net::HTTPResponse response;
    session.receiveResponse(response).ignore(1 << 20);
    return response.getStatus();
  } catch (const Poco::Exception& e) {
    *error = e.displayText();
  } catch (const std::exception& e) {
    *error = e.what();
  }
  return 0;
}

void WebhookSender::Record(const Message& message, int attempts, int status,
                           const std::string& error) {
  if (status < 200 || status >= 300) {
    spdlog::warn("webhook {} ({}) not delivered after {} attempts: status {} {}", message.id,
                 message.event_type, attempts, status, error);
  }
  std::lock_guard lock(mutex_);
  deliveries_.push_back({{"svix_id", message.id},
                         {"event_type", message.event_type},
                         {"url", message.target->url},
                         {"attempts", attempts},
                         {"status", status},
                         {"error", error}});
}

}  // namespace lab_orders::sim
