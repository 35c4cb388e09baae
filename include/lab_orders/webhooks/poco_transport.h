#pragma once

// WebhookTransport over POCO: HTTP, and HTTPS with the shared strict TLS settings
// (lab_orders/common/client_tls.h). One connection per attempt, closed after the status line and
// headers: the response body is never read.

#include <chrono>
#include <memory>
#include <string>

#include "lab_orders/webhooks/destination_policy.h"
#include "lab_orders/webhooks/transport.h"

namespace lab_orders::webhooks {

struct PocoWebhookTransportOptions {
  // The whole attempt, from connecting to the answer's headers (Standard Webhooks: 15 s).
  std::chrono::milliseconds timeout{15000};
  std::string ca_file;  // certificate authorities for https://; empty: the system's
};

class PocoWebhookTransport final : public WebhookTransport {
 public:
  // policy must outlive the transport: it checks each URL, and each address connected to.
  explicit PocoWebhookTransport(const DestinationPolicy& policy,
                                PocoWebhookTransportOptions options = {});
  ~PocoWebhookTransport() override;

  // Thread-safe: nothing is shared between calls but the TLS context.
  DeliveryResult Post(const WebhookRequest& request) override;

 private:
  struct Tls;
  const DestinationPolicy& policy_;
  PocoWebhookTransportOptions options_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace lab_orders::webhooks
