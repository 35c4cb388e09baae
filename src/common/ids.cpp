#include "lab_orders/common/ids.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>

#include "lab_orders/common/encoding.h"

namespace lab_orders {
namespace {

// 16 random bytes as a version 4 UUID.
std::string UuidV4(std::string bytes) {
  bytes[6] = char((bytes[6] & 0x0F) | 0x40);
  bytes[8] = char((bytes[8] & 0x3F) | 0x80);
  const std::string hex = HexEncode(bytes);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace

std::string NewRandomUuid() { return UuidV4(RandomBytes(16)); }

std::string NewRequestId() {
  thread_local std::mt19937_64 generator = [] {
    const std::string seed = RandomBytes(32);
    std::seed_seq sequence(seed.begin(), seed.end());
    return std::mt19937_64(sequence);
  }();
  std::string bytes(16, '\0');
  for (std::size_t i = 0; i < 16; i += 8) {
    const std::uint64_t word = generator();
    std::memcpy(bytes.data() + i, &word, 8);
  }
  return UuidV4(std::move(bytes));
}

std::string NewTimeOrderedUuid() {
  // UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then randomness. Ids made later sort
  // later, so "newest first" holds among orders made within the same second.
  std::string bytes = RandomBytes(16);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  for (int i = 5; i >= 0; --i) {
    bytes[size_t(i)] = char(millis & 0xFF);
    millis >>= 8;
  }
  bytes[6] = char((bytes[6] & 0x0F) | 0x70);
  bytes[8] = char((bytes[8] & 0x3F) | 0x80);
  std::string hex = HexEncode(bytes);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string RandomIdGenerator::NewUuid() { return NewTimeOrderedUuid(); }

bool IsUuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace lab_orders
