#pragma once

// An IP address and the range it falls in, so webhook destinations inside our own network (or
// anyone's) can be refused, both when an endpoint is registered and when a delivery connects.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lab_orders::webhooks {

class IpAddress {
 public:
  // Strict text forms only: a dotted quad of four decimal numbers without leading zeros, or an
  // RFC 4291 IPv6 address without brackets or zone ("fe80::1%eth0" is refused). Shorthands
  // that some resolvers take ("127.1", "0x7f000001", "2130706433") are not addresses here.
  static std::optional<IpAddress> Parse(std::string_view text);

  bool is_v4() const { return v4_; }
  // IPv4 in the first four bytes; IPv6 in all sixteen.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  bool v4_ = true;
  std::array<std::uint8_t, 16> bytes_{};
};

enum class AddressRange {
  kPublic,       // globally routable unicast: the only kind a production webhook may reach
  kUnspecified,  // 0.0.0.0/8, ::
  kLoopback,     // 127.0.0.0/8, ::1
  kPrivate,      // RFC 1918: 10/8, 172.16/12, 192.168/16
  kSharedCgnat,  // 100.64.0.0/10 (RFC 6598)
  kLinkLocal,    // 169.254.0.0/16 (cloud metadata lives here), fe80::/10
  kUniqueLocal,  // fc00::/7
  kMulticast,    // 224.0.0.0/4, ff00::/8
  kReserved,     // 240.0.0.0/4 and broadcast, documentation and benchmarking ranges, IETF
                 // protocol assignments, and IPv6 outside 2000::/3
};

// IPv4 embedded in IPv6 (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96) is judged by its IPv4
// address, so ::ffff:127.0.0.1 is loopback; the deprecated IPv4-compatible ::/96 is reserved.
AddressRange ClassifyAddress(const IpAddress& address);

// "private network", "loopback", ...: for messages; never the address itself.
const char* AddressRangeDescription(AddressRange range);

}  // namespace lab_orders::webhooks
