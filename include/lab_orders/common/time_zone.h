#pragma once

// Local time in an IANA time zone ("America/Phoenix"), from the system's zone files (TZif, as
// Debian's tzdata installs them under /usr/share/zoneinfo, or $TZDIR). The standard library of
// this toolchain has no time zone database; these files are what it would read.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lab_orders {

class TimeZones {
 public:
  // directory: where the zone files are; "" for $TZDIR, else /usr/share/zoneinfo.
  explicit TimeZones(std::string directory = "");

  // The UTC offset of zone at the instant at; nullopt for a name that is not a zone's (or whose
  // file cannot be read). Past the last transition a file holds (2037 for Debian's), its last
  // offset. Thread-safe; each zone's file is read once.
  std::optional<std::chrono::seconds> OffsetAt(const std::string& zone,
                                               std::chrono::system_clock::time_point at);
  // The hour (0 to 23) on the zone's clocks at the instant at.
  std::optional<int> LocalHour(const std::string& zone, std::chrono::system_clock::time_point at);

  // One zone's transitions: from each instant (seconds since the epoch, ascending) on, an offset.
  struct Zone {
    std::vector<std::int64_t> transitions;
    std::vector<std::int32_t> offsets;  // one per transition
    std::int32_t initial_offset = 0;    // before the first
  };
  // Reads a TZif file's bytes (RFC 8536, versions 1 to 4); nullopt when they are not one.
  static std::optional<Zone> Parse(const std::string& bytes);

 private:
  std::shared_ptr<const Zone> Find(const std::string& zone);

  std::string directory_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Zone>> zones_;  // null: known not to be a zone
};

// The process's zones, from the system's files.
TimeZones& SystemTimeZones();

}  // namespace lab_orders
