// SqlStore's keys and orders (the OrderStore interface).

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/store/sql_store.h"
#include "store/finished_keys.h"
#include "store/outbox.h"
#include "store/row_codecs.h"
#include "store/sql_session.h"
#include "store/sql_transact.h"

namespace lab_orders::store {
namespace {

using std::chrono::system_clock;

// What a guarded write that must change one row throws when it did not: a bug in the caller.
SqlSession::DeferredCheck BugUnlessOneRow(const char* otherwise) {
  return [otherwise](std::int64_t) { throw std::logic_error(otherwise); };
}

// Says why a phase's guarded UPDATE of the key moved nothing. Recovery points only move forward:
// a phase for a missing key, a finished key, a key already past the phase or a key of another
// order is a bug in the caller, and committing it could lose track of a Junction order.
[[noreturn]] void ThrowWhyPhaseRefused(SqlSession& connection, const std::string& brand_id,
                                       const std::string& key, const std::string& order_id,
                                       RecoveryPoint target) {
  Statement select = connection.Query(
      "SELECT recovery_point, order_id FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2");
  select.Bind(1, brand_id).Bind(2, key);
  if (!select.Step()) throw std::logic_error("store: no such idempotency key");
  const RecoveryPoint point = ParseRecoveryPoint(select.Text(0));
  if (point == RecoveryPoint::kFinished) {
    throw std::logic_error("store: the idempotency key is already finished");
  }
  if (select.OptionalText(1) != order_id) {
    throw std::logic_error("store: no such order recorded under this idempotency key");
  }
  if (point >= target) throw std::logic_error("store: the recovery point would move backwards");
  throw std::logic_error("store: the recovery point would jump a phase");
}

// Stores the answer on an unfinished key. The first answer wins: a replay must never change.
// Returns the rows changed (0 when the key is finished, or missing).
std::int64_t FinishKeyRow(SqlSession& connection, const std::string& brand_id,
                          const std::string& key, int status, const std::string& sealed_body) {
  Statement update = connection.Query(
      "UPDATE idempotency_keys SET response_status = ?3, response_body = ?4, "
      "recovery_point = 'finished', locked_until = NULL WHERE brand_id = ?1 AND key = ?2 "
      "AND recovery_point <> 'finished'");
  return update.Bind(1, brand_id)
      .Bind(2, key)
      .Bind(3, std::int64_t{status})
      .Bind(4, sealed_body)
      .Run();
}

// A new order's row, every value checked and sealed before a transaction starts.
struct OrderRow {
  const model::LabOrder& order;
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> completed_at;
  std::string sealed_phi;
  std::string workflow;
  std::string metadata;
};

OrderRow PrepareOrderRow(const model::LabOrder& order, const PhiCipher& cipher) {
  return OrderRow{order,
                  CanonicalTimestamp(order.created_at, "created_at"),
                  CanonicalTimestamp(order.updated_at, "updated_at"),
                  CanonicalTimestamp(order.completed_at, "completed_at"),
                  cipher.Encrypt(PhiDocument(order), PhiAssociatedData(order.id)),
                  WorkflowDocument(order.workflow),
                  nlohmann::json(order.metadata).dump()};
}

void InsertOrderRow(SqlSession& connection, const OrderRow& row) {
  const model::LabOrder& order = row.order;
  Statement insert = connection.Query(
      "INSERT INTO lab_orders (id, brand_id, user_id, patient_id, panel_slug, status, "
      "total_cents, currency, junction_user_id, junction_order_id, created_at, updated_at, "
      "completed_at, phi, workflow, version, external_order_id, metadata) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
  insert.Bind(1, order.id)
      .Bind(2, order.brand_id)
      .Bind(3, order.user_id)
      .Bind(4, order.patient_id)
      .Bind(5, order.panel_slug)
      .Bind(6, order.status)
      .Bind(7, order.total_cents)
      .Bind(8, order.currency)
      .Bind(9, order.junction_user_id)
      .Bind(10, order.junction_order_id)
      .Bind(11, row.created_at)
      .Bind(12, row.updated_at)
      .Bind(13, row.completed_at)
      .Bind(14, row.sealed_phi)
      .Bind(15, row.workflow)
      .Bind(16, order.version)
      .Bind(17, order.external_order_id)
      .Bind(18, row.metadata)
      .Defer();
}

// Reads kJobColumns, the first columns of row.
}  // namespace

// A finished key's answer as a replay needs it, its sealed body opened.
IdempotencyRecord SqlStore::FinishedRecord(const std::string& brand_id, const std::string& key,
                                           const FinishedKey& finished) const {
  IdempotencyRecord record;
  record.brand_id = brand_id;
  record.key = key;
  record.fingerprint = finished.fingerprint;
  record.body_digest = finished.body_digest;
  record.recovery_point = RecoveryPoint::kFinished;
  record.order_id = finished.order_id;
  record.response_status = finished.response_status;
  record.response_body =
      cipher_.Decrypt(finished.sealed_body, ResponseAssociatedData(brand_id, key));
  record.created_at = finished.created_at;
  return record;
}

std::optional<IdempotencyRecord> SqlStore::FindFinishedKeyInMemory(const std::string& brand_id,
                                                                   const std::string& key) {
  // A finished key never changes again: its answer may come from memory.
  if (!finished_keys_) return std::nullopt;
  std::optional<FinishedKey> cached = finished_keys_->Find(brand_id, key);
  if (!cached) return std::nullopt;
  return FinishedRecord(brand_id, key, *cached);
}

std::optional<IdempotencyRecord> SqlStore::FindFinishedKey(const std::string& brand_id,
                                                           const std::string& key) {
  if (std::optional<IdempotencyRecord> remembered = FindFinishedKeyInMemory(brand_id, key)) {
    return remembered;
  }
  // One statement on the key row alone, so its replay needs no transaction, no lock and no order.
  std::optional<FinishedKey> finished = Transact(
      "FindFinishedKey", TransactionKind::kRead, [&](SqlSession& db) -> std::optional<FinishedKey> {
        Statement select = db.Query(
            "SELECT fingerprint, order_id, response_status, response_body, created_at, "
            "body_digest FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2 "
            "AND recovery_point = 'finished'");
        select.Bind(1, brand_id).Bind(2, key);
        if (!select.Step()) return std::nullopt;
        return FinishedKey{select.Text(0),         select.OptionalText(5).value_or(""),
                           select.OptionalText(1), static_cast<int>(select.Integer(2)),
                           select.Text(3),         FromEpochMillis(select.Integer(4))};
      });
  if (!finished) return std::nullopt;
  IdempotencyRecord record =
      FinishedRecord(brand_id, key, *finished);  // decrypted first: only a good one is kept
  if (finished_keys_) finished_keys_->Remember(brand_id, key, std::move(*finished));
  return record;
}

Claim SqlStore::ClaimKey(const std::string& brand_id, const std::string& key,
                         const RequestIdentity& request, TimePoint now, TimePoint lease_until,
                         const model::LabOrder& new_order) {
  if (new_order.brand_id != brand_id) {
    throw std::logic_error("store: the new order belongs to another brand");
  }
  // Everything that can fail without the database is done before the transaction starts.
  const OrderRow row = PrepareOrderRow(new_order, cipher_);
  // The order first (the key refers to it), then the key. Of two callers racing on one new key
  // (in two processes, perhaps), exactly one inserts the key.
  auto insert_key = [&](SqlSession& db) {
    Statement insert = db.Query(
        "INSERT INTO idempotency_keys "
        "(brand_id, key, fingerprint, recovery_point, order_id, locked_until, created_at, "
        "body_digest) VALUES (?1, ?2, ?3, 'order_recorded', ?4, ?5, ?6, ?7) "
        "ON CONFLICT (brand_id, key) DO NOTHING");
    insert.Bind(1, brand_id)
        .Bind(2, key)
        .Bind(3, request.fingerprint)
        .Bind(4, new_order.id)
        .Bind(5, EpochMillis(lease_until))
        .Bind(6, EpochMillis(now))
        .Bind(7, request.body_digest.empty() ? std::nullopt
                                             : std::optional<std::string>(request.body_digest));
    return insert;
  };
  auto claimed_new = [&] {
    IdempotencyRecord record =
        InsertedKeyRecord(brand_id, key, request, RecoveryPoint::kOrderRecorded, now);
    record.order_id = new_order.id;
    return Claim{ClaimResult::kNew, std::move(record)};
  };

  // The common case, a new key: both inserts go with the COMMIT (on PostgreSQL, one round trip),
  // the key's held to one row. A key that is there already rolls the order back with it, and the
  // transaction below reads the key.
  struct KeyTaken {};
  try {
    return Transact("ClaimKey", TransactionKind::kWrite, [&](SqlSession& db) {
      InsertOrderRow(db, row);
      insert_key(db).DeferExpecting(1, [](std::int64_t) { throw KeyTaken{}; });
      return claimed_new();
    });
  } catch (const KeyTaken&) {
  }

  return Transact("ClaimKey", TransactionKind::kWrite, [&](SqlSession& db) {
    // The same inserts, the key's result read: the key may have gone since (reaped), and a
    // caller that loses the race waits for the winner's row, takes its own order out again and
    // reads the key below.
    InsertOrderRow(db, row);
    if (insert_key(db).Run() == 1) return claimed_new();
    Statement select =
        db.Query(std::string("SELECT ") + kKeyColumns +
                 ", locked_until FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2" +
                 std::string(db.ForUpdate()));
    select.Bind(1, brand_id).Bind(2, key);
    if (!select.Step()) throw std::logic_error("store: an idempotency key vanished while claimed");
    IdempotencyRecord record = ReadKeyRow(select, cipher_);
    const std::optional<std::int64_t> locked_until = select.OptionalInteger(kKeyColumnCount);

    // A key claimed before its order was recorded with it (a version that committed the two
    // apart) takes this order now; any other keeps its own, and this one goes again.
    const bool adopt = record.fingerprint == request.fingerprint && !record.order_id &&
                       record.recovery_point == RecoveryPoint::kStarted &&
                       !(locked_until && *locked_until > EpochMillis(now));
    if (!adopt) {
      Statement remove = db.Query("DELETE FROM lab_orders WHERE id = ?1");
      remove.Bind(1, new_order.id).Run();
    }
    // A different request under a used key is refused whatever state the key is in.
    if (record.fingerprint != request.fingerprint) {
      return Claim{ClaimResult::kFingerprintMismatch, std::move(record)};
    }
    if (record.recovery_point == RecoveryPoint::kFinished) {
      return Claim{ClaimResult::kFinished, std::move(record)};
    }
    if (locked_until && *locked_until > EpochMillis(now)) {
      return Claim{ClaimResult::kInProgress, std::move(record)};
    }
    Statement update = db.Query(
        "UPDATE idempotency_keys SET locked_until = ?3, order_id = COALESCE(order_id, ?4), "
        "recovery_point = CASE WHEN order_id IS NULL THEN 'order_recorded' ELSE recovery_point "
        "END WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, brand_id).Bind(2, key).Bind(3, EpochMillis(lease_until)).Bind(4, new_order.id);
    update.Run();
    if (adopt) {
      record.order_id = new_order.id;
      record.recovery_point = RecoveryPoint::kOrderRecorded;
    }
    return Claim{ClaimResult::kResumed, std::move(record)};
  });
}

void SqlStore::ReleaseKey(const std::string& brand_id, const std::string& key) {
  // A missing key is not an error here: this runs on failure paths, where a throw would hide the
  // failure being reported.
  Transact("ReleaseKey", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement update = db.Query(
        "UPDATE idempotency_keys SET locked_until = NULL WHERE brand_id = ?1 AND key = ?2");
    update.Bind(1, brand_id).Bind(2, key).Run();
  });
}

bool SqlStore::KeyUnfinished(const std::string& brand_id, const std::string& key) {
  return Transact("KeyUnfinished", TransactionKind::kRead, [&](SqlSession& db) {
    Statement select = db.Query(
        "SELECT 1 FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2 "
        "AND recovery_point <> 'finished'");
    select.Bind(1, brand_id).Bind(2, key);
    return select.Step();
  });
}

void SqlStore::SaveJunctionUser(const std::string& brand_id, const std::string& key,
                                const std::string& order_id, const std::string& client_user_id,
                                const std::string& junction_user_id, TimePoint now) {
  const std::string timestamp = FormatRfc3339(now);
  // Redoable: lost in a crash, the resumed request finds no mapping, asks Junction again (which
  // answers with the same user) and saves it again; and the Junction order's commit that must
  // follow before anything is answered makes it durable with itself. So it costs no flush of its
  // own.
  struct PhaseRefused {};
  try {
    Transact("SaveJunctionUser", TransactionKind::kRedoableWrite, [&](SqlSession& db) {
      // The phase moves the key forward from the point before it, or repeats (a request that
      // outlived its lease and the completer can both get here; the mapping is the same). The
      // two writes go together (deferred), the key's move held to one row (on PostgreSQL by the
      // server, so the COMMIT goes in the same round trip). The order row is not written: it
      // takes its Junction user with its Junction order, in the last phase, and a resume from
      // here finds the user in the mapping.
      Statement advance = db.Query(
          "UPDATE idempotency_keys SET recovery_point = 'user_ensured' WHERE brand_id = ?1 "
          "AND key = ?2 AND order_id = ?3 AND recovery_point IN ('order_recorded', "
          "'user_ensured')");
      advance.Bind(1, brand_id).Bind(2, key).Bind(3, order_id).DeferExpecting(1, [](std::int64_t) {
        throw PhaseRefused{};  // rolls back what went with it
      });

      Statement upsert = db.Query(
          "INSERT INTO junction_users (client_user_id, junction_user_id, created_at) "
          "VALUES (?1, ?2, ?3) "
          "ON CONFLICT (client_user_id) DO UPDATE SET junction_user_id = "
          "excluded.junction_user_id");
      upsert.Bind(1, client_user_id).Bind(2, junction_user_id).Bind(3, timestamp).Defer();
    });
  } catch (const PhaseRefused&) {
    Transact("SaveJunctionUser", TransactionKind::kRead, [&](SqlSession& db) {
      ThrowWhyPhaseRefused(db, brand_id, key, order_id, RecoveryPoint::kUserEnsured);
    });
  }
}

void SqlStore::SaveJunctionOrder(const std::string& key, const model::LabOrder& order,
                                 const NewJob& first_step, int status, const std::string& body) {
  if (first_step.order_id != order.id) {
    throw std::logic_error("store: the first step belongs to another order");
  }
  if (!order.junction_order_id || !order.junction_user_id) {
    throw std::logic_error("store: the Junction order is saved without its ids");
  }
  const std::string updated_at = CanonicalTimestamp(order.updated_at, "updated_at");
  TimePoint now;
  ParseRfc3339(updated_at, &now);
  // The body is sealed too: the store cannot know what a response carries.
  const std::string sealed_body =
      cipher_.Encrypt(body, ResponseAssociatedData(order.brand_id, key));
  // The common case is one transaction whose writes all go with its commit: the key's guarded
  // move to its answer, the order's ids, the first step and the brand's event.
  struct RepeatedPhase {};
  try {
    Transact("SaveJunctionOrder", TransactionKind::kWrite, [&](SqlSession& db) {
      // The key goes from either point before this phase (user_ensured; or order_recorded, when
      // the patient's Junction user was known already) straight to its answer.
      Statement finish = db.Query(
          "UPDATE idempotency_keys SET response_status = ?4, response_body = ?5, "
          "recovery_point = 'finished', locked_until = NULL WHERE brand_id = ?1 AND key = ?2 "
          "AND order_id = ?3 AND recovery_point IN ('order_recorded', 'user_ensured')");
      finish.Bind(1, order.brand_id)
          .Bind(2, key)
          .Bind(3, order.id)
          .Bind(4, std::int64_t{status})
          .Bind(5, sealed_body)
          .DeferExpecting(1, [](std::int64_t) {
            throw RepeatedPhase{};  // rolls back what went with it
          });

      Statement update = db.Query(
          std::string("UPDATE lab_orders SET junction_user_id = ?3, junction_order_id = ?4, "
                      "status = ?5, updated_at = ?6, version = version + 1 WHERE ") +
          std::string(kIdOfBrand));
      update.Bind(1, order.id)
          .Bind(2, order.brand_id)
          .Bind(3, order.junction_user_id)
          .Bind(4, order.junction_order_id)
          .Bind(5, order.status)
          .Bind(6, updated_at)
          .DeferExpecting(1, BugUnlessOneRow("store: no such order"));
      InsertJob(db, first_step, now);
      // The brand hears of the order once it is made at Junction: the moment its 201 is real.
      InsertOrderEvents(db, cipher_, std::nullopt, order);
    });
    return;
  } catch (const RepeatedPhase&) {
  }

  // A repeat of this phase: it committed once, with the first step, and since then the order and
  // its jobs belong to the workflow. Writing again would queue a second workflow or restart an
  // ended one. (A request that outlived its lease while the completer finished its key ends
  // here.) A key left at junction_order_created by an older version takes only its answer.
  Transact("SaveJunctionOrder", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement select = db.Query(
        "SELECT k.recovery_point, o.junction_order_id FROM idempotency_keys k "
        "JOIN lab_orders o ON o.id = k.order_id "
        "WHERE k.brand_id = ?1 AND k.key = ?2 AND k.order_id = ?3");
    select.Bind(1, order.brand_id).Bind(2, key).Bind(3, order.id);
    if (!select.Step()) {
      throw std::logic_error("store: no such order recorded under this idempotency key");
    }
    const RecoveryPoint point = ParseRecoveryPoint(select.Text(0));
    if (point < RecoveryPoint::kJunctionOrderCreated) {
      throw std::logic_error("store: the recovery point would jump a phase");
    }
    if (select.OptionalText(1) != order.junction_order_id) {
      throw std::logic_error("store: the order already has another Junction order");
    }
    if (point == RecoveryPoint::kJunctionOrderCreated) {
      FinishKeyRow(db, order.brand_id, key, status, sealed_body);
    }
  });
}

void SqlStore::FinishKey(const std::string& brand_id, const std::string& key, int status,
                         const std::string& body) {
  // The body is sealed too: the store cannot know what a response carries.
  const std::string sealed_body = cipher_.Encrypt(body, ResponseAssociatedData(brand_id, key));
  Transact("FinishKey", TransactionKind::kWrite, [&](SqlSession& db) {
    if (FinishKeyRow(db, brand_id, key, status, sealed_body) == 1) return;
    // Nothing changed: a finished key keeps its first answer (a late second finisher, such as a
    // request that outlived its lease while the completer finished it, has nothing left to do).
    Statement select = db.Query("SELECT 1 FROM idempotency_keys WHERE brand_id = ?1 AND key = ?2");
    select.Bind(1, brand_id).Bind(2, key);
    if (!select.Step()) throw std::logic_error("store: no such idempotency key");
  });
}

std::optional<std::string> SqlStore::FindJunctionUser(const std::string& client_user_id) {
  return Transact("FindJunctionUser", TransactionKind::kRead,
                  [&](SqlSession& db) -> std::optional<std::string> {
                    Statement select = db.Query(
                        "SELECT junction_user_id FROM junction_users WHERE client_user_id = ?1");
                    select.Bind(1, client_user_id);
                    if (!select.Step()) return std::nullopt;
                    return select.Text(0);
                  });
}

std::optional<model::LabOrder> SqlStore::GetOrder(const std::string& brand_id,
                                                  const std::string& order_id) {
  return Transact(
      "GetOrder", TransactionKind::kRead, [&](SqlSession& db) -> std::optional<model::LabOrder> {
        Statement select = db.Query(std::string("SELECT ") + kOrderColumns +
                                    " FROM lab_orders WHERE " + std::string(kIdOfBrand));
        select.Bind(1, order_id).Bind(2, brand_id);
        if (!select.Step()) return std::nullopt;
        return ReadOrderRow(select, cipher_);
      });
}

std::vector<model::LabOrder> SqlStore::ListOrders(const std::string& brand_id,
                                                  const std::optional<std::string>& status,
                                                  int limit,
                                                  const std::optional<std::string>& cursor) {
  if (limit < 1) throw std::invalid_argument("ListOrders: limit must be at least 1");
  return Transact("ListOrders", TransactionKind::kRead, [&](SqlSession& db) {
    std::vector<model::LabOrder> page;
    std::optional<std::pair<std::string, std::string>> after;  // (created_at, id) of the cursor
    if (cursor) {
      Statement select =
          db.Query("SELECT created_at, id FROM lab_orders WHERE " + std::string(kIdOfBrand));
      select.Bind(1, *cursor).Bind(2, brand_id);
      // Unknown here (or another brand's id): there is no "after" to continue from.
      if (!select.Step()) return page;
      after.emplace(select.Text(0), select.Text(1));
    }
    // Four constant variants, chosen by which filters are present; every value is bound. Keyset
    // pagination on (created_at, id): pages stay stable while new orders arrive and each page is
    // an index range scan, however deep.
    // Parameters are numbered in the order they appear, with no gaps: PostgreSQL cannot type a
    // parameter the statement never uses.
    std::vector<SqlValue> values = {brand_id};
    auto next = [&](SqlValue value) {
      values.push_back(std::move(value));
      // Appended, not "?" + ...: GCC 12 at -O3 warns falsely (-Wrestrict) on that insert.
      std::string placeholder(1, '?');
      placeholder.append(std::to_string(values.size()));
      return placeholder;
    };
    std::string sql =
        std::string("SELECT ") + kOrderColumns + " FROM lab_orders WHERE brand_id = ?1";
    if (status) sql += " AND status = " + next(*status);
    if (after) {
      const std::string created_at = next(after->first);
      sql += " AND (created_at, id) < (" + created_at + ", " + next(after->second) + ")";
    }
    sql += " ORDER BY created_at DESC, id DESC LIMIT " + next(std::int64_t{limit});

    Statement select = db.Query(sql);
    for (std::size_t i = 0; i < values.size(); ++i) select.Bind(int(i) + 1, values[i]);
    while (select.Step()) page.push_back(ReadOrderRow(select, cipher_));
    return page;
  });
}

int SqlStore::ReapKeys(TimePoint created_before) {
  return Transact("ReapKeys", TransactionKind::kWrite, [&](SqlSession& db) {
    const std::int64_t cutoff = EpochMillis(created_before);
    Statement remove_keys = db.Query("DELETE FROM idempotency_keys WHERE created_at < ?1");
    remove_keys.Bind(1, cutoff).Run();
    const int reaped = db.ChangedRows();
    if (finished_keys_) finished_keys_->ForgetCreatedBefore(created_before);
    // Past the cutoff Junction no longer retries a webhook, so its receipt has nothing to dedupe.
    Statement remove_webhooks = db.Query("DELETE FROM junction_webhooks WHERE received_at < ?1");
    remove_webhooks.Bind(1, cutoff).Run();
    Statement remove_jobs = db.Query("DELETE FROM jobs WHERE state = 'done' AND updated_at < ?1");
    remove_jobs.Bind(1, cutoff).Run();
    return reaped;
  });
}

std::vector<IdempotencyRecord> SqlStore::ClaimStaleKeys(TimePoint created_before, TimePoint now,
                                                        TimePoint lease_until, int limit) {
  if (limit < 1) throw std::invalid_argument("ClaimStaleKeys: limit must be at least 1");
  return Transact("ClaimStaleKeys", TransactionKind::kWrite, [&](SqlSession& db) {
    std::vector<IdempotencyRecord> records;
    {
      // The recovery point names are RecoveryPointName's, literal to match the partial index.
      Statement select =
          db.Query(std::string("SELECT ") + kKeyColumns +
                   " FROM idempotency_keys WHERE recovery_point <> 'finished' "
                   "AND recovery_point <> 'started' AND order_id IS NOT NULL AND action IS NULL "
                   "AND created_at < ?1 "
                   "AND (locked_until IS NULL OR locked_until <= ?2) "
                   "ORDER BY created_at, brand_id, key LIMIT ?3" +
                   std::string(db.ForUpdateSkipLocked()));
      select.Bind(1, EpochMillis(created_before))
          .Bind(2, EpochMillis(now))
          .Bind(3, std::int64_t{limit});
      while (select.Step()) records.push_back(ReadKeyRow(select, cipher_));
    }
    for (const IdempotencyRecord& record : records) {
      Statement update = db.Query(
          "UPDATE idempotency_keys SET locked_until = ?3 WHERE brand_id = ?1 AND key = ?2");
      update.Bind(1, record.brand_id).Bind(2, record.key).Bind(3, EpochMillis(lease_until)).Run();
    }
    return records;
  });
}

}  // namespace lab_orders::store
