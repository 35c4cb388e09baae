#include "replay/brand_receiver.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

namespace lab_orders::replay {

using nlohmann::json;

class BrandReceiver::Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(BrandReceiver& receiver) : receiver_(receiver) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    const int status = receiver_.Record(body, request.get("webhook-id", ""));
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    response.setContentLength(0);
    response.send();
  }

 private:
  BrandReceiver& receiver_;
};

class BrandReceiver::Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(BrandReceiver& receiver) : receiver_(receiver) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(receiver_);
  }

 private:
  BrandReceiver& receiver_;
};

BrandReceiver::BrandReceiver(int fail_first) : fail_first_(fail_first) {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(4);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
  server_->start();
}

BrandReceiver::~BrandReceiver() { server_->stopAll(true); }

std::string BrandReceiver::Url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hooks";
}

int BrandReceiver::Record(const std::string& body, const std::string& webhook_id) {
  json event = json::parse(body, nullptr, false);
  json delivery = {{"type", nullptr}, {"order_id", nullptr}, {"webhook_id", webhook_id}};
  if (event.is_object()) {
    delivery["type"] = event.value("type", "");
    const json order = event.value("data", json::object()).value("order", json::object());
    if (order.is_object() && order.contains("id")) delivery["order_id"] = order["id"];
  }
  std::lock_guard lock(mutex_);
  const int status = fail_first_ > 0 ? 500 : 200;
  if (fail_first_ > 0) --fail_first_;
  delivery["status"] = status;
  deliveries_.push_back(std::move(delivery));
  arrived_.notify_all();
  return status;
}

json BrandReceiver::Deliveries() const {
  std::lock_guard lock(mutex_);
  return deliveries_;
}

json BrandReceiver::WaitForMore(std::size_t count,
                                std::chrono::steady_clock::time_point until) const {
  std::unique_lock lock(mutex_);
  arrived_.wait_until(lock, until, [&] { return deliveries_.size() > count; });
  return deliveries_;
}

}  // namespace lab_orders::replay
