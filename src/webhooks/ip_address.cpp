#include "lab_orders/webhooks/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

namespace lab_orders::webhooks {
namespace {

using Bytes = std::array<std::uint8_t, 16>;

// Is the IPv4 address a.b.c.d inside base/prefix_length?
bool InV4Range(const std::uint8_t* v4, std::uint32_t base, int prefix_length) {
  const std::uint32_t value = std::uint32_t(v4[0]) << 24 | std::uint32_t(v4[1]) << 16 |
                              std::uint32_t(v4[2]) << 8 | std::uint32_t(v4[3]);
  const std::uint32_t mask = prefix_length == 0 ? 0 : ~std::uint32_t(0) << (32 - prefix_length);
  return (value & mask) == (base & mask);
}

constexpr std::uint32_t V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return std::uint32_t(a) << 24 | std::uint32_t(b) << 16 | std::uint32_t(c) << 8 | d;
}

AddressRange ClassifyV4(const std::uint8_t* v4) {
  struct Range {
    std::uint32_t base;
    int prefix_length;
    AddressRange range;
  };
  static constexpr Range kRanges[] = {
      {V4(0, 0, 0, 0), 8, AddressRange::kUnspecified},
      {V4(10, 0, 0, 0), 8, AddressRange::kPrivate},
      {V4(100, 64, 0, 0), 10, AddressRange::kSharedCgnat},
      {V4(127, 0, 0, 0), 8, AddressRange::kLoopback},
      {V4(169, 254, 0, 0), 16, AddressRange::kLinkLocal},
      {V4(172, 16, 0, 0), 12, AddressRange::kPrivate},
      {V4(192, 0, 0, 0), 24, AddressRange::kReserved},  // IETF protocol assignments
      {V4(192, 0, 2, 0), 24, AddressRange::kReserved},  // TEST-NET-1
      {V4(192, 168, 0, 0), 16, AddressRange::kPrivate},
      {V4(198, 18, 0, 0), 15, AddressRange::kReserved},    // benchmarking
      {V4(198, 51, 100, 0), 24, AddressRange::kReserved},  // TEST-NET-2
      {V4(203, 0, 113, 0), 24, AddressRange::kReserved},   // TEST-NET-3
      {V4(224, 0, 0, 0), 4, AddressRange::kMulticast},
      {V4(240, 0, 0, 0), 4, AddressRange::kReserved},  // includes 255.255.255.255
  };
  for (const Range& range : kRanges) {
    if (InV4Range(v4, range.base, range.prefix_length)) return range.range;
  }
  return AddressRange::kPublic;
}

bool HasPrefix(const Bytes& bytes, std::initializer_list<std::uint8_t> prefix) {
  return std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

AddressRange ClassifyV6(const Bytes& bytes) {
  static constexpr std::uint8_t kZeros[16] = {};
  const bool first_96_zero = std::memcmp(bytes.data(), kZeros, 12) == 0;
  if (first_96_zero) {
    if (std::memcmp(bytes.data() + 12, kZeros, 4) == 0) return AddressRange::kUnspecified;
    if (bytes[15] == 1 && std::memcmp(bytes.data() + 12, kZeros, 3) == 0) {
      return AddressRange::kLoopback;
    }
    return AddressRange::kReserved;  // deprecated IPv4-compatible: routed nowhere
  }
  if (HasPrefix(bytes, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) ||
      HasPrefix(bytes, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return ClassifyV4(bytes.data() + 12);  // mapped, or NAT64's well-known prefix
  }
  if (bytes[0] == 0xff) return AddressRange::kMulticast;
  if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) return AddressRange::kLinkLocal;
  if ((bytes[0] & 0xfe) == 0xfc) return AddressRange::kUniqueLocal;
  if (HasPrefix(bytes, {0x20, 0x01, 0x0d, 0xb8})) return AddressRange::kReserved;  // documentation
  // Only 2000::/3 is allocated for global unicast.
  if ((bytes[0] & 0xe0) != 0x20) return AddressRange::kReserved;
  return AddressRange::kPublic;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton reads a NUL-terminated string; refuse embedded NULs and absurd lengths first.
  if (text.empty() || text.size() > 45 || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string terminated(text);
  IpAddress address;
  if (inet_pton(AF_INET, terminated.c_str(), address.bytes_.data()) == 1) {
    address.v4_ = true;
    return address;
  }
  if (inet_pton(AF_INET6, terminated.c_str(), address.bytes_.data()) == 1) {
    address.v4_ = false;
    return address;
  }
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer);
  return buffer;
}

AddressRange ClassifyAddress(const IpAddress& address) {
  return address.is_v4() ? ClassifyV4(address.bytes().data()) : ClassifyV6(address.bytes());
}

const char* AddressRangeDescription(AddressRange range) {
  switch (range) {
    case AddressRange::kPublic:
      return "public";
    case AddressRange::kUnspecified:
      return "unspecified";
    case AddressRange::kLoopback:
      return "loopback";
    case AddressRange::kPrivate:
      return "private network";
    case AddressRange::kSharedCgnat:
      return "carrier-grade NAT";
    case AddressRange::kLinkLocal:
      return "link-local";
    case AddressRange::kUniqueLocal:
      return "unique local";
    case AddressRange::kMulticast:
      return "multicast";
    case AddressRange::kReserved:
      return "reserved";
  }
  return "reserved";
}

}  // namespace lab_orders::webhooks
