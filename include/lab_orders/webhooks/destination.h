#pragma once

// A webhook destination URL, read strictly, and the reasons one can be refused. Refusal
// messages are for the brand that registered the URL: they never quote the URL (its query may
// carry a token) nor an address its host resolved to.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "lab_orders/webhooks/ip_address.h"

namespace lab_orders::webhooks {

enum class DestinationError {
  kMalformedUrl,       // not an absolute URL of the strict form read here
  kUnsupportedScheme,  // neither http:// nor https://
  kInsecureScheme,     // http:// where only https:// is allowed
  kUserinfo,           // "user:password@" in the URL
  kUnresolvable,       // the host name resolves to no address
  kForbiddenAddress,   // the host is, or resolves to, an address webhooks may not reach
};

// Stable machine-readable codes: "webhook_url_malformed", ...
const char* DestinationErrorCode(DestinationError error);

struct DestinationRefusal {
  DestinationError error;
  std::string message;
};

struct DestinationUrl {
  std::string scheme;                   // "http" or "https", lower case
  std::string host;                     // lower case; an IPv6 literal without its brackets
  std::optional<IpAddress> ip_literal;  // set when host is an IP address, not a name
  std::uint16_t port = 0;               // the scheme's default when the URL names none
  std::string target;                   // path and query, at least "/"

  bool secure() const { return scheme == "https"; }
  // The Host header: the host (bracketed when IPv6) and the port when it is not the default.
  std::string HostHeader() const;
};

// Either a destination that may be used, or why not.
class DestinationCheck {
 public:
  static DestinationCheck Allowed(DestinationUrl url) { return DestinationCheck(std::move(url)); }
  static DestinationCheck Refused(DestinationError error, std::string message) {
    return DestinationCheck(DestinationRefusal{error, std::move(message)});
  }

  bool ok() const { return std::holds_alternative<DestinationUrl>(state_); }
  const DestinationUrl& url() const { return std::get<DestinationUrl>(state_); }
  const DestinationRefusal& refusal() const { return std::get<DestinationRefusal>(state_); }

 private:
  explicit DestinationCheck(std::variant<DestinationUrl, DestinationRefusal> state)
      : state_(std::move(state)) {}
  std::variant<DestinationUrl, DestinationRefusal> state_;
};

// Reads an absolute http:// or https:// URL: at most 2048 printable ASCII characters, no
// userinfo, no fragment, a DNS name of letters, digits and hyphens, a dotted-quad IPv4 or a
// bracketed IPv6 address as host, and a port from 1 to 65535. A numeric host that is not a
// dotted quad ("2130706433", "0x7f.1", "127.1") is refused: resolvers read those as addresses.
DestinationCheck ParseDestinationUrl(std::string_view url);

}  // namespace lab_orders::webhooks
