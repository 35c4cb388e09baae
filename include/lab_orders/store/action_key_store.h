#pragma once

// Idempotency keys of the actions: every POST but order creation (cancel, book, the brand webhook
// routes). They share the keys' table, and so their scope, with order creation: one key names one
// request of a brand, whichever route it went to. An action key is only ever "started" (claimed,
// unfinished) or "finished", and has no order: the order-creation completer never takes one.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/order_store.h"

namespace lab_orders::store {

struct ActionClaim {
  ClaimResult result;
  IdempotencyRecord record;  // on kFinished: the answer to replay
  // What an earlier attempt under the key recorded before a call it could not repeat (kResumed).
  std::optional<std::string> checkpoint;
};

// What an action sees of its key: what an earlier attempt recorded, and how to record durably,
// before a call that must not be made twice, what a resumed attempt needs to know. Ids only,
// never PHI or a secret. A keyless request has none.
struct ActionCheckpoint {
  std::optional<std::string> saved;
  std::function<void(const std::string&)> save;
};

// A text field of the checkpoint an earlier attempt saved as a JSON object: nullopt without a
// key, without a saved checkpoint, or without the field (or with it null).
std::optional<std::string> SavedField(const ActionCheckpoint* key, const char* name);

class ActionKeyStore {
 public:
  virtual ~ActionKeyStore() = default;

  // Claims (brand_id, key) for the request, leased until lease_until, or says why not: another
  // request under the key (kFingerprintMismatch, an order's key included), an answer to replay
  // (kFinished), a live lease (kInProgress), or an unfinished key taken over (kResumed).
  virtual ActionClaim ClaimActionKey(const std::string& brand_id, const std::string& key,
                                     std::string_view action, const RequestIdentity& request,
                                     TimePoint now, TimePoint lease_until) = 0;
  // Records checkpoint on the claimed, unfinished action key.
  virtual void CheckpointActionKey(const std::string& brand_id, const std::string& key,
                                   const std::string& checkpoint) = 0;
  // Stores the answer; the first one wins, as for every key.
  virtual void FinishActionKey(const std::string& brand_id, const std::string& key, int status,
                               const std::string& body) = 0;
  // Gives the lease up, keeping the key and its checkpoint: the next attempt resumes.
  virtual void ReleaseActionKey(const std::string& brand_id, const std::string& key) = 0;
  // Frees the key for another request: only an unfinished action key with no checkpoint (its
  // action did nothing that a later request must know of) is deleted.
  virtual void ForgetActionKey(const std::string& brand_id, const std::string& key) = 0;
};

}  // namespace lab_orders::store
