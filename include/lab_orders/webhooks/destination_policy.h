#pragma once

// Where webhooks to brands may go. Production: https:// to public addresses only, never into
// a private, loopback, link-local (cloud metadata), CGNAT, unique-local, multicast or reserved
// range, however the URL spells the host. Development also allows http(s)://127.0.0.1[:port]
// and http(s)://localhost[:port], reaching loopback only.
//
// Checked twice: when an endpoint is registered (every address its host resolves to then), and
// by the deliverer on the address it actually connects to, after its own lookup, so a host that
// resolves elsewhere by delivery time (DNS rebinding) is still refused.

#include <optional>
#include <string_view>

#include "lab_orders/webhooks/destination.h"
#include "lab_orders/webhooks/host_resolver.h"
#include "lab_orders/webhooks/ip_address.h"

namespace lab_orders::webhooks {

enum class DestinationMode { kProduction, kDevelopment };

class DestinationPolicy {
 public:
  // resolver must outlive the policy.
  DestinationPolicy(DestinationMode mode, const HostResolver& resolver);

  // Registering an endpoint: the URL's rules, then every address its host resolves to.
  DestinationCheck CheckEndpoint(std::string_view url) const;
  // Each delivery, before connecting: the URL's rules only, no DNS (CheckConnection follows).
  DestinationCheck CheckUrl(std::string_view url) const;
  // The address a delivery to url is about to connect to; nullopt when allowed.
  std::optional<DestinationRefusal> CheckConnection(const DestinationUrl& url,
                                                    const IpAddress& address) const;

 private:
  // Development's loopback exception: 127.0.0.1 or localhost.
  bool IsDevelopmentLoopback(const DestinationUrl& url) const;

  DestinationMode mode_;
  const HostResolver& resolver_;
};

}  // namespace lab_orders::webhooks
