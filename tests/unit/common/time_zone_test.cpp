// TimeZones: local hours from the system's zone files (Debian's tzdata), and the TZif reader
// itself on files made here, so that what it reads does not depend on this machine's data.

#include "lab_orders/common/time_zone.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace lab_orders {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::year;

void BigEndian(std::string& out, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) out += char((value >> (i * 8)) & 0xff);
}

// A TZif file of version 2: the version 1 block (empty of transitions) and the 64-bit block with
// transitions at the given instants, each to the given offset (types in order: offset, isdst).
std::string TzifFile(const std::vector<std::pair<std::int64_t, int>>& transitions,
                     const std::vector<std::pair<int, bool>>& types) {
  auto header = [&](std::string& out, std::uint32_t timecnt) {
    out += "TZif2";
    out += std::string(15, '\0');
    for (std::uint32_t count : {0u, 0u, 0u, timecnt, std::uint32_t(types.size()), 4u}) {
      BigEndian(out, count, 4);
    }
  };
  auto block = [&](std::string& out, bool with_transitions, int width) {
    if (with_transitions) {
      for (const auto& [at, type] : transitions) BigEndian(out, std::uint64_t(at), width);
      for (const auto& [at, type] : transitions) out += char(type);
    }
    for (const auto& [offset, dst] : types) {
      BigEndian(out, std::uint32_t(offset), 4);
      out += char(dst ? 1 : 0);
      out += char(0);
    }
    out += std::string("UTC", 4);
  };
  std::string file;
  header(file, 0);
  block(file, false, 4);
  header(file, std::uint32_t(transitions.size()));
  block(file, true, 8);
  file += "\n<footer>\n";
  return file;
}

TEST(TimeZonesTest, ReadsTheTransitionsOfAVersion2File) {
  // Standard at -5 h, daylight at -4 h from 1,000,000,000 s, standard again from 1,010,000,000 s.
  std::optional<TimeZones::Zone> zone = TimeZones::Parse(
      TzifFile({{1'000'000'000, 1}, {1'010'000'000, 0}}, {{-18000, false}, {-14400, true}}));
  ASSERT_TRUE(zone.has_value());
  EXPECT_EQ(zone->transitions, (std::vector<std::int64_t>{1'000'000'000, 1'010'000'000}));
  EXPECT_EQ(zone->offsets, (std::vector<std::int32_t>{-14400, -18000}));
  EXPECT_EQ(zone->initial_offset, -18000);
}

TEST(TimeZonesTest, AnythingElseIsNotAZone) {
  const std::string good = TzifFile({{1'000'000'000, 0}}, {{3600, false}});
  EXPECT_FALSE(TimeZones::Parse("").has_value());
  EXPECT_FALSE(TimeZones::Parse("TZif2 and then nothing").has_value());
  EXPECT_FALSE(TimeZones::Parse(good.substr(0, good.size() - 20)).has_value()) << "truncated";
  std::string bad_index = TzifFile({{1'000'000'000, 5}}, {{3600, false}});
  EXPECT_FALSE(TimeZones::Parse(bad_index).has_value()) << "a transition to a type not listed";
}

TEST(TimeZonesTest, OffsetsAndHoursComeFromTheZonesFile) {
  const auto directory = std::filesystem::temp_directory_path() / "lab-orders-time-zone-test";
  std::filesystem::create_directories(directory / "Test");
  {
    std::ofstream file(directory / "Test" / "Zone", std::ios::binary);
    file << TzifFile({{1'000'000'000, 1}}, {{-25200, false}, {-21600, true}});
  }
  TimeZones zones(directory.string());
  const auto before = std::chrono::system_clock::time_point(999'999'999s);
  const auto after = std::chrono::system_clock::time_point(1'000'000'000s);
  EXPECT_EQ(zones.OffsetAt("Test/Zone", before), -25200s);
  EXPECT_EQ(zones.OffsetAt("Test/Zone", after), -21600s);
  // 2001-09-09T01:46:40Z is 19:46:40 the day before at -6 h.
  EXPECT_EQ(zones.LocalHour("Test/Zone", after), 19);
  EXPECT_EQ(zones.OffsetAt("Test/Nowhere", after), std::nullopt);
  // Never a path out of the directory, whatever the name says.
  for (const char* name : {"../Test/Zone", "Test/../Test/Zone", "/etc/passwd", "Test//Zone", "",
                           "Test/Zone/", "Test/Zo ne"}) {
    EXPECT_EQ(zones.OffsetAt(name, after), std::nullopt) << name;
  }
  std::filesystem::remove_all(directory);
}

// The system's own files (tzdata, which the install script installs).
TEST(TimeZonesTest, TheSystemsZonesKnowDaylightSavingTime) {
  TimeZones& zones = SystemTimeZones();
  const auto winter_noon_utc = sys_days{year{2026} / 1 / 15} + 12h;
  const auto summer_noon_utc = sys_days{year{2026} / 7 / 15} + 12h;
  EXPECT_EQ(zones.LocalHour("America/New_York", winter_noon_utc), 7);
  EXPECT_EQ(zones.LocalHour("America/New_York", summer_noon_utc), 8);
  // Arizona keeps standard time all year.
  EXPECT_EQ(zones.LocalHour("America/Phoenix", winter_noon_utc), 5);
  EXPECT_EQ(zones.LocalHour("America/Phoenix", summer_noon_utc), 5);
  EXPECT_EQ(zones.LocalHour("Asia/Kolkata", winter_noon_utc), 17);  // +5:30: 17:30
  EXPECT_EQ(zones.LocalHour("Mars/Olympus_Mons", winter_noon_utc), std::nullopt);
}

}  // namespace
}  // namespace lab_orders
