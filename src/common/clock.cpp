#include "lab_orders/common/clock.h"

#include <cstdio>
#include <ctime>

namespace lab_orders {
namespace {

using std::chrono::system_clock;

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

bool AllDigits(const std::string& text, size_t from, size_t count) {
  if (from + count > text.size()) return false;
  for (size_t i = from; i < from + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

int Number(const std::string& text, size_t from, size_t count) {
  return std::stoi(text.substr(from, count));
}

}  // namespace

std::string FormatRfc3339(system_clock::time_point tp) {
  auto secs = std::chrono::floor<std::chrono::seconds>(tp);
  auto days = std::chrono::floor<std::chrono::days>(secs);
  std::chrono::year_month_day ymd{days};
  std::chrono::hh_mm_ss hms{secs - days};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d+00:00", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()));
  return buffer;
}

std::string FormatDate(system_clock::time_point tp) { return FormatRfc3339(tp).substr(0, 10); }

std::optional<std::chrono::year_month_day> ParseCalendarDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (!AllDigits(text, 0, 4) || !AllDigits(text, 5, 2) || !AllDigits(text, 8, 2)) {
    return std::nullopt;
  }
  int year = Number(text, 0, 4), month = Number(text, 5, 2), day = Number(text, 8, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  return std::chrono::year_month_day{std::chrono::year{year}, std::chrono::month{unsigned(month)},
                                     std::chrono::day{unsigned(day)}};
}

bool ParseDate(const std::string& text, system_clock::time_point* out) {
  std::optional<std::chrono::year_month_day> date = ParseCalendarDate(text);
  // system_clock counts nanoseconds in 64 bits: outside these years the time point wraps round.
  if (!date || int(date->year()) < 1678 || int(date->year()) > 2261) return false;
  *out = std::chrono::sys_days{*date};
  return true;
}

bool ParseRfc3339(const std::string& text, system_clock::time_point* out) {
  system_clock::time_point date;
  if (text.size() < 20 || !ParseDate(text.substr(0, 10), &date)) return false;
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return false;
  if (!AllDigits(text, 11, 2) || text[13] != ':' || !AllDigits(text, 14, 2) || text[16] != ':' ||
      !AllDigits(text, 17, 2)) {
    return false;
  }
  int hour = Number(text, 11, 2), minute = Number(text, 14, 2), second = Number(text, 17, 2);
  if (hour > 23 || minute > 59 || second > 60) return false;
  size_t pos = 19;
  std::chrono::microseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    size_t start = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return false;
    std::string digits = text.substr(start, std::min<size_t>(pos - start, 6));
    digits.resize(6, '0');
    fraction = std::chrono::microseconds{std::stoll(digits)};
  }
  std::chrono::seconds offset{0};
  if (pos == text.size()) return false;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    if (!AllDigits(text, pos + 1, 2) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !AllDigits(text, pos + 4, 2)) {
      return false;
    }
    int sign = text[pos] == '+' ? 1 : -1;
    int offset_hours = Number(text, pos + 1, 2), offset_minutes = Number(text, pos + 4, 2);
    if (offset_hours > 23 || offset_minutes > 59) return false;
    offset = sign * (std::chrono::hours{offset_hours} + std::chrono::minutes{offset_minutes});
    pos += 6;
  } else {
    return false;
  }
  if (pos != text.size()) return false;
  *out = date + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second} + fraction - offset;
  return true;
}

}  // namespace lab_orders
