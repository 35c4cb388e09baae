#pragma once

// One HTTP/1.1 request read strictly (RFC 9112) from a connection's bytes as they arrive, without
// blocking and without reading a byte twice: the server feeds it what each read() returned, and
// it says whether it needs more, has a whole request, or refuses it (with the error the client is
// told before the connection closes).
//
// Refused: a request line over its limit (414) or a head over its limits (431); anything that is
// not a request line; lines that do not end in CRLF (a bare LF or CR); obs-fold; a field name that
// is not a token, a line without a colon, control characters in a value; a repeated or
// non-numeric Content-Length; Content-Length with Transfer-Encoding; a transfer coding other than
// chunked; malformed chunks; a body over its limit (413); a Content-Encoding (415); HTTP/1.1
// without exactly one Host; a repeat of a field the service reads once (Authorization,
// Idempotency-Key...); a version other than HTTP/1.0 or 1.1 (505). A request whose length is
// ambiguous is never processed: two readers of it (a proxy and us) could disagree where it ends,
// which is how requests are smuggled.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lab_orders/common/error.h"

namespace lab_orders::http {

// What chunked framing (sizes, extensions, line ends, trailers) may add to a body's max_body
// bytes before the request is refused as too large: a body sent a byte per chunk is refused
// rather than read without end.
inline constexpr std::size_t kMaxChunkedOverhead = 64 * 1024;

struct ReaderLimits {
  std::size_t max_request_line = 8 * 1024;  // longer: 414
  std::size_t max_head = 32 * 1024;         // request line and fields together; more: 431
  std::size_t max_fields = 100;             // more: 431
  std::size_t max_body = 64 * 1024;         // more: 413
};

struct ReadRequest {
  std::string method;
  std::string target;  // as sent: origin-form, starting with '/'
  int minor_version = 1;
  // In the order sent; names in lower case, values without surrounding whitespace. A field sent
  // on several lines appears once per line.
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;  // decoded from chunks when chunked
  bool keep_alive = true;
  bool expects_continue = false;  // Expect: 100-continue
  // The client's IP address, as the socket has it (set by the server, not read off the wire).
  std::string peer_address;

  // The field's value, or nullptr when absent. name in lower case.
  const std::string* Field(std::string_view name) const;
};

class RequestReader {
 public:
  enum class Status {
    kNeedMore,  // feed the next bytes (the head may be complete: HeadComplete())
    kComplete,  // TakeRequest(); Consumed() bytes of the input belonged to it
    kRefused,   // Refusal(): answer it and close the connection
  };

  explicit RequestReader(ReaderLimits limits = {}) : limits_(limits) {}

  // input holds every byte of this request received so far, from its first one, and perhaps
  // bytes of the requests after it; each call passes what the last did and more. Only the bytes
  // not seen yet are examined.
  Status Advance(std::string_view input);

  // The head has been read and accepted: the body (if any) is what is awaited.
  bool HeadComplete() const { return state_ > State::kHead; }
  // Whether any byte of a request has arrived.
  bool Started() const { return position_ > 0; }
  // The head, once HeadComplete() (its body is filled in once kComplete).
  const ReadRequest& Head() const { return request_; }

  ReadRequest TakeRequest();
  std::size_t Consumed() const { return position_; }
  // Why the request is refused; its code gives the status (http/error_status.h).
  const AppError& Refusal() const { return *refusal_; }

  // Ready for the next request (its bytes start at the input's beginning again).
  void Reset();

 private:
  enum class State {
    kHead,
    kLengthBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer,
    kDone,
    kRefused,
  };

  Status Refuse(ErrorCode code, std::string message);
  Status ScanHead(std::string_view input);
  Status ParseHead(std::string_view head);
  Status ReadChunked(std::string_view input);
  // The next CRLF-ended line from position_, with at most max bytes: nullopt when more bytes are
  // needed; refuses a line that is too long or not ended by CRLF.
  std::optional<std::string_view> NextLine(std::string_view input, std::size_t max,
                                           const char* what, Status* refused);

  ReaderLimits limits_;
  State state_ = State::kHead;
  std::size_t position_ = 0;       // bytes of input examined and accepted
  std::size_t line_start_ = 0;     // where the line being scanned in the head begins
  std::size_t request_start_ = 0;  // where the request line begins (after empty lines)
  bool request_line_seen_ = false;
  std::size_t fields_ = 0;     // field lines so far
  std::size_t remaining_ = 0;  // body or chunk bytes still to come
  std::size_t trailer_bytes_ = 0;
  std::size_t body_start_ = 0;  // where the body begins in the input
  ReadRequest request_;
  std::optional<AppError> refusal_;
};

}  // namespace lab_orders::http
