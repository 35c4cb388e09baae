// A request target as the service splits and reads it: POCO's URI for the path and query, then
// the query's fields (HTMLForm), as the list routes read status, limit and cursor.

#include <Poco/Exception.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/URI.h>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string target =
      "/v1/labs/orders?" + std::string(reinterpret_cast<const char*>(data), size);
  try {
    const Poco::URI uri(target);
    Poco::Net::HTMLForm query;
    query.read(uri.getRawQuery());
    (void)query.get("status", "");
    (void)query.get("limit", "");
    (void)query.get("cursor", "");
  } catch (const Poco::Exception&) {
    // Refused as a validation error by the service.
  }
  return 0;
}
