#include "lab_orders/http/request_reader.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace lab_orders::http {
namespace {

// Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2), or empty: a reg-name or IPv4
// address, or an IP literal in brackets; a server must refuse any other value (RFC 9112 §3.2).
bool IsHostValue(std::string_view host) {
  std::size_t end = 0;
  if (!host.empty() && host.front() == '[') {
    end = host.find(']');
    if (end == std::string_view::npos || end == 1) return false;
    const bool literal = std::all_of(host.begin() + 1, host.begin() + long(end), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == 'v' ||
             c == 'V';
    });
    if (!literal) return false;
    ++end;
  } else {
    constexpr std::string_view kRegNameMarks = "-._~%!$&'()*+,;=";
    while (end < host.size() && (std::isalnum(static_cast<unsigned char>(host[end])) ||
                                 kRegNameMarks.find(host[end]) != std::string_view::npos)) {
      ++end;
    }
  }
  if (end == host.size()) return true;
  if (host[end] != ':') return false;
  const std::string_view port = host.substr(end + 1);
  return port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c));
         });
}

// RFC 9110 §5.6.2: tchar.
bool IsTokenChar(unsigned char c) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return std::isalnum(c) != 0 || kSymbols.find(char(c)) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](char c) { return IsTokenChar((unsigned char)c); });
}

// RFC 9110 §5.5: field-vchar, SP and HTAB (obs-text allowed); never NUL, CR, LF or another CTL.
bool IsFieldValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7F); }

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return lower;
}

std::string_view TrimWhitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower((unsigned char)x) == std::tolower((unsigned char)y);
         });
}

// The request target as a path and query: origin-form as it is, absolute-form (RFC 9112 §3.2.2,
// which a server must accept) without its scheme and authority, as this service answers for one
// origin; nullopt for any other form (authority-form, asterisk-form).
std::optional<std::string> OriginForm(std::string_view target) {
  if (target.front() == '/') return std::string(target);
  std::size_t authority = 0;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() &&
        EqualsIgnoringCase(target.substr(0, scheme.size()), scheme)) {
      authority = scheme.size();
    }
  }
  if (authority == 0) return std::nullopt;
  const std::size_t path = target.find_first_of("/?#", authority);
  if (path == authority) return std::nullopt;  // no host
  if (path == std::string_view::npos) return "/";
  if (target[path] == '#') return std::nullopt;  // a fragment is never sent
  std::string origin = target[path] == '?' ? "/" : "";
  origin.append(target.substr(path));
  return origin;
}

// Whether a comma-separated list (Connection) holds token, without case.
bool ListHas(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (EqualsIgnoringCase(TrimWhitespace(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Fields the service reads as one value: a second copy could be read differently by a proxy
// before us, or by the next version of us.
constexpr std::array<std::string_view, 9> kSingletonFields = {
    "host",         "content-length",    "content-type",     "authorization", "idempotency-key",
    "x-request-id", "transfer-encoding", "content-encoding", "expect"};

constexpr std::size_t kMaxLeadingEmptyLines = 4;
constexpr std::size_t kMaxChunkLine = 1024;  // size and extensions
constexpr std::size_t kMaxTrailers = 8 * 1024;

}  // namespace

const std::string* ReadRequest::Field(std::string_view name) const {
  for (const auto& [field, value] : fields) {
    if (field == name) return &value;
  }
  return nullptr;
}

RequestReader::Status RequestReader::Refuse(ErrorCode code, std::string message) {
  state_ = State::kRefused;
  refusal_.emplace(code, std::move(message));
  return Status::kRefused;
}

RequestReader::Status RequestReader::Advance(std::string_view input) {
  switch (state_) {
    case State::kRefused:
      return Status::kRefused;
    case State::kDone:
      return Status::kComplete;
    case State::kHead: {
      Status status = ScanHead(input);
      if (state_ == State::kHead || status == Status::kRefused) return status;
      break;
    }
    default:
      break;
  }
  if (state_ == State::kLengthBody) {
    const std::size_t available = std::min(remaining_, input.size() - position_);
    request_.body.append(input.substr(position_, available));
    position_ += available;
    remaining_ -= available;
    if (remaining_ > 0) return Status::kNeedMore;
    state_ = State::kDone;
    return Status::kComplete;
  }
  if (state_ == State::kDone) return Status::kComplete;
  return ReadChunked(input);
}

RequestReader::Status RequestReader::ScanHead(std::string_view input) {
  for (; position_ < input.size(); ++position_) {
    const char c = input[position_];
    if (position_ > line_start_ && input[position_ - 1] == '\r' && c != '\n') {
      return Refuse(ErrorCode::kMalformedRequest, "Lines must end with CRLF, not a bare CR.");
    }
    if (c == '\r') continue;
    if (c != '\n') {
      if (!request_line_seen_ && position_ == line_start_ && !IsTokenChar((unsigned char)c)) {
        // Not a method: a TLS handshake, garbage.
        return Refuse(ErrorCode::kMalformedRequest, "This is not an HTTP/1.1 request.");
      }
      if (!request_line_seen_ && position_ + 1 - line_start_ > limits_.max_request_line) {
        return Refuse(ErrorCode::kUriTooLong, "The request line is too long.");
      }
      if (position_ + 1 - request_start_ > limits_.max_head) {
        return Refuse(ErrorCode::kHeadersTooLarge, "The request's header fields are too large.");
      }
      continue;
    }
    if (position_ == line_start_ || input[position_ - 1] != '\r') {
      return Refuse(ErrorCode::kMalformedRequest, "Lines must end with CRLF, not a bare LF.");
    }
    const bool empty = position_ - 1 == line_start_;
    if (!request_line_seen_) {
      if (empty) {
        // RFC 9112 §2.2: empty lines before a request line are ignored (a few, not forever).
        if (position_ + 1 > kMaxLeadingEmptyLines * 2) {
          return Refuse(ErrorCode::kMalformedRequest, "The request line is missing.");
        }
        request_start_ = position_ + 1;
      }
      request_line_seen_ = !empty;
    } else if (empty) {  // the empty line that ends the head
      ++position_;
      return ParseHead(input.substr(request_start_, position_ - request_start_));
    } else if (++fields_ > limits_.max_fields) {
      return Refuse(ErrorCode::kHeadersTooLarge, "The request has too many header fields.");
    }
    line_start_ = position_ + 1;
  }
  return Status::kNeedMore;
}

RequestReader::Status RequestReader::ParseHead(std::string_view head) {
  // Lines are known to end in CRLF, and none but the last is empty.
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start < head.size();) {
    const std::size_t end = head.find("\r\n", start);
    lines.push_back(head.substr(start, end - start));
    start = end + 2;
  }
  lines.pop_back();  // the empty line

  // request-line = method SP request-target SP HTTP-version, single spaces.
  const std::string_view line = lines.front();
  const std::size_t first_space = line.find(' ');
  const std::size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space) {
    return Refuse(ErrorCode::kMalformedRequest, "The request line is malformed.");
  }
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  const std::string_view version = line.substr(last_space + 1);
  if (!IsToken(method) || target.empty() || !std::all_of(target.begin(), target.end(), [](char c) {
        return (unsigned char)c > 0x20 && (unsigned char)c < 0x7F;
      })) {
    return Refuse(ErrorCode::kMalformedRequest, "The request line is malformed.");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !std::isdigit(version[5]) ||
      version[6] != '.' || !std::isdigit(version[7])) {
    return Refuse(ErrorCode::kMalformedRequest, "The request line is malformed.");
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return Refuse(ErrorCode::kHttpVersionNotSupported, "Only HTTP/1.1 and HTTP/1.0 are served.");
  }
  std::optional<std::string> origin_form = OriginForm(target);
  if (!origin_form) {
    return Refuse(ErrorCode::kMalformedRequest,
                  "The request target must be a path (or an absolute http(s) URI).");
  }
  request_.method = std::string(method);
  request_.target = std::move(*origin_form);
  request_.minor_version = version[7] - '0';

  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view field = lines[i];
    if (field.front() == ' ' || field.front() == '\t') {
      return Refuse(ErrorCode::kMalformedRequest,
                    "A header field is folded over lines (obs-fold).");
    }
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) {
      return Refuse(ErrorCode::kMalformedRequest, "A header line has no colon.");
    }
    if (!IsToken(field.substr(0, colon))) {
      return Refuse(ErrorCode::kMalformedRequest, "A header field name is not a valid token.");
    }
    const std::string_view value = TrimWhitespace(field.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(),
                     [](char c) { return IsFieldValueChar((unsigned char)c); })) {
      return Refuse(ErrorCode::kMalformedRequest,
                    "A header field value holds a control character.");
    }
    std::string name = Lower(field.substr(0, colon));
    if (std::find(kSingletonFields.begin(), kSingletonFields.end(), name) !=
            kSingletonFields.end() &&
        request_.Field(name) != nullptr) {
      return Refuse(
          ErrorCode::kMalformedRequest,
          "The header field " + std::string(field.substr(0, colon)) + " is given more than once.");
    }
    request_.fields.emplace_back(std::move(name), std::string(value));
  }

  if (request_.minor_version == 1 && request_.Field("host") == nullptr) {
    return Refuse(ErrorCode::kMalformedRequest, "HTTP/1.1 requests need a Host field.");
  }
  if (const std::string* host = request_.Field("host"); host && !IsHostValue(*host)) {
    return Refuse(ErrorCode::kMalformedRequest, "The Host field is not a host and port.");
  }
  // Every Connection line counts, and "close" wins (RFC 9112 §9.6).
  bool close = false;
  bool keep_alive = false;
  for (const auto& [name, value] : request_.fields) {
    if (name != "connection") continue;
    close = close || ListHas(value, "close");
    keep_alive = keep_alive || ListHas(value, "keep-alive");
  }
  request_.keep_alive = !close && (request_.minor_version == 1 || keep_alive);
  // An HTTP/1.0 client's expectation is ignored (RFC 9110 §10.1.1).
  if (const std::string* expect = request_.Field("expect"); expect && request_.minor_version == 1) {
    request_.expects_continue = EqualsIgnoringCase(*expect, "100-continue");
  }
  if (const std::string* encoding = request_.Field("content-encoding");
      encoding != nullptr && !EqualsIgnoringCase(*encoding, "identity")) {
    return Refuse(ErrorCode::kUnsupportedMediaType,
                  "Content-Encoding is not supported: send the body uncompressed.");
  }

  const std::string* length = request_.Field("content-length");
  const std::string* coding = request_.Field("transfer-encoding");
  if (coding != nullptr) {
    if (length != nullptr) {
      return Refuse(ErrorCode::kMalformedRequest,
                    "Content-Length and Transfer-Encoding must not be sent together.");
    }
    if (!EqualsIgnoringCase(*coding, "chunked") || request_.minor_version == 0) {
      return Refuse(ErrorCode::kMalformedRequest,
                    "The only transfer coding accepted is chunked (and not in HTTP/1.0).");
    }
    state_ = State::kChunkSize;
    body_start_ = position_;
    return Status::kNeedMore;
  }
  if (length != nullptr) {
    if (length->empty() || length->size() > 18 ||
        !std::all_of(length->begin(), length->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Refuse(ErrorCode::kMalformedRequest, "Content-Length must be a number of bytes.");
    }
    remaining_ = std::stoull(*length);
    if (remaining_ > limits_.max_body) {
      return Refuse(ErrorCode::kPayloadTooLarge, "The request body is larger than 64 KiB.");
    }
    state_ = State::kLengthBody;
    return Status::kNeedMore;
  }
  state_ = State::kDone;  // no body
  return Status::kComplete;
}

std::optional<std::string_view> RequestReader::NextLine(std::string_view input, std::size_t max,
                                                        const char* what, Status* refused) {
  const std::string_view rest = input.substr(position_);
  const std::size_t lf = rest.substr(0, max + 2).find('\n');
  if (lf == std::string_view::npos) {
    if (rest.size() >= max + 2) {
      *refused = Refuse(ErrorCode::kMalformedRequest, std::string(what) + " is too long.");
    }
    const std::size_t cr = rest.find('\r');
    if (cr != std::string_view::npos && cr + 1 < rest.size()) {
      *refused = Refuse(ErrorCode::kMalformedRequest, "Lines must end with CRLF.");
    }
    return std::nullopt;
  }
  if (lf == 0 || rest[lf - 1] != '\r' ||
      rest.substr(0, lf - 1).find('\r') != std::string_view::npos) {
    *refused = Refuse(ErrorCode::kMalformedRequest, "Lines must end with CRLF.");
    return std::nullopt;
  }
  position_ += lf + 1;
  return rest.substr(0, lf - 1);
}

RequestReader::Status RequestReader::ReadChunked(std::string_view input) {
  Status refused = Status::kNeedMore;
  for (;;) {
    if (position_ - body_start_ > limits_.max_body + kMaxChunkedOverhead) {
      return Refuse(ErrorCode::kPayloadTooLarge,
                    "The request body, with its chunk framing, is larger than accepted.");
    }
    switch (state_) {
      case State::kChunkSize: {
        std::optional<std::string_view> line =
            NextLine(input, kMaxChunkLine, "A chunk's size line", &refused);
        if (!line) return refused;
        // chunk-size [ BWS ";" extensions ] (RFC 9112 §7.1.1): white space only before a ';'.
        const std::size_t extensions = line->find(';');
        std::string_view size = line->substr(0, extensions);
        while (extensions != std::string_view::npos && !size.empty() &&
               (size.back() == ' ' || size.back() == '\t')) {
          size.remove_suffix(1);
        }
        if (size.empty() || size.size() > 8 || !std::all_of(size.begin(), size.end(), [](char c) {
              return std::isxdigit((unsigned char)c) != 0;
            })) {
          return Refuse(ErrorCode::kMalformedRequest, "A chunk's size is malformed.");
        }
        remaining_ = std::stoul(std::string(size), nullptr, 16);
        if (request_.body.size() + remaining_ > limits_.max_body) {
          return Refuse(ErrorCode::kPayloadTooLarge, "The request body is larger than 64 KiB.");
        }
        state_ = remaining_ == 0 ? State::kTrailer : State::kChunkData;
        break;
      }
      case State::kChunkData: {
        const std::size_t available = std::min(remaining_, input.size() - position_);
        request_.body.append(input.substr(position_, available));
        position_ += available;
        remaining_ -= available;
        if (remaining_ > 0) return Status::kNeedMore;
        state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd: {
        if (input.size() - position_ < 2) return Status::kNeedMore;
        if (input.substr(position_, 2) != "\r\n") {
          return Refuse(ErrorCode::kMalformedRequest, "A chunk is longer than its size.");
        }
        position_ += 2;
        state_ = State::kChunkSize;
        break;
      }
      case State::kTrailer: {
        const std::size_t before = position_;
        std::optional<std::string_view> line =
            NextLine(input, kMaxTrailers, "The trailer section", &refused);
        if (!line) return refused;
        trailer_bytes_ += position_ - before;
        if (trailer_bytes_ > kMaxTrailers) {
          return Refuse(ErrorCode::kHeadersTooLarge, "The trailer section is too large.");
        }
        if (line->empty()) {
          state_ = State::kDone;
          return Status::kComplete;
        }
        // Trailer fields are read and dropped: nothing the service reads may come after a body.
        const std::size_t colon = line->find(':');
        if (colon == std::string_view::npos || !IsToken(line->substr(0, colon))) {
          return Refuse(ErrorCode::kMalformedRequest, "A trailer field is malformed.");
        }
        break;
      }
      default:
        return Status::kNeedMore;
    }
  }
}

ReadRequest RequestReader::TakeRequest() {
  ReadRequest taken = std::move(request_);
  request_ = ReadRequest{};
  return taken;
}

void RequestReader::Reset() {
  const ReaderLimits limits = limits_;
  *this = RequestReader(limits);
}

}  // namespace lab_orders::http
