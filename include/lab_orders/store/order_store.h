#pragma once

// Keys and orders: idempotency keys with their recovery points, the orders they record, and the
// patients' Junction users. Each method is one transaction: the local writes between two Junction
// calls commit together, three commits for a new order (two when the patient's Junction user is
// known).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/model/order.h"
#include "lab_orders/store/job_store.h"
#include "lab_orders/store/store_errors.h"

namespace lab_orders::store {

// How far the work behind an idempotency key got (Stripe-style recovery points).
enum class RecoveryPoint {
  kStarted,               // key claimed, nothing else yet (older versions only: a key is now
                          // claimed together with its order)
  kOrderRecorded,         // our order row exists (status "received")
  kUserEnsured,           // the Junction user id is known and stored on the order
  kJunctionOrderCreated,  // Junction's order id is stored (status "ordered"); older versions
                          // only: the answer is now stored in the same commit
  kFinished,              // the answer is stored and replays
};
const char* RecoveryPointName(RecoveryPoint point);

// What the request that claims a key is known by.
struct RequestIdentity {
  RequestIdentity() = default;
  RequestIdentity(std::string fingerprint, std::string body_digest = {})
      : fingerprint(std::move(fingerprint)), body_digest(std::move(body_digest)) {}

  std::string fingerprint;  // hex SHA-256 of method, path and canonical body: the same request
  // Hex SHA-256 of method, path and the body's bytes as sent ("" when unknown): a retry with the
  // same bytes is the same request without its body being parsed again.
  std::string body_digest;

  bool operator==(const RequestIdentity&) const = default;
};

struct IdempotencyRecord {
  std::string brand_id;
  std::string key;
  std::string fingerprint;  // hex SHA-256 of method, path and canonical body
  std::string body_digest;  // RequestIdentity::body_digest of the request that claimed the key
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

class OrderStore {
 public:
  virtual ~OrderStore() = default;

  // The key's stored answer when it is finished (replays read this row and nothing else);
  // nullopt when it is unknown or unfinished.
  virtual std::optional<IdempotencyRecord> FindFinishedKey(const std::string& brand_id,
                                                           const std::string& key) = 0;
  // The same answer when it is already in memory (the finished-key cache), nullopt otherwise:
  // never waits for the database, so the HTTP layer may answer a replay on its I/O thread and
  // hand only the rest to a worker. A store that keeps nothing in memory always says nullopt.
  virtual std::optional<IdempotencyRecord> FindFinishedKeyInMemory(const std::string& brand_id,
                                                                   const std::string& key) = 0;
  // Atomically claims (brand_id, key) for one caller until lease_until. A new key is stored
  // together with new_order (its first phase: recovery point kOrderRecorded) in one commit; an
  // existing key keeps the order it has, and new_order is not stored.
  virtual Claim ClaimKey(const std::string& brand_id, const std::string& key,
                         const RequestIdentity& request, TimePoint now, TimePoint lease_until,
                         const model::LabOrder& new_order) = 0;
  // Gives the lease up without finishing (after a 502): the next claim resumes.
  virtual void ReleaseKey(const std::string& brand_id, const std::string& key) = 0;

  // Phase commits. Each writes its rows and moves the key's recovery point in one transaction,
  // with a guarded UPDATE from the point before it: a phase never runs twice or backwards.
  // Only when the patient's Junction user is new: the mapping is stored and the key moved; the
  // order row takes the user with the Junction order (SaveJunctionOrder).
  virtual void SaveJunctionUser(const std::string& brand_id, const std::string& key,
                                const std::string& order_id, const std::string& client_user_id,
                                const std::string& junction_user_id, TimePoint now) = 0;
  // The last phase: order is the order as it now is (its Junction user and order ids, status
  // and updated_at set, version one up), written with its first workflow step, its brand events
  // and the finished answer, in one commit.
  virtual void SaveJunctionOrder(const std::string& key, const model::LabOrder& order,
                                 const NewJob& first_step, int status, const std::string& body) = 0;
  // Stores the answer of a key whose Junction order was saved by itself (an older version's
  // junction_order_created). A finished key keeps its first answer.
  virtual void FinishKey(const std::string& brand_id, const std::string& key, int status,
                         const std::string& body) = 0;

  virtual std::optional<std::string> FindJunctionUser(const std::string& client_user_id) = 0;
  virtual std::optional<model::LabOrder> GetOrder(const std::string& brand_id,
                                                  const std::string& order_id) = 0;
  // Newest first; cursor is the last id of the previous page (opaque to callers).
  virtual std::vector<model::LabOrder> ListOrders(const std::string& brand_id,
                                                  const std::optional<std::string>& status,
                                                  int limit,
                                                  const std::optional<std::string>& cursor) = 0;

  // Whether a request claimed the key and has not finished it (it is leased, or may be resumed).
  virtual bool KeyUnfinished(const std::string& brand_id, const std::string& key) = 0;
};

// The keys' upkeep, beside the requests: the reaper and the completer.
class KeyMaintenance {
 public:
  virtual ~KeyMaintenance() = default;
  // Deletes keys created before the cutoff; returns how many. Junction webhook receipts and
  // finished jobs older than the cutoff go too (Junction retries a webhook for about a day).
  virtual int ReapKeys(TimePoint created_before) = 0;
  // For the completer: unfinished keys created before the cutoff that have an order recorded
  // and no live lease, each now leased to the caller until lease_until. At most limit of them.
  virtual std::vector<IdempotencyRecord> ClaimStaleKeys(TimePoint created_before, TimePoint now,
                                                        TimePoint lease_until, int limit) = 0;
};

}  // namespace lab_orders::store
