// The request head and framing as the server reads them: bytes arriving in pieces of any size,
// requests back to back on one connection. The reader must never crash, read past what it was
// given, take a byte twice or accept a body over its limit.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lab_orders/http/request_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte chooses how the rest arrives: in pieces of 1 to 256 bytes.
  const std::size_t piece = std::size_t(data[0]) + 1;
  const std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  lab_orders::http::ReaderLimits limits;
  limits.max_head = 4096;  // small limits: the fuzzer reaches them
  limits.max_request_line = 1024;
  limits.max_body = 2048;
  lab_orders::http::RequestReader reader(limits);
  std::size_t start = 0;  // where the current request's bytes begin
  for (std::size_t end = std::min(wire.size(), piece); start < wire.size();) {
    const std::string_view input = wire.substr(start, end - start);
    const auto status = reader.Advance(input);
    if (status == lab_orders::http::RequestReader::Status::kRefused) {
      if (reader.Refusal().what() == nullptr) __builtin_trap();
      return 0;
    }
    if (status == lab_orders::http::RequestReader::Status::kComplete) {
      if (reader.Consumed() == 0 || reader.Consumed() > input.size()) __builtin_trap();
      const lab_orders::http::ReadRequest request = reader.TakeRequest();
      if (request.body.size() > limits.max_body || request.method.empty() ||
          request.target.empty() || request.target.front() != '/') {
        __builtin_trap();
      }
      start += reader.Consumed();
      reader.Reset();
      continue;
    }
    if (end == wire.size()) return 0;  // the client stopped mid-request
    end = std::min(wire.size(), end + piece);
  }
  return 0;
}
