#include "http/local_time_text.h"

#include <array>
#include <chrono>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/time_zone.h"

namespace lab_orders::http {
namespace {

using namespace std::chrono;

constexpr std::array<const char*, 7> kWeekdays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                  "Thursday", "Friday", "Saturday"};
constexpr std::array<const char*, 12> kMonths = {"January",   "February", "March",    "April",
                                                 "May",       "June",     "July",     "August",
                                                 "September", "October",  "November", "December"};

std::string DayLabel(const sys_days& day) {
  const year_month_day date(day);
  const weekday week_day(day);
  return std::string(kWeekdays[week_day.c_encoding()]) + " " +
         std::to_string(unsigned(date.day())) + " " + kMonths[unsigned(date.month()) - 1];
}

std::string IsoDate(const sys_days& day) {
  const year_month_day date(day);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", int(date.year()), unsigned(date.month()),
                unsigned(date.day()));
  return text;
}

}  // namespace

std::optional<LocalTimeText> LocalTimeOf(const std::string& rfc3339, const std::string& zone) {
  system_clock::time_point at;
  if (!ParseRfc3339(rfc3339, &at)) return std::nullopt;
  const seconds offset = SystemTimeZones().OffsetAt(zone, at).value_or(seconds(0));
  const auto local = time_point_cast<minutes>(at) + duration_cast<minutes>(offset);
  const sys_days day = floor<days>(local);
  const hh_mm_ss<minutes> time(local - day);
  const int hour = int(time.hours().count());
  const int hour12 = hour % 12 == 0 ? 12 : hour % 12;
  char clock[16];
  std::snprintf(clock, sizeof clock, "%d:%02d %s", hour12, int(time.minutes().count()),
                hour < 12 ? "am" : "pm");
  return LocalTimeText{IsoDate(day), DayLabel(day), clock};
}

std::optional<std::string> DayLabelOf(const std::string& date) {
  std::optional<year_month_day> parsed = ParseCalendarDate(date);
  if (!parsed) return std::nullopt;
  return DayLabel(sys_days(*parsed));
}

}  // namespace lab_orders::http
