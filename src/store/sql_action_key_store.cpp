// SqlStore's keys of the actions (the ActionKeyStore interface), in the keys' own table.

#include <stdexcept>
#include <string>

#include "lab_orders/store/sql_store.h"
#include "store/row_codecs.h"
#include "store/sql_session.h"
#include "store/sql_transact.h"

namespace lab_orders::store {

ActionClaim SqlStore::ClaimActionKey(const std::string& brand_id, const std::string& key,
                                     std::string_view action, const RequestIdentity& request,
                                     TimePoint now, TimePoint lease_until) {
  return Transact("ClaimActionKey", TransactionKind::kWrite, [&](SqlSession& db) {
    // Of two callers racing on one new key (in two processes, perhaps), exactly one inserts it.
    Statement insert = db.Query(
        "INSERT INTO idempotency_keys (brand_id, key, fingerprint, recovery_point, order_id, "
        "locked_until, created_at, body_digest, action) "
        "VALUES (?1, ?2, ?3, 'started', NULL, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (brand_id, key) DO NOTHING");
    insert.Bind(1, brand_id)
        .Bind(2, key)
        .Bind(3, request.fingerprint)
        .Bind(4, EpochMillis(lease_until))
        .Bind(5, EpochMillis(now))
        .Bind(6, request.body_digest.empty() ? std::nullopt
                                             : std::optional<std::string>(request.body_digest))
        .Bind(7, std::string(action));
    if (insert.Run() == 1) {
      return ActionClaim{ClaimResult::kNew,
                         InsertedKeyRecord(brand_id, key, request, RecoveryPoint::kStarted, now),
                         std::nullopt};
    }
    Statement select = db.Query(std::string("SELECT ") + kKeyColumns +
                                ", locked_until, action, checkpoint FROM idempotency_keys "
                                "WHERE brand_id = ?1 AND key = ?2" +
                                std::string(db.ForUpdate()));
    select.Bind(1, brand_id).Bind(2, key);
    if (!select.Step()) {
      // The request holding it was refused and freed it between the two statements: the key is
      // free again, and the retry this answer invites claims it.
      return ActionClaim{ClaimResult::kInProgress,
                         InsertedKeyRecord(brand_id, key, request, RecoveryPoint::kStarted, now),
                         std::nullopt};
    }
    IdempotencyRecord record = ReadKeyRow(select, cipher_);
    const std::optional<std::int64_t> locked_until = select.OptionalInteger(kKeyColumnCount);
    const bool is_action = select.OptionalText(kKeyColumnCount + 1).has_value();
    std::optional<std::string> checkpoint = select.OptionalText(kKeyColumnCount + 2);
    // Another request under the key, an order's included, is refused in whatever state it is.
    if (record.fingerprint != request.fingerprint || !is_action) {
      return ActionClaim{ClaimResult::kFingerprintMismatch, std::move(record), std::nullopt};
    }
    if (record.recovery_point == RecoveryPoint::kFinished) {
      return ActionClaim{ClaimResult::kFinished, std::move(record), std::nullopt};
    }
    if (locked_until && *locked_until > EpochMillis(now)) {
      return ActionClaim{ClaimResult::kInProgress, std::move(record), std::nullopt};
    }
    Statement update =
        db.Query("UPDATE idempotency_keys SET locked_until = ?3 WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, brand_id).Bind(2, key).Bind(3, EpochMillis(lease_until)).Run();
    return ActionClaim{ClaimResult::kResumed, std::move(record), std::move(checkpoint)};
  });
}

void SqlStore::CheckpointActionKey(const std::string& brand_id, const std::string& key,
                                   TimePoint held_until, const std::string& checkpoint) {
  Transact("CheckpointActionKey", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE idempotency_keys SET checkpoint = ?4 WHERE brand_id = ?1 AND key = ?2 "
        "AND action IS NOT NULL AND recovery_point = 'started' AND locked_until = ?3");
    update.Bind(1, brand_id).Bind(2, key).Bind(3, EpochMillis(held_until)).Bind(4, checkpoint);
    if (update.Run() != 1) {
      throw LeaseLost("store: the action key is no longer held by this attempt");
    }
  });
}

void SqlStore::FinishActionKey(const std::string& brand_id, const std::string& key,
                               TimePoint held_until, int status, const std::string& body) {
  // The body is sealed: an answer may carry a secret (a webhook endpoint's).
  const std::string sealed_body = cipher_.Encrypt(body, ResponseAssociatedData(brand_id, key));
  Transact("FinishActionKey", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE idempotency_keys SET response_status = ?4, response_body = ?5, "
        "recovery_point = 'finished', locked_until = NULL WHERE brand_id = ?1 AND key = ?2 "
        "AND action IS NOT NULL AND recovery_point = 'started' AND locked_until = ?3");
    update.Bind(1, brand_id)
        .Bind(2, key)
        .Bind(3, EpochMillis(held_until))
        .Bind(4, std::int64_t{status})
        .Bind(5, sealed_body)
        .Run();
  });
}

void SqlStore::ReleaseActionKey(const std::string& brand_id, const std::string& key,
                                TimePoint held_until) {
  Transact("ReleaseActionKey", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE idempotency_keys SET locked_until = NULL WHERE brand_id = ?1 AND key = ?2 "
        "AND action IS NOT NULL AND locked_until = ?3");
    update.Bind(1, brand_id).Bind(2, key).Bind(3, EpochMillis(held_until)).Run();
  });
}

void SqlStore::ForgetActionKey(const std::string& brand_id, const std::string& key,
                               TimePoint held_until) {
  Transact("ForgetActionKey", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement remove = db.Query(
        "DELETE FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2 AND action IS NOT NULL "
        "AND recovery_point = 'started' AND checkpoint IS NULL AND locked_until = ?3");
    remove.Bind(1, brand_id).Bind(2, key).Bind(3, EpochMillis(held_until)).Run();
  });
}

}  // namespace lab_orders::store
