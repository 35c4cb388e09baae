#include "auth/verified_tokens.h"

#include <functional>
#include <utility>

namespace lab_orders::auth {

VerifiedTokens::VerifiedTokens(std::size_t capacity)
    : capacity_per_shard_((capacity + kShards - 1) / kShards) {}

VerifiedTokens::Shard& VerifiedTokens::ShardFor(std::string_view token) const {
  return shards_[std::hash<std::string_view>{}(token) % kShards];
}

std::optional<VerifiedToken> VerifiedTokens::Find(std::string_view token) const {
  if (token.size() > kMaxTokenBytes) return std::nullopt;
  Shard& shard = ShardFor(token);
  std::lock_guard lock(shard.mutex);
  auto found = shard.tokens.find(std::string(token));
  if (found == shard.tokens.end()) return std::nullopt;
  return found->second;
}

void VerifiedTokens::Remember(std::string_view token, VerifiedToken verified) {
  if (token.size() > kMaxTokenBytes || capacity_per_shard_ == 0) return;
  Shard& shard = ShardFor(token);
  std::lock_guard lock(shard.mutex);
  // Full: start the shard afresh. Clients reuse a few tokens each until they expire, so the live
  // ones come back at once; and a flood of distinct tokens costs no more than no cache.
  if (shard.tokens.size() >= capacity_per_shard_) shard.tokens.clear();
  shard.tokens.insert_or_assign(std::string(token), std::move(verified));
}

}  // namespace lab_orders::auth
