#include "lab_orders/common/time_zone.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lab_orders {
namespace {

// A zone file is a few kilobytes; anything far bigger is not one.
constexpr std::size_t kMaxZoneFileBytes = 1 << 20;

// What may name a zone: letters, digits and _+-, in parts joined by '/', none of them "." or
// "..", so that a name never reaches outside the zone directory.
bool IsZoneName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
  std::stringstream parts(name);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '+' || c == '-';
      if (!ok) return false;
    }
  }
  return true;
}

// Big-endian integers of a TZif file, read with bounds checked.
class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  bool Has(std::size_t count) const { return bytes_.size() - at_ >= count; }
  void Skip(std::size_t count) { at_ += count; }
  std::size_t at() const { return at_; }
  std::uint64_t Unsigned(int width) {
    std::uint64_t value = 0;
    for (int i = 0; i < width; ++i) value = (value << 8) | std::uint8_t(bytes_[at_ + i]);
    at_ += width;
    return value;
  }
  std::int64_t Signed(int width) {
    std::uint64_t value = Unsigned(width);
    if (width < 8 && (value >> (width * 8 - 1)) != 0) value |= ~std::uint64_t(0) << (width * 8);
    return std::int64_t(value);
  }

 private:
  const std::string& bytes_;
  std::size_t at_ = 0;
};

struct Header {
  char version = 0;
  std::uint64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

std::optional<Header> ReadHeader(Reader& in, const std::string& bytes) {
  if (!in.Has(44) || bytes.compare(in.at(), 4, "TZif") != 0) return std::nullopt;
  Header header;
  header.version = bytes[in.at() + 4];
  in.Skip(20);
  header.isutcnt = in.Unsigned(4);
  header.isstdcnt = in.Unsigned(4);
  header.leapcnt = in.Unsigned(4);
  header.timecnt = in.Unsigned(4);
  header.typecnt = in.Unsigned(4);
  header.charcnt = in.Unsigned(4);
  if (header.typecnt == 0 || header.timecnt > 100000 || header.typecnt > 256) return std::nullopt;
  return header;
}

// The data block after a header, with times of time_width bytes (4 in version 1, 8 after).
std::size_t DataBytes(const Header& header, std::size_t time_width) {
  return header.timecnt * time_width + header.timecnt + header.typecnt * 6 + header.charcnt +
         header.leapcnt * (time_width + 4) + header.isstdcnt + header.isutcnt;
}

}  // namespace

TimeZones::TimeZones(std::string directory) : directory_(std::move(directory)) {
  if (directory_.empty()) {
    const char* from_environment = std::getenv("TZDIR");
    directory_ = from_environment && *from_environment ? from_environment : "/usr/share/zoneinfo";
  }
}

std::optional<TimeZones::Zone> TimeZones::Parse(const std::string& bytes) {
  Reader in(bytes);
  std::optional<Header> header = ReadHeader(in, bytes);
  if (!header) return std::nullopt;
  std::size_t time_width = 4;
  if (header->version >= '2') {
    // The version 1 block is for old readers: the 64-bit one after it is the whole story.
    if (!in.Has(DataBytes(*header, 4))) return std::nullopt;
    in.Skip(DataBytes(*header, 4));
    header = ReadHeader(in, bytes);
    if (!header) return std::nullopt;
    time_width = 8;
  }
  if (!in.Has(DataBytes(*header, time_width))) return std::nullopt;
  Zone zone;
  for (std::uint64_t i = 0; i < header->timecnt; ++i) {
    zone.transitions.push_back(in.Signed(int(time_width)));
  }
  std::vector<std::uint8_t> indices;
  for (std::uint64_t i = 0; i < header->timecnt; ++i)
    indices.push_back(std::uint8_t(in.Unsigned(1)));
  std::vector<std::int32_t> type_offsets;
  std::optional<std::int32_t> first_standard;
  for (std::uint64_t i = 0; i < header->typecnt; ++i) {
    const auto offset = std::int32_t(in.Signed(4));
    const bool dst = in.Unsigned(1) != 0;
    in.Skip(1);  // the abbreviation's index
    type_offsets.push_back(offset);
    if (!dst && !first_standard) first_standard = offset;
  }
  for (std::uint8_t index : indices) {
    if (index >= type_offsets.size()) return std::nullopt;
    zone.offsets.push_back(type_offsets[index]);
  }
  if (!std::is_sorted(zone.transitions.begin(), zone.transitions.end())) return std::nullopt;
  // Before the first transition: the first standard-time type (RFC 8536, 3.2), else the first.
  zone.initial_offset = first_standard.value_or(type_offsets.front());
  return zone;
}

std::shared_ptr<const TimeZones::Zone> TimeZones::Find(const std::string& name) {
  if (!IsZoneName(name)) return nullptr;
  {
    std::lock_guard lock(mutex_);
    if (auto found = zones_.find(name); found != zones_.end()) return found->second;
  }
  std::shared_ptr<const Zone> zone;
  std::ifstream file(directory_ + "/" + name, std::ios::binary);
  if (file) {
    std::string bytes(kMaxZoneFileBytes + 1, '\0');
    file.read(bytes.data(), std::streamsize(bytes.size()));
    bytes.resize(std::size_t(file.gcount()));
    if (bytes.size() <= kMaxZoneFileBytes) {
      if (std::optional<Zone> parsed = Parse(bytes)) {
        zone = std::make_shared<const Zone>(std::move(*parsed));
      }
    }
  }
  std::lock_guard lock(mutex_);
  // Bounded: there are about 600 zone names, and a name that is none is kept only that often.
  if (zones_.size() < 2048) zones_[name] = zone;
  return zone;
}

std::optional<std::chrono::seconds> TimeZones::OffsetAt(const std::string& name,
                                                        std::chrono::system_clock::time_point at) {
  std::shared_ptr<const Zone> zone = Find(name);
  if (!zone) return std::nullopt;
  const std::int64_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  auto after = std::upper_bound(zone->transitions.begin(), zone->transitions.end(), seconds);
  if (after == zone->transitions.begin()) return std::chrono::seconds(zone->initial_offset);
  return std::chrono::seconds(zone->offsets[std::size_t(after - zone->transitions.begin()) - 1]);
}

std::optional<int> TimeZones::LocalHour(const std::string& zone,
                                        std::chrono::system_clock::time_point at) {
  std::optional<std::chrono::seconds> offset = OffsetAt(zone, at);
  if (!offset) return std::nullopt;
  const auto local = std::chrono::floor<std::chrono::seconds>(at) + *offset;
  const auto since_midnight = local - std::chrono::floor<std::chrono::days>(local);
  return int(std::chrono::duration_cast<std::chrono::hours>(since_midnight).count());
}

TimeZones& SystemTimeZones() {
  static TimeZones zones;
  return zones;
}

}  // namespace lab_orders
