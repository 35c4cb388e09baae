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
#include "lab_orders/store/store_errors.h"

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
  // The writes below are the claiming attempt's: held_until is the lease its claim took, and a
  // key whose lease another attempt has taken since (this one outlived it) is not written.
  // Records checkpoint on the held, unfinished action key; throws LeaseLost when not held.
  virtual void CheckpointActionKey(const std::string& brand_id, const std::string& key,
                                   TimePoint held_until, const std::string& checkpoint) = 0;
  // Stores the answer (sealed) and ends the lease; nothing when not held (the attempt that
  // holds it stores its own).
  virtual void FinishActionKey(const std::string& brand_id, const std::string& key,
                               TimePoint held_until, int status, const std::string& body) = 0;
  // Gives the lease up, keeping the key and its checkpoint: the next attempt resumes.
  virtual void ReleaseActionKey(const std::string& brand_id, const std::string& key,
                                TimePoint held_until) = 0;
  // Frees the key for another request: only a held, unfinished action key with no checkpoint
  // (its action did nothing that a later request must know of) is deleted.
  virtual void ForgetActionKey(const std::string& brand_id, const std::string& key,
                               TimePoint held_until) = 0;
};

}  // namespace lab_orders::store
