#include "lab_orders/webhooks/destination.h"

#include <algorithm>
#include <cctype>

namespace lab_orders::webhooks {
namespace {

constexpr std::size_t kMaxUrlLength = 2048;
constexpr std::size_t kMaxHostLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

DestinationCheck Malformed(std::string message) {
  return DestinationCheck::Refused(DestinationError::kMalformedUrl, std::move(message));
}

// RFC 1123 labels. Underscores and non-ASCII (unencoded IDN) are refused.
bool IsDnsName(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostLength) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t end = host.find('.', start);
    std::string_view label = host.substr(start, end == std::string_view::npos ? end : end - start);
    if (label.empty() || label.size() > kMaxLabelLength || label.front() == '-' ||
        label.back() == '-') {
      return false;
    }
    for (unsigned char c : label) {
      if (!std::isalnum(c) && c != '-') return false;
    }
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

// WHATWG URL parsers and getaddrinfo read a host whose last label is numeric as an IPv4 address
// in some shorthand; such a host is either a plain dotted quad or refused.
bool LooksNumeric(std::string_view host) {
  std::string_view last = host.substr(host.rfind('.') + 1);
  return AllDigits(last) || last.substr(0, 2) == "0x";
}

}  // namespace

const char* DestinationErrorCode(DestinationError error) {
  switch (error) {
    case DestinationError::kMalformedUrl:
      return "webhook_url_malformed";
    case DestinationError::kUnsupportedScheme:
      return "webhook_url_scheme_unsupported";
    case DestinationError::kInsecureScheme:
      return "webhook_url_not_https";
    case DestinationError::kUserinfo:
      return "webhook_url_has_credentials";
    case DestinationError::kUnresolvable:
      return "webhook_host_unresolvable";
    case DestinationError::kForbiddenAddress:
      return "webhook_address_forbidden";
  }
  return "webhook_url_malformed";
}

std::string DestinationUrl::HostHeader() const {
  std::string header = ip_literal && !ip_literal->is_v4() ? "[" + host + "]" : host;
  const std::uint16_t default_port = secure() ? 443 : 80;
  if (port != default_port) header += ":" + std::to_string(port);
  return header;
}

DestinationCheck ParseDestinationUrl(std::string_view url) {
  if (url.size() > kMaxUrlLength) return Malformed("the URL is longer than 2048 characters");
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f) {
      return Malformed("the URL has spaces, control or non-ASCII characters");
    }
  }
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return Malformed("the URL is not an absolute http(s) URL");
  }
  DestinationUrl parsed;
  parsed.scheme = Lower(url.substr(0, scheme_end));
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    return DestinationCheck::Refused(DestinationError::kUnsupportedScheme,
                                     "only http:// and https:// URLs can receive webhooks");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) return Malformed("the URL has a fragment");
  const std::size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return DestinationCheck::Refused(DestinationError::kUserinfo,
                                     "webhook URLs may not carry a user name or password");
  }

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Malformed("the URL's IPv6 host has no ']'");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Malformed("the URL has characters after its IPv6 host");
      has_port = true;
      port_text = after.substr(1);
    }
    std::optional<IpAddress> address = IpAddress::Parse(host);
    if (!address || address->is_v4()) return Malformed("the URL's IPv6 host is not an address");
    parsed.ip_literal = address;
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
  }
  if (host.empty()) return Malformed("the URL has no host");
  parsed.host = Lower(host);
  if (!parsed.ip_literal) {
    if (std::optional<IpAddress> v4 = IpAddress::Parse(parsed.host); v4 && v4->is_v4()) {
      parsed.ip_literal = v4;
    } else if (!IsDnsName(parsed.host)) {
      return Malformed("the URL's host is not a valid DNS name or IP address");
    } else if (LooksNumeric(parsed.host)) {
      return Malformed("the URL's host is numeric but not a dotted-quad IPv4 address");
    }
  }

  parsed.port = parsed.secure() ? 443 : 80;
  if (has_port) {
    const int port =
        AllDigits(port_text) && port_text.size() <= 5 ? std::stoi(std::string(port_text)) : 0;
    if (port < 1 || port > 65535) {
      return Malformed("the URL's port is not a number from 1 to 65535");
    }
    parsed.port = std::uint16_t(port);
  }
  parsed.target =
      target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return DestinationCheck::Allowed(std::move(parsed));
}

}  // namespace lab_orders::webhooks
