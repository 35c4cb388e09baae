#pragma once

// A time as a patient reads it on the booking page: in the zone of the place (the patient's home,
// the service center), in plain words. Internal to the http floor.

#include <optional>
#include <string>

namespace lab_orders::http {

struct LocalTimeText {
  std::string date;       // YYYY-MM-DD, on the zone's calendar
  std::string day_label;  // "Monday 7 December"
  std::string clock;      // "8:00 am"
};

// rfc3339 in zone (IANA; UTC when it is not one the system knows); nullopt when rfc3339 is not a
// time.
std::optional<LocalTimeText> LocalTimeOf(const std::string& rfc3339, const std::string& zone);

// The day_label of a YYYY-MM-DD date; nullopt when it is not a date.
std::optional<std::string> DayLabelOf(const std::string& date);

}  // namespace lab_orders::http
