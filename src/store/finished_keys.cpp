#include "store/finished_keys.h"

#include <functional>
#include <utility>

namespace lab_orders::store {
namespace {

std::string EntryId(const std::string& brand_id, const std::string& key) {
  std::string id;
  id.reserve(brand_id.size() + 1 + key.size());
  id.append(brand_id).push_back('\0');
  id.append(key);
  return id;
}

}  // namespace

FinishedKeys::FinishedKeys(std::size_t capacity, std::chrono::seconds retention, const Clock& clock)
    : capacity_per_shard_((capacity + kShards - 1) / kShards),
      retention_(retention),
      clock_(clock) {}

FinishedKeys::Shard& FinishedKeys::ShardFor(const std::string& id) {
  return shards_[std::hash<std::string>{}(id) % kShards];
}

bool FinishedKeys::Expired(const FinishedKey& finished, TimePoint now) const {
  return now >= finished.created_at + retention_ - kReaperMargin;
}

std::optional<FinishedKey> FinishedKeys::Find(const std::string& brand_id, const std::string& key) {
  const std::string id = EntryId(brand_id, key);
  Shard& shard = ShardFor(id);
  const TimePoint now = clock_.Now();
  std::lock_guard lock(shard.mutex);
  auto found = shard.by_id.find(id);
  if (found == shard.by_id.end()) return std::nullopt;
  if (Expired(found->second->finished, now)) {
    shard.recent.erase(found->second);
    shard.by_id.erase(found);
    return std::nullopt;
  }
  shard.recent.splice(shard.recent.begin(), shard.recent, found->second);
  return found->second->finished;
}

void FinishedKeys::Remember(const std::string& brand_id, const std::string& key,
                            FinishedKey finished) {
  if (capacity_per_shard_ == 0 || Expired(finished, clock_.Now())) return;
  std::string id = EntryId(brand_id, key);
  Shard& shard = ShardFor(id);
  std::lock_guard lock(shard.mutex);
  if (shard.by_id.contains(id)) return;  // the same answer: it never changes
  shard.recent.push_front(Entry{id, std::move(finished)});
  shard.by_id.emplace(std::move(id), shard.recent.begin());
  if (shard.recent.size() > capacity_per_shard_) {
    shard.by_id.erase(shard.recent.back().id);
    shard.recent.pop_back();
  }
}

void FinishedKeys::ForgetCreatedBefore(TimePoint cutoff) {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto entry = shard.recent.begin(); entry != shard.recent.end();) {
      if (entry->finished.created_at < cutoff) {
        shard.by_id.erase(entry->id);
        entry = shard.recent.erase(entry);
      } else {
        ++entry;
      }
    }
  }
}

}  // namespace lab_orders::store
