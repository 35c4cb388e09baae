#include "lab_orders/store/postgres_url.h"

#include <cctype>
#include <map>
#include <optional>
#include <stdexcept>

namespace lab_orders::store {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text, const char* part) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      throw std::invalid_argument(std::string("LAB_ORDERS_DATABASE: bad percent-encoding in the ") +
                                  part);
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

// libpq's quoting: single quotes around the value, backslash before ' and \.
std::string Quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

bool IsKeyword(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!std::islower(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

struct UrlParts {
  std::string_view scheme_and_slashes;  // "postgresql://"
  std::optional<std::string_view> user;
  std::optional<std::string_view> password;
  std::string_view host_and_rest;  // what follows the '@' (or the scheme)
};

UrlParts Split(std::string_view url) {
  UrlParts parts;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (url.rfind(scheme, 0) == 0) parts.scheme_and_slashes = scheme;
  }
  if (parts.scheme_and_slashes.empty()) {
    throw std::invalid_argument("LAB_ORDERS_DATABASE: expected postgresql://...");
  }
  std::string_view rest = url.substr(parts.scheme_and_slashes.size());
  // The userinfo ends at the last '@' before the path: a password may hold an unencoded '@'.
  std::size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    std::size_t colon = userinfo.find(':');
    parts.user = userinfo.substr(0, colon);
    if (colon != std::string_view::npos) parts.password = userinfo.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  parts.host_and_rest = rest;
  return parts;
}

}  // namespace

std::string PostgresConnectionString(std::string_view url) {
  UrlParts parts = Split(url);
  std::map<std::string, std::string> keywords;
  if (parts.user && !parts.user->empty()) keywords["user"] = PercentDecode(*parts.user, "user");
  if (parts.password) keywords["password"] = PercentDecode(*parts.password, "password");

  std::string_view rest = parts.host_and_rest;
  std::size_t path_start = rest.find_first_of("/?");
  std::string_view host_port = rest.substr(0, path_start);
  rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);

  std::string_view host = host_port;
  std::string_view port;
  if (!host_port.empty() && host_port.front() == '[') {  // [IPv6]:port
    std::size_t close = host_port.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument("LAB_ORDERS_DATABASE: unclosed [ in the host");
    }
    host = host_port.substr(1, close - 1);
    std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw std::invalid_argument("LAB_ORDERS_DATABASE: bad host");
      port = after.substr(1);
    }
  } else if (std::size_t colon = host_port.rfind(':'); colon != std::string_view::npos) {
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  if (!host.empty()) keywords["host"] = PercentDecode(host, "host");
  if (!port.empty()) {
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        throw std::invalid_argument("LAB_ORDERS_DATABASE: the port must be a number");
      }
    }
    keywords["port"] = std::string(port);
  }

  std::string_view query;
  if (!rest.empty() && rest.front() == '/') {
    std::size_t question = rest.find('?');
    std::string_view database =
        rest.substr(1, question == std::string_view::npos ? std::string_view::npos : question - 1);
    if (!database.empty()) keywords["dbname"] = PercentDecode(database, "database name");
    rest = question == std::string_view::npos ? std::string_view() : rest.substr(question);
  }
  if (!rest.empty() && rest.front() == '?') query = rest.substr(1);

  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) {
      throw std::invalid_argument("LAB_ORDERS_DATABASE: a query parameter has no '='");
    }
    std::string key = PercentDecode(pair.substr(0, equals), "parameter name");
    if (!IsKeyword(key)) {
      throw std::invalid_argument("LAB_ORDERS_DATABASE: a query parameter is not a libpq keyword");
    }
    keywords[key] = PercentDecode(pair.substr(equals + 1), "parameter value");
  }

  // libpq waits forever to connect by default; 2 s is the least it accepts.
  keywords.try_emplace("connect_timeout", "2");
  keywords.try_emplace("application_name", "lab-orders");
  // libpq prints the server's notices to stderr, where they would break the JSON log lines.
  keywords.try_emplace("options", "-cclient_min_messages=warning");

  std::string out;
  for (const auto& [key, value] : keywords) {
    if (!out.empty()) out += ' ';
    out += key + "=" + Quote(value);
  }
  return out;
}

std::string RedactDatabaseUrl(std::string_view url) {
  UrlParts parts;
  try {
    parts = Split(url);
  } catch (const std::invalid_argument&) {
    return std::string(url);  // not a URL with userinfo: nothing to hide
  }
  if (!parts.password) return std::string(url);
  return std::string(parts.scheme_and_slashes) + std::string(*parts.user) + ":***@" +
         std::string(parts.host_and_rest);
}

}  // namespace lab_orders::store
