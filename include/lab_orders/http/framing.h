#pragma once

// The parts of RFC 9112's message framing that POCO's parser lets through, checked on the parsed
// head before any of the body is read. A request whose length is ambiguous is never processed:
// two readers of it (a proxy and us) could disagree where it ends, which is how requests are
// smuggled.

#include <Poco/Net/NameValueCollection.h>

#include <optional>

#include "lab_orders/common/error.h"

namespace lab_orders::http {

// The error a request head gets (400 malformed_request, or 415 for a Content-Encoding), or
// nullopt when its framing is sound:
// - every field name a token (no space before the colon, say);
// - Content-Length at most once, 1 to 18 digits;
// - Transfer-Encoding at most once, exactly "chunked", and never with Content-Length;
// - no Content-Encoding but "identity": bodies are read as sent.
std::optional<AppError> FramingProblem(const Poco::Net::NameValueCollection& head);

}  // namespace lab_orders::http
