#pragma once

// DNS for webhook destinations, behind an interface so tests can say what a name resolves to.

#include <string>
#include <vector>

#include "lab_orders/webhooks/ip_address.h"

namespace lab_orders::webhooks {

class HostResolver {
 public:
  virtual ~HostResolver() = default;
  // Every address host resolves to; empty when it resolves to none or the lookup fails.
  virtual std::vector<IpAddress> Resolve(const std::string& host) const = 0;
};

// The system's resolver (getaddrinfo), IPv4 and IPv6.
class SystemHostResolver final : public HostResolver {
 public:
  std::vector<IpAddress> Resolve(const std::string& host) const override;
};

}  // namespace lab_orders::webhooks
