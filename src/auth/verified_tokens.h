#pragma once

// Tokens already verified, so that a client sending the same bearer token on every request pays
// for its signature and JSON once. Keyed by the whole token, signature included: only the same
// bytes find an entry, and only tokens that verified are kept. The time claims are checked again
// on every use, exactly as a full verification checks them.

#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "lab_orders/auth/jwt.h"

namespace lab_orders::auth {

struct VerifiedToken {
  Principal principal;
  double expires_at;                 // "exp", seconds since the epoch
  std::optional<double> not_before;  // "nbf"
};

class VerifiedTokens {
 public:
  // Tokens longer than this are verified each time rather than kept.
  static constexpr std::size_t kMaxTokenBytes = 2048;

  explicit VerifiedTokens(std::size_t capacity);

  std::optional<VerifiedToken> Find(std::string_view token) const;
  void Remember(std::string_view token, VerifiedToken verified);

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, VerifiedToken> tokens;
  };
  Shard& ShardFor(std::string_view token) const;

  const std::size_t capacity_per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace lab_orders::auth
