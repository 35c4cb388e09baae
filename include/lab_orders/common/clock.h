#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace lab_orders {

// All time comes through a Clock so tests can control it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

// RFC 3339 in UTC with a "+00:00" offset, as Junction writes its timestamps.
std::string FormatRfc3339(std::chrono::system_clock::time_point tp);
// YYYY-MM-DD in UTC.
std::string FormatDate(std::chrono::system_clock::time_point tp);
// A YYYY-MM-DD calendar date, any year from 1 to 9999; nullopt when it is not a real date.
std::optional<std::chrono::year_month_day> ParseCalendarDate(const std::string& text);
// Parses YYYY-MM-DD as midnight UTC; false when it is not a real calendar date or its year is
// outside what a system_clock time point holds (1678 to 2261).
bool ParseDate(const std::string& text, std::chrono::system_clock::time_point* out);
// Parses RFC 3339 date-times ("Z" or a numeric offset, optional fraction).
bool ParseRfc3339(const std::string& text, std::chrono::system_clock::time_point* out);

}  // namespace lab_orders
