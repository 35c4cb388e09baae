// Junction's answers as the client decodes them: a 2xx body parsed and decoded as each operation
// does (any malformation is a 502 to the caller, never a crash), and a non-2xx classified.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "junction/classify.h"
#include "junction/codec.h"

namespace {

template <typename Decode>
void DecodeAs(const std::string& body, Decode decode) {
  try {
    (void)decode(nlohmann::json::parse(body));
  } catch (const nlohmann::json::exception&) {
  } catch (const lab_orders::junction::MalformedJunctionJson&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  namespace junction = lab_orders::junction;
  const std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
  // The first byte picks the operation, the second the status: below 128 a 200, else 3xx-5xx.
  const int status = data[1] < 128 ? 200 : 300 + (data[1] - 128) * 2;
  if (status != 200) {
    junction::RawResponse response;
    response.status = status;
    response.body = body;
    if (data[1] & 1) response.headers["retry-after"] = body.substr(0, 16);
    (void)junction::ClassifyFailure(
        "create_order", response,
        std::chrono::system_clock::time_point(std::chrono::seconds(1796256000)));
    return 0;
  }
  switch (data[0] % 8) {
    case 0:
      DecodeAs(body, junction::DecodeUser);
      break;
    case 1:
      DecodeAs(body, junction::DecodeLabTests);
      break;
    case 2:
      DecodeAs(body, junction::DecodeOrder);
      break;
    case 3:
      DecodeAs(body, junction::DecodeOrderResponse);
      break;
    case 4:
      DecodeAs(body, junction::DecodeAreaInfo);
      break;
    case 5:
      DecodeAs(body, junction::DecodeAvailability);
      break;
    case 6:
      DecodeAs(body, junction::DecodeAppointment);
      break;
    default:
      DecodeAs(body, junction::DecodeCancellationReasons);
      break;
  }
  return 0;
}
