#pragma once

// Finished idempotency keys kept in memory, so that a replay (the common retry) reads no
// database. Safe across replicas because a finished key's answer never changes (the first answer
// wins); an entry is dropped a margin before any replica's reaper may delete the key's row, and
// the answer stays sealed as it is at rest.

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/store_errors.h"

namespace lab_orders::store {

struct FinishedKey {
  std::string fingerprint;
  std::string body_digest;  // "" when the key's row has none
  std::optional<std::string> order_id;
  int response_status = 0;
  std::string sealed_body;  // as stored: sealed with the key's associated data
  TimePoint created_at;
};

class FinishedKeys {
 public:
  // capacity: keys kept (least recently used go first); retention: how long the reaper keeps a
  // key (LAB_ORDERS_IDEMPOTENCY_TTL).
  FinishedKeys(std::size_t capacity, std::chrono::seconds retention, const Clock& clock);

  std::optional<FinishedKey> Find(const std::string& brand_id, const std::string& key);
  void Remember(const std::string& brand_id, const std::string& key, FinishedKey finished);
  // What the reaper deleted in this process goes at once.
  void ForgetCreatedBefore(TimePoint cutoff);

  // Replicas' clocks differ and their reapers run when they will: an entry goes this long before
  // its key's retention ends, after which the row is read again.
  static constexpr std::chrono::minutes kReaperMargin{5};

 private:
  struct Entry {
    std::string id;  // brand, NUL, key
    FinishedKey finished;
  };
  struct Shard {
    std::mutex mutex;
    std::list<Entry> recent;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> by_id;
  };
  static constexpr std::size_t kShards = 16;  // requests on different keys rarely wait

  Shard& ShardFor(const std::string& id);
  bool Expired(const FinishedKey& finished, TimePoint now) const;

  const std::size_t capacity_per_shard_;
  const std::chrono::seconds retention_;
  const Clock& clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace lab_orders::store
