#include "lab_orders/webhooks/destination_policy.h"

#include <string>

namespace lab_orders::webhooks {
namespace {

DestinationRefusal ForbiddenRange(AddressRange range) {
  return DestinationRefusal{DestinationError::kForbiddenAddress,
                            std::string("webhooks may not be sent to this address range: ") +
                                AddressRangeDescription(range)};
}

}  // namespace

DestinationPolicy::DestinationPolicy(DestinationMode mode, const HostResolver& resolver)
    : mode_(mode), resolver_(resolver) {}

bool DestinationPolicy::IsDevelopmentLoopback(const DestinationUrl& url) const {
  if (mode_ != DestinationMode::kDevelopment) return false;
  static const IpAddress kLoopback = *IpAddress::Parse("127.0.0.1");
  return url.host == "localhost" || url.ip_literal == kLoopback;
}

DestinationCheck DestinationPolicy::CheckUrl(std::string_view url) const {
  DestinationCheck parsed = ParseDestinationUrl(url);
  if (!parsed.ok() || IsDevelopmentLoopback(parsed.url())) return parsed;
  if (!parsed.url().secure()) {
    return DestinationCheck::Refused(DestinationError::kInsecureScheme,
                                     mode_ == DestinationMode::kDevelopment
                                         ? "webhook URLs must be https:// (or http://127.0.0.1 "
                                           "or http://localhost in development)"
                                         : "webhook URLs must be https://");
  }
  if (parsed.url().ip_literal) {
    if (auto refusal = CheckConnection(parsed.url(), *parsed.url().ip_literal)) {
      return DestinationCheck::Refused(refusal->error, refusal->message);
    }
  }
  return parsed;
}

DestinationCheck DestinationPolicy::CheckEndpoint(std::string_view url) const {
  DestinationCheck checked = CheckUrl(url);
  if (!checked.ok() || checked.url().ip_literal || IsDevelopmentLoopback(checked.url())) {
    return checked;
  }
  const std::vector<IpAddress> addresses = resolver_.Resolve(checked.url().host);
  if (addresses.empty()) {
    return DestinationCheck::Refused(DestinationError::kUnresolvable,
                                     "the webhook URL's host name does not resolve");
  }
  // Any forbidden address refuses the host: which one a connection gets is not ours to choose.
  for (const IpAddress& address : addresses) {
    if (auto refusal = CheckConnection(checked.url(), address)) {
      return DestinationCheck::Refused(refusal->error, refusal->message);
    }
  }
  return checked;
}

std::optional<DestinationRefusal> DestinationPolicy::CheckConnection(
    const DestinationUrl& url, const IpAddress& address) const {
  const AddressRange range = ClassifyAddress(address);
  if (IsDevelopmentLoopback(url)) {
    if (range == AddressRange::kLoopback) return std::nullopt;
    return DestinationRefusal{DestinationError::kForbiddenAddress,
                              "a development loopback URL may only reach loopback addresses"};
  }
  if (range == AddressRange::kPublic) return std::nullopt;
  return ForbiddenRange(range);
}

}  // namespace lab_orders::webhooks
