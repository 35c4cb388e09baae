#include "lab_orders/common/retry_after.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>

#include <algorithm>
#include <regex>

namespace lab_orders {

std::optional<int> ParseRetryAfter(const std::string& value,
                                   std::chrono::system_clock::time_point now) {
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string::npos) {
    if (value.size() > 9) return std::nullopt;
    return std::stoi(value);
  }
  // Poco's parser takes nearly anything ("soon" becomes a date long past), so only the
  // IMF-fixdate form that RFC 9110 has senders use reaches it.
  static const std::regex kImfFixdate(
      R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) )"
      R"(\d{4} \d{2}:\d{2}:\d{2} GMT$)");
  if (!std::regex_match(value, kImfFixdate)) return std::nullopt;
  try {
    int tzd = 0;
    Poco::DateTime when =
        Poco::DateTimeParser::parse(Poco::DateTimeFormat::HTTP_FORMAT, value, tzd);
    auto at = std::chrono::system_clock::from_time_t(when.timestamp().epochTime()) -
              std::chrono::seconds(tzd);
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(at - now).count();
    return seconds < 0 ? 0 : int(std::min<long long>(seconds, 86400));
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

}  // namespace lab_orders
