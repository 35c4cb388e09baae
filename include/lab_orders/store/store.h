#pragma once

// Durable state: orders, idempotency keys with their recovery points, Junction users.
// Each method is one transaction: the local writes between two Junction calls commit together.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab_orders/orders/types.h"

namespace lab_orders::store {

using TimePoint = std::chrono::system_clock::time_point;

// How far the work behind an idempotency key got (Stripe-style recovery points).
enum class RecoveryPoint {
  kStarted,               // key claimed, nothing else yet
  kOrderRecorded,         // our order row exists (status "received")
  kUserEnsured,           // the Junction user id is known and stored on the order
  kJunctionOrderCreated,  // Junction's order id is stored (status "ordered")
  kFinished,              // the answer is stored and replays
};
const char* RecoveryPointName(RecoveryPoint point);

struct IdempotencyRecord {
  std::string brand_id;
  std::string key;
  std::string fingerprint;  // hex SHA-256 of method, path and canonical body
  RecoveryPoint recovery_point = RecoveryPoint::kStarted;
  std::optional<std::string> order_id;
  std::optional<int> response_status;
  std::optional<std::string> response_body;
  TimePoint created_at;
};

enum class ClaimResult {
  kNew,                  // inserted, and this caller holds the lease
  kResumed,              // existed unfinished with no live lease: this caller now holds it
  kFinished,             // existed with a stored answer: replay it
  kInProgress,           // another caller holds a live lease
  kFingerprintMismatch,  // same key, different request
};

struct Claim {
  ClaimResult result;
  IdempotencyRecord record;
};

// The store cannot be reached or answered with an error: a 503, never a lost write.
struct StoreUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending versioned migrations; idempotent.
  virtual void Migrate() = 0;
  // Reachable, and every migration applied.
  virtual bool Ready() = 0;

  // Atomically claims (brand_id, key) for one caller until lease_until.
  virtual Claim ClaimKey(const std::string& brand_id, const std::string& key,
                         const std::string& fingerprint, TimePoint now, TimePoint lease_until) = 0;
  // Gives the lease up without finishing (after a 502): the next claim resumes.
  virtual void ReleaseKey(const std::string& brand_id, const std::string& key) = 0;

  // Phase commits. Each writes its rows and moves the key's recovery point in one transaction.
  virtual void RecordOrder(const std::string& key, const orders::LabOrder& order) = 0;
  virtual void SaveJunctionUser(const std::string& brand_id, const std::string& key,
                                const std::string& order_id, const std::string& client_user_id,
                                const std::string& junction_user_id, TimePoint now) = 0;
  virtual void SaveJunctionOrder(const std::string& brand_id, const std::string& key,
                                 const std::string& order_id, const std::string& junction_order_id,
                                 const std::string& status, TimePoint now) = 0;
  virtual void FinishKey(const std::string& brand_id, const std::string& key, int status,
                         const std::string& body) = 0;

  virtual std::optional<std::string> FindJunctionUser(const std::string& client_user_id) = 0;
  virtual std::optional<orders::LabOrder> GetOrder(const std::string& brand_id,
                                                   const std::string& order_id) = 0;
  // Newest first; cursor is the last id of the previous page (opaque to callers).
  virtual std::vector<orders::LabOrder> ListOrders(const std::string& brand_id,
                                                   const std::optional<std::string>& status,
                                                   int limit,
                                                   const std::optional<std::string>& cursor) = 0;

  // Deletes keys created before the cutoff; returns how many.
  virtual int ReapKeys(TimePoint created_before) = 0;
};

}  // namespace lab_orders::store
