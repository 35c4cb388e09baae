#include "lab_orders/http/framing.h"

#include <Poco/String.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace lab_orders::http {
namespace {

// Every value the head gives this field (POCO keeps repeated fields apart; names compare
// without case).
std::vector<std::string> ValuesOf(const Poco::Net::NameValueCollection& head, const char* name) {
  std::vector<std::string> values;
  for (auto it = head.find(name); it != head.end() && Poco::icompare(it->first, name) == 0; ++it) {
    values.push_back(Poco::trim(it->second));
  }
  return values;
}

AppError Malformed(const std::string& message) {
  return AppError(ErrorCode::kMalformedRequest, message);
}

// RFC 9110 §5.1: a field name is a token. POCO keeps whatever precedes the colon, so
// "Transfer-Encoding : chunked" would otherwise be a field nobody reads while a proxy before us
// may have honoured it.
bool IsToken(const std::string& name) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

}  // namespace

std::optional<AppError> FramingProblem(const Poco::Net::NameValueCollection& head) {
  for (const auto& [name, value] : head) {
    if (!IsToken(name)) return Malformed("A header field name is not a valid token.");
  }
  const std::vector<std::string> lengths = ValuesOf(head, "Content-Length");
  const std::vector<std::string> codings = ValuesOf(head, "Transfer-Encoding");
  if (lengths.size() > 1) return Malformed("Content-Length is given more than once.");
  if (lengths.size() == 1) {
    const std::string& length = lengths.front();
    const bool digits =
        !length.empty() && length.size() <= 18 &&
        std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) return Malformed("Content-Length must be a number of bytes.");
  }
  if (!codings.empty()) {
    if (!lengths.empty()) {
      return Malformed("Content-Length and Transfer-Encoding must not be sent together.");
    }
    if (codings.size() > 1 || Poco::icompare(codings.front(), "chunked") != 0) {
      return Malformed("The only transfer coding accepted is chunked.");
    }
  }
  for (const std::string& encoding : ValuesOf(head, "Content-Encoding")) {
    if (Poco::icompare(encoding, "identity") != 0) {
      return AppError(ErrorCode::kUnsupportedMediaType,
                      "Content-Encoding is not supported: send the body uncompressed.");
    }
  }
  return std::nullopt;
}

}  // namespace lab_orders::http
