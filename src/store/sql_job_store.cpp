// SqlStore's workflow jobs and the orders they work on (the JobStore interface).

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
#include "store/outbox.h"
#include "store/row_codecs.h"
#include "store/sql_session.h"
#include "store/sql_transact.h"

namespace lab_orders::store {
namespace {

using std::chrono::system_clock;

Job ReadJobRow(const Statement& row) {
  Job job;
  job.id = row.Text(0);
  job.kind = row.Text(1);
  job.order_id = row.Text(2);
  job.payload = row.Text(3);
  job.attempts = static_cast<int>(row.Integer(4));
  job.due_at = FromEpochMillis(row.Integer(5));
  job.created_at = FromEpochMillis(row.Integer(6));
  job.lease_owner = row.OptionalText(7).value_or("");
  return job;
}

void LeaseJob(SqlSession& connection, const std::string& job_id, TimePoint now,
              TimePoint lease_until, const std::string& owner) {
  Statement update = connection.Query(
      "UPDATE jobs SET locked_until = ?2, lease_owner = ?3, updated_at = ?4 WHERE id = ?1");
  update.Bind(1, job_id).Bind(2, EpochMillis(lease_until)).Bind(3, owner).Bind(4, EpochMillis(now));
  update.Run();
}

// A job run's write to its order: the fields a run may change, checked and converted.
struct OrderWrite {
  std::string status;
  std::string updated_at;
  std::optional<std::string> completed_at;
  std::string workflow;
  // Changes only when the order moves to another channel (a new Junction order); never cleared.
  std::optional<std::string> junction_order_id;
};

OrderWrite PrepareOrderWrite(const Job& job, const model::LabOrder& order) {
  if (order.id != job.order_id) {
    throw std::logic_error("store: a job's run updates another order than the job's");
  }
  return OrderWrite{order.status, CanonicalTimestamp(order.updated_at, "updated_at"),
                    CanonicalTimestamp(order.completed_at, "completed_at"),
                    WorkflowDocument(order.workflow), order.junction_order_id};
}

// Throws LeaseLost unless job is still queued under job.lease_owner; returns the lease's end.
// A lease that ran out but that nobody took over is still held: the run's result stays good until
// another claim replaces the owner.
std::int64_t RequireLease(SqlSession& connection, const Job& job) {
  Statement select = connection.Query(
      "SELECT locked_until FROM jobs WHERE id = ?1 AND state = 'queued' AND lease_owner = ?2 "
      "AND locked_until IS NOT NULL" +
      std::string(connection.ForUpdate()));
  select.Bind(1, job.id).Bind(2, job.lease_owner);
  if (job.lease_owner.empty() || !select.Step()) {
    throw LeaseLost("store: the job's lease was lost");
  }
  return select.Integer(0);
}

// Locks the order's row and returns its version. A job's commit locks its order before its job
// row, always in that order, so two commits touching both cannot deadlock.
std::int64_t LockOrder(SqlSession& connection, const std::string& order_id) {
  Statement select = connection.Query("SELECT version FROM lab_orders WHERE id = ?1" +
                                      std::string(connection.ForUpdate()));
  select.Bind(1, order_id);
  if (!select.Step()) throw std::logic_error("store: no such order");
  return select.Integer(0);
}

void RequireOrderVersion(std::int64_t version, std::optional<std::int64_t> expected_version) {
  if (expected_version && version != *expected_version) {
    throw VersionConflict("store: the order changed during the job's run");
  }
}

void WriteOrder(SqlSession& connection, const std::string& order_id, const OrderWrite& write) {
  Statement update = connection.Query(
      "UPDATE lab_orders SET status = ?2, updated_at = ?3, completed_at = ?4, workflow = ?5, "
      "junction_order_id = COALESCE(?6, junction_order_id), version = version + 1 WHERE id = ?1");
  update.Bind(1, order_id)
      .Bind(2, write.status)
      .Bind(3, write.updated_at)
      .Bind(4, write.completed_at)
      .Bind(5, write.workflow)
      .Bind(6, write.junction_order_id)
      .Run();
  if (connection.ChangedRows() != 1) throw std::logic_error("store: no such order");
}

}  // namespace

std::optional<model::LabOrder> SqlStore::GetOrderById(const std::string& order_id) {
  return Transact("GetOrderById", TransactionKind::kRead,
                  [&](SqlSession& db) -> std::optional<model::LabOrder> {
                    Statement select = db.Query(std::string("SELECT ") + kOrderColumns +
                                                " FROM lab_orders WHERE id = ?1");
                    select.Bind(1, order_id);
                    if (!select.Step()) return std::nullopt;
                    return ReadOrderRow(select, cipher_);
                  });
}

std::optional<model::LabOrder> SqlStore::FindOrderByJunctionId(
    const std::string& junction_order_id) {
  return Transact(
      "FindOrderByJunctionId", TransactionKind::kRead,
      [&](SqlSession& db) -> std::optional<model::LabOrder> {
        // One Junction order per order; the ordering only makes a broken invariant deterministic.
        Statement select = db.Query(
            std::string("SELECT ") + kOrderColumns +
            " FROM lab_orders WHERE junction_order_id = ?1 ORDER BY created_at, id LIMIT 1");
        select.Bind(1, junction_order_id);
        if (!select.Step()) return std::nullopt;
        return ReadOrderRow(select, cipher_);
      });
}

std::vector<Job> SqlStore::ClaimDueJobs(TimePoint now, TimePoint lease_until,
                                        const std::string& owner, int limit) {
  if (limit < 1) throw std::invalid_argument("ClaimDueJobs: limit must be at least 1");
  // An empty owner could not be told apart from "no owner" when the run completes.
  if (owner.empty()) throw std::invalid_argument("ClaimDueJobs: owner must not be empty");
  // A write transaction from the start: the rows read are leased before any other claimer, in
  // this process or another, can read them.
  return Transact("ClaimDueJobs", TransactionKind::kWrite, [&](SqlSession& db) {
    // Due: not leased and due_at passed, or leased and the lease ran out (its worker died),
    // whatever its due_at. One query each, so each is an index range that stops at the limit,
    // rather than a scan of every queued job (most wait hours) on every poll. Rows another
    // claimer holds right now are passed over, not waited for.
    std::vector<Job> jobs;
    for (const char* condition : {"locked_until IS NULL AND due_at <= ?1", "locked_until <= ?1"}) {
      Statement select = db.Query(
          std::string("SELECT ") + kJobColumns + " FROM jobs WHERE state = 'queued' AND " +
          condition + " ORDER BY due_at, id LIMIT ?2" + std::string(db.ForUpdateSkipLocked()));
      select.Bind(1, EpochMillis(now)).Bind(2, std::int64_t{limit});
      while (select.Step()) jobs.push_back(ReadJobRow(select));
    }
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
      return std::tie(a.due_at, a.id) < std::tie(b.due_at, b.id);
    });
    if (jobs.size() > static_cast<std::size_t>(limit)) jobs.resize(limit);
    for (Job& job : jobs) {
      LeaseJob(db, job.id, now, lease_until, owner);
      job.lease_owner = owner;
    }
    return jobs;
  });
}

OrderJobClaim SqlStore::ClaimOrderStep(const std::string& order_id, TimePoint now,
                                       TimePoint lease_until, const std::string& owner, Job* job) {
  if (owner.empty()) throw std::invalid_argument("ClaimOrderStep: owner must not be empty");
  return Transact("ClaimOrderStep", TransactionKind::kWrite, [&](SqlSession& db) {
    Job step;
    {
      Statement select =
          db.Query(std::string("SELECT ") + kJobColumns +
                   ", locked_until FROM jobs WHERE order_id = ?1 AND state = 'queued' "
                   "AND kind <> 'junction_event'" +
                   std::string(db.ForUpdate()));
      select.Bind(1, order_id);
      if (!select.Step()) return OrderJobClaim::kNone;
      std::optional<std::int64_t> locked_until = select.OptionalInteger(8);
      if (locked_until && *locked_until > EpochMillis(now)) return OrderJobClaim::kBusy;
      step = ReadJobRow(select);
    }
    LeaseJob(db, step.id, now, lease_until, owner);
    step.lease_owner = owner;
    if (job != nullptr) *job = std::move(step);
    return OrderJobClaim::kClaimed;
  });
}

void SqlStore::CompleteJob(const Job& job, const JobOutcome& outcome) {
  // Everything that can fail without the database is done before the transaction starts.
  std::optional<OrderWrite> order_write;
  if (outcome.order_update) order_write = PrepareOrderWrite(job, *outcome.order_update);

  Transact("CompleteJob", TransactionKind::kWrite, [&](SqlSession& db) {
    const std::int64_t order_version = LockOrder(db, job.order_id);
    const std::int64_t lease_end = RequireLease(db, job);
    RequireOrderVersion(order_version, outcome.expected_order_version);
    // The result version first: the order update names it (result_bloodwork_id).
    if (outcome.new_result) InsertResultRow(db, cipher_, *outcome.new_result);
    if (order_write) {
      const model::OrderBefore before = ReadOrderBefore(db, job.order_id);
      WriteOrder(db, job.order_id, *order_write);
      InsertOrderEvents(db, cipher_, before, *outcome.order_update);
    }

    // The store reads no clock and the outcome carries no "now", so the lease's end stands in for
    // the time of this commit: within one lease of it, which is all reaping done jobs needs.
    if (outcome.done) {
      Statement update = db.Query(
          "UPDATE jobs SET state = 'done', locked_until = NULL, lease_owner = NULL, "
          "updated_at = ?2 WHERE id = ?1");
      update.Bind(1, job.id).Bind(2, lease_end).Run();
    } else {
      Statement update = db.Query(
          "UPDATE jobs SET due_at = ?2, attempts = ?3, last_error = ?4, locked_until = NULL, "
          "lease_owner = NULL, updated_at = ?5 WHERE id = ?1");
      update.Bind(1, job.id)
          .Bind(2, EpochMillis(outcome.retry_at))
          .Bind(3, std::int64_t{outcome.attempts})
          .Bind(4, outcome.last_error)
          .Bind(5, lease_end)
          .Run();
    }

    // A new job's created_at is the earlier of its due time and the lease's end: both are at or
    // after now while the run is on time, so the earlier is the closer.
    for (const NewJob& next : outcome.enqueue) {
      InsertJob(db, next, std::min(next.due_at, FromEpochMillis(lease_end)));
    }

    if (outcome.wake_order_step || outcome.order_step_if_none) {
      // "Due now" without reading a clock: epoch 0 is before any now, so the next claim takes the
      // step. A step a worker holds stays held; that worker's own outcome sets its next due time.
      Statement update = db.Query(
          "UPDATE jobs SET due_at = 0 WHERE order_id = ?1 AND state = 'queued' "
          "AND kind <> 'junction_event'");
      const std::int64_t woken = update.Bind(1, job.order_id).Run();
      // None queued: the order's workflow had ended, and starts again with this step. (The
      // order's row is locked, so no other run can queue one meanwhile.)
      if (woken == 0 && outcome.order_step_if_none) {
        InsertJob(db, *outcome.order_step_if_none,
                  std::min(outcome.order_step_if_none->due_at, FromEpochMillis(lease_end)));
      }
    }
  });
}

void SqlStore::CheckpointOrder(const Job& job, const model::LabOrder& order_update,
                               std::int64_t expected_order_version) {
  const OrderWrite order_write = PrepareOrderWrite(job, order_update);
  Transact("CheckpointOrder", TransactionKind::kWrite, [&](SqlSession& db) {
    const std::int64_t order_version = LockOrder(db, job.order_id);
    RequireLease(db, job);
    RequireOrderVersion(order_version, expected_order_version);
    const model::OrderBefore before = ReadOrderBefore(db, job.order_id);
    WriteOrder(db, job.order_id, order_write);
    InsertOrderEvents(db, cipher_, before, order_update);
  });
}

void SqlStore::ReleaseJob(const Job& job) {
  if (job.lease_owner.empty()) return;  // never claimed, so nothing to give back
  Transact("ReleaseJob", TransactionKind::kWrite, [&](SqlSession& db) {
    // Another owner's lease, or a finished job, is left alone: this caller no longer holds it.
    Statement update = db.Query(
        "UPDATE jobs SET locked_until = NULL, lease_owner = NULL "
        "WHERE id = ?1 AND state = 'queued' AND lease_owner = ?2");
    update.Bind(1, job.id).Bind(2, job.lease_owner).Run();
  });
}

std::optional<TimePoint> SqlStore::NextJobDue() {
  return Transact(
      "NextJobDue", TransactionKind::kRead, [&](SqlSession& db) -> std::optional<TimePoint> {
        // Two index lookups rather than MIN(COALESCE(...)) over every queued job.
        Statement select = db.Query(
            "SELECT (SELECT MIN(due_at) FROM jobs WHERE state = 'queued' AND locked_until IS "
            "NULL), "
            "(SELECT MIN(locked_until) FROM jobs WHERE state = 'queued')");
        if (!select.Step()) return std::nullopt;
        std::optional<std::int64_t> unleased = select.OptionalInteger(0);
        std::optional<std::int64_t> lease_end = select.OptionalInteger(1);
        if (!unleased && !lease_end) return std::nullopt;
        if (!unleased) return FromEpochMillis(*lease_end);
        if (!lease_end) return FromEpochMillis(*unleased);
        return FromEpochMillis(std::min(*unleased, *lease_end));
      });
}

std::vector<std::pair<std::string, int>> SqlStore::QueuedJobCounts() {
  return Transact("QueuedJobCounts", TransactionKind::kRead, [&](SqlSession& db) {
    std::vector<std::pair<std::string, int>> counts;
    Statement select = db.Query(
        "SELECT kind, COUNT(*) FROM jobs WHERE state = 'queued' GROUP BY kind ORDER BY kind");
    while (select.Step()) counts.emplace_back(select.Text(0), static_cast<int>(select.Integer(1)));
    return counts;
  });
}

bool SqlStore::RecordJunctionWebhook(const std::string& svix_id, TimePoint now, const NewJob& job) {
  return Transact("RecordJunctionWebhook", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement insert = db.Query(
        "INSERT INTO junction_webhooks (svix_id, received_at) VALUES (?1, ?2) "
        "ON CONFLICT (svix_id) DO NOTHING");
    insert.Bind(1, svix_id).Bind(2, EpochMillis(now)).Run();
    if (db.ChangedRows() == 0) return false;  // a redelivery: handled the first time
    InsertJob(db, job, now);
    return true;
  });
}

}  // namespace lab_orders::store
