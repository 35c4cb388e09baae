// SqlStore's brand webhooks: endpoints, deliveries and their log (the WebhookStore interface).

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

constexpr const char* kDeliveryRecordColumns =
    "d.id, d.endpoint_id, d.event_id, v.type, d.order_id, d.state, d.attempts, "
    "d.next_attempt_at, d.created_at";

WebhookDeliveryRecord ReadDeliveryRecord(SqlSession& connection, const Statement& row) {
  WebhookDeliveryRecord record;
  record.id = row.Text(0);
  record.endpoint_id = row.Text(1);
  record.event_id = row.Text(2);
  record.event_type = row.Text(3);
  record.order_id = row.Text(4);
  record.state = row.Text(5);
  record.attempt_count = static_cast<int>(row.Integer(6));
  if (record.state == "pending") record.next_attempt_at = FromEpochMillis(row.Integer(7));
  record.created_at = FromEpochMillis(row.Integer(8));
  Statement select = connection.Query(
      "SELECT attempt, attempted_at, status, latency_ms, error FROM webhook_attempts "
      "WHERE delivery_id = ?1 AND attempt > ?2 ORDER BY attempt");
  select.Bind(1, record.id).Bind(2, std::int64_t{record.attempt_count - kListedAttempts});
  while (select.Step()) {
    WebhookAttempt attempt;
    attempt.attempt = static_cast<int>(select.Integer(0));
    attempt.attempted_at = FromEpochMillis(select.Integer(1));
    if (auto status = select.OptionalInteger(2)) attempt.status = static_cast<int>(*status);
    attempt.latency_ms = select.Integer(3);
    attempt.error = select.OptionalText(4).value_or("");
    record.attempts.push_back(std::move(attempt));
  }
  return record;
}

// The brand's delivery with this id, as its log shows it.
std::optional<WebhookDeliveryRecord> FindDeliveryRecord(SqlSession& connection,
                                                        const std::string& brand_id,
                                                        const std::string& id) {
  Statement select = connection.Query(
      std::string("SELECT ") + kDeliveryRecordColumns +
      " FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id "
      "JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?1 AND e.brand_id = ?2");
  select.Bind(1, id).Bind(2, brand_id);
  if (!select.Step()) return std::nullopt;
  return ReadDeliveryRecord(connection, select);
}

}  // namespace

void SqlStore::CreateWebhookEndpoint(const WebhookEndpoint& endpoint) {
  const std::string secret =
      cipher_.Encrypt(endpoint.secret, SecretAssociatedData(endpoint.id, "secret"));
  std::optional<std::string> previous;
  if (endpoint.previous_secret) {
    previous = cipher_.Encrypt(*endpoint.previous_secret,
                               SecretAssociatedData(endpoint.id, "previous_secret"));
  }
  std::optional<std::int64_t> expires;
  if (endpoint.previous_secret_expires_at) {
    expires = EpochMillis(*endpoint.previous_secret_expires_at);
  }
  Transact("CreateWebhookEndpoint", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement insert = db.Query(std::string("INSERT INTO webhook_endpoints (") + kEndpointColumns +
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    insert.Bind(1, endpoint.id)
        .Bind(2, endpoint.brand_id)
        .Bind(3, endpoint.url)
        .Bind(4, nlohmann::json(endpoint.event_types).dump())
        .Bind(5, secret)
        .Bind(6, previous)
        .Bind(7, expires)
        .Bind(8, std::int64_t{endpoint.disabled ? 1 : 0})
        .Bind(9, EpochMillis(endpoint.created_at))
        .Run();
  });
}

std::vector<WebhookEndpoint> SqlStore::ListWebhookEndpoints(const std::string& brand_id) {
  return Transact("ListWebhookEndpoints", TransactionKind::kRead, [&](SqlSession& db) {
    Statement select = db.Query(std::string("SELECT ") + kEndpointColumns +
                                " FROM webhook_endpoints WHERE brand_id = ?1 "
                                "ORDER BY created_at, id");
    select.Bind(1, brand_id);
    std::vector<WebhookEndpoint> endpoints;
    while (select.Step()) endpoints.push_back(ReadEndpointRow(select, cipher_));
    return endpoints;
  });
}

bool SqlStore::DeleteWebhookEndpoint(const std::string& brand_id, const std::string& id) {
  return Transact("DeleteWebhookEndpoint", TransactionKind::kWrite, [&](SqlSession& db) {
    Statement select = db.Query("SELECT id FROM webhook_endpoints WHERE " +
                                std::string(kIdOfBrand) + std::string(db.ForUpdate()));
    select.Bind(1, id).Bind(2, brand_id);
    if (!select.Step()) return false;
    for (const char* sql : {"DELETE FROM webhook_attempts WHERE delivery_id IN "
                            "(SELECT id FROM webhook_deliveries WHERE endpoint_id = ?1)",
                            "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1",
                            "DELETE FROM webhook_endpoints WHERE id = ?1"}) {
      Statement remove = db.Query(sql);
      remove.Bind(1, id).Run();
    }
    return true;
  });
}

std::vector<WebhookDelivery> SqlStore::ClaimDueDeliveries(TimePoint now, TimePoint lease_until,
                                                          const std::string& owner, int limit) {
  if (owner.empty()) throw std::invalid_argument("ClaimDueDeliveries: owner must not be empty");
  return Transact("ClaimDueDeliveries", TransactionKind::kWrite, [&](SqlSession& db) {
    // Due: its time has come and it is not leased, or its lease ran out (its dispatcher died).
    // Held back while an earlier event of the same order is pending for the same endpoint, so
    // one order's events arrive in order, and at most one of them is in flight at a time. A
    // priority event (a critical result) goes first, held back only by an earlier one of its
    // own kind (two critical results of an order arrive in order too).
    // Two passes, each down its own index: the priority ones, then the rest up to the limit.
    std::vector<std::string> ids;
    for (const char* kind : {"d.priority > 0", "d.priority = 0"}) {
      if (ids.size() >= static_cast<std::size_t>(limit)) break;
      Statement select = db.Query(
          std::string("SELECT d.id FROM webhook_deliveries d WHERE d.state = 'pending' AND ") +
          kind +
          " AND ((d.locked_until IS NULL AND d.next_attempt_at <= ?1) OR d.locked_until <= ?1) "
          "AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id "
          "AND e.disabled = 0) "
          "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE "
          "p.endpoint_id = d.endpoint_id AND p.order_id = d.order_id AND p.sequence < d.sequence "
          "AND p.state = 'pending' AND p.priority >= d.priority) "
          "ORDER BY d.next_attempt_at, d.id LIMIT ?2" +
          std::string(db.ForUpdateSkipLocked()));
      select.Bind(1, EpochMillis(now)).Bind(2, std::int64_t{limit} - std::int64_t(ids.size()));
      while (select.Step()) ids.push_back(select.Text(0));
    }
    std::vector<WebhookDelivery> deliveries;
    for (const std::string& id : ids) {
      Statement update = db.Query(
          "UPDATE webhook_deliveries SET locked_until = ?2, lease_owner = ?3, updated_at = ?4 "
          "WHERE id = ?1");
      update.Bind(1, id).Bind(2, EpochMillis(lease_until)).Bind(3, owner).Bind(4, EpochMillis(now));
      update.Run();
      Statement select = db.Query(
          std::string("SELECT d.id, d.event_id, v.type, d.order_id, v.payload, d.attempts, ") +
          "d.schedule_from, e.id, e.brand_id, e.url, e.event_types, e.secret, "
          "e.previous_secret, e.previous_secret_expires_at, e.disabled, e.created_at "
          "FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id "
          "JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?1");
      select.Bind(1, id);
      if (!select.Step()) continue;
      WebhookDelivery delivery;
      delivery.id = select.Text(0);
      delivery.event_id = select.Text(1);
      delivery.event_type = select.Text(2);
      delivery.order_id = select.Text(3);
      delivery.payload = select.Text(4);
      delivery.attempts = static_cast<int>(select.Integer(5));
      delivery.scheduled_attempts = delivery.attempts - static_cast<int>(select.Integer(6));
      delivery.endpoint = ReadEndpointRow(select, cipher_, 7);
      delivery.lease_owner = owner;
      deliveries.push_back(std::move(delivery));
    }
    return deliveries;
  });
}

void SqlStore::FinishDeliveryAttempt(const WebhookDelivery& delivery,
                                     const DeliveryOutcome& outcome) {
  using Next = DeliveryOutcome::Next;
  Transact("FinishDeliveryAttempt", TransactionKind::kWrite, [&](SqlSession& db) {
    {
      Statement select = db.Query(
          "SELECT attempts FROM webhook_deliveries WHERE id = ?1 AND state = 'pending' "
          "AND lease_owner = ?2" +
          std::string(db.ForUpdate()));
      select.Bind(1, delivery.id).Bind(2, delivery.lease_owner);
      if (delivery.lease_owner.empty() || !select.Step()) {
        throw LeaseLost("store: the delivery's lease was lost");
      }
    }
    const std::int64_t attempt = delivery.attempts + 1;
    // A variant rather than an optional: GCC 12 warns of an optional<int64_t> read here.
    const SqlValue status =
        outcome.status ? SqlValue(std::int64_t{*outcome.status}) : SqlValue(std::monostate{});
    const std::optional<std::string> error =
        outcome.error.empty() ? std::nullopt : std::optional<std::string>(outcome.error);
    Statement insert = db.Query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status, latency_ms, "
        "error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    insert.Bind(1, delivery.id)
        .Bind(2, attempt)
        .Bind(3, EpochMillis(outcome.attempted_at))
        .Bind(4, status)
        .Bind(5, outcome.latency_ms)
        .Bind(6, error)
        .Run();

    const char* state = "pending";
    if (outcome.next == Next::kDelivered) state = "delivered";
    if (outcome.next == Next::kGiveUp || outcome.next == Next::kDisableEndpoint) state = "failed";
    const TimePoint next_attempt_at =
        outcome.next == Next::kRetry ? outcome.retry_at : outcome.attempted_at;
    Statement update = db.Query(
        "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, "
        "locked_until = NULL, lease_owner = NULL, last_status = ?5, last_latency_ms = ?6, "
        "last_error = ?7, updated_at = ?8 WHERE id = ?1");
    update.Bind(1, delivery.id)
        .Bind(2, std::string(state))
        .Bind(3, attempt)
        .Bind(4, EpochMillis(next_attempt_at))
        .Bind(5, status)
        .Bind(6, outcome.latency_ms)
        .Bind(7, error)
        .Bind(8, EpochMillis(outcome.attempted_at))
        .Run();
    if (outcome.next == Next::kDisableEndpoint) {
      Statement disable = db.Query("UPDATE webhook_endpoints SET disabled = 1 WHERE id = ?1");
      disable.Bind(1, delivery.endpoint.id).Run();
    }
  });
}

std::optional<WebhookEndpoint> SqlStore::RotateWebhookSecret(const std::string& brand_id,
                                                             const std::string& id,
                                                             const std::string& secret,
                                                             TimePoint previous_expires_at) {
  return Transact("RotateWebhookSecret", TransactionKind::kWrite,
                  [&](SqlSession& db) -> std::optional<WebhookEndpoint> {
                    Statement select =
                        db.Query(std::string("SELECT ") + kEndpointColumns +
                                 " FROM webhook_endpoints WHERE " + std::string(kIdOfBrand) +
                                 std::string(db.ForUpdate()));
                    select.Bind(1, id).Bind(2, brand_id);
                    if (!select.Step()) return std::nullopt;
                    WebhookEndpoint endpoint = ReadEndpointRow(select, cipher_);
                    endpoint.previous_secret = endpoint.secret;
                    endpoint.previous_secret_expires_at = previous_expires_at;
                    endpoint.secret = secret;
                    Statement update = db.Query(
                        "UPDATE webhook_endpoints SET secret = ?2, previous_secret = ?3, "
                        "previous_secret_expires_at = ?4 WHERE id = ?1");
                    update.Bind(1, id)
                        .Bind(2, cipher_.Encrypt(secret, SecretAssociatedData(id, "secret")))
                        .Bind(3, cipher_.Encrypt(*endpoint.previous_secret,
                                                 SecretAssociatedData(id, "previous_secret")))
                        .Bind(4, EpochMillis(previous_expires_at))
                        .Run();
                    return endpoint;
                  });
}

std::optional<std::vector<WebhookDeliveryRecord>> SqlStore::ListWebhookDeliveries(
    const std::string& brand_id, const std::string& endpoint_id, int limit,
    const std::optional<std::string>& cursor) {
  if (limit < 1) throw std::invalid_argument("ListWebhookDeliveries: limit must be at least 1");
  return Transact(
      "ListWebhookDeliveries", TransactionKind::kRead,
      [&](SqlSession& db) -> std::optional<std::vector<WebhookDeliveryRecord>> {
        {
          Statement select =
              db.Query("SELECT id FROM webhook_endpoints WHERE " + std::string(kIdOfBrand));
          select.Bind(1, endpoint_id).Bind(2, brand_id);
          if (!select.Step()) return std::nullopt;
        }
        std::vector<WebhookDeliveryRecord> page;
        // Keyset pagination on (created_at, sequence, id), as ListOrders; the cursor names a
        // delivery of this endpoint, else there is nothing after it. No cursor: after every one.
        constexpr std::int64_t kAfterAll = std::numeric_limits<std::int64_t>::max();
        std::int64_t after_created_at = kAfterAll;
        std::int64_t after_sequence = kAfterAll;
        std::string after_id;
        if (cursor) {
          Statement select = db.Query(
              "SELECT created_at, sequence, id FROM webhook_deliveries WHERE id = ?1 AND "
              "endpoint_id = ?2");
          select.Bind(1, *cursor).Bind(2, endpoint_id);
          if (!select.Step()) return page;
          after_created_at = select.Integer(0);
          after_sequence = select.Integer(1);
          after_id = select.Text(2);
        }
        // Events of one change share their time: the order's sequence puts them in order.
        Statement select =
            db.Query(std::string("SELECT ") + kDeliveryRecordColumns +
                     " FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id "
                     "WHERE d.endpoint_id = ?1 AND (d.created_at, d.sequence, d.id) < (?2, ?3, ?4) "
                     "ORDER BY d.created_at DESC, d.sequence DESC, d.id DESC LIMIT ?5");
        select.Bind(1, endpoint_id)
            .Bind(2, after_created_at)
            .Bind(3, after_sequence)
            .Bind(4, after_id)
            .Bind(5, std::int64_t{limit});
        std::vector<std::string> ids;
        while (select.Step()) ids.push_back(select.Text(0));
        for (const std::string& id : ids) {
          if (auto record = FindDeliveryRecord(db, brand_id, id)) page.push_back(*record);
        }
        return page;
      });
}

std::optional<WebhookDeliveryRecord> SqlStore::ResendWebhookDelivery(const std::string& brand_id,
                                                                     const std::string& id,
                                                                     TimePoint now) {
  return Transact(
      "ResendWebhookDelivery", TransactionKind::kWrite,
      [&](SqlSession& db) -> std::optional<WebhookDeliveryRecord> {
        Statement select = db.Query(
            "SELECT d.endpoint_id FROM webhook_deliveries d JOIN webhook_endpoints e "
            "ON e.id = d.endpoint_id WHERE d.id = ?1 AND e.brand_id = ?2" +
            std::string(db.ForUpdate()));
        select.Bind(1, id).Bind(2, brand_id);
        if (!select.Step()) return std::nullopt;
        const std::string endpoint_id = select.Text(0);
        // A lease in flight is left alone: its attempt finishes and records what it got.
        Statement update = db.Query(
            "UPDATE webhook_deliveries SET state = 'pending', schedule_from = attempts, "
            "next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1");
        update.Bind(1, id).Bind(2, EpochMillis(now)).Run();
        Statement enable = db.Query("UPDATE webhook_endpoints SET disabled = 0 WHERE id = ?1");
        enable.Bind(1, endpoint_id).Run();
        return FindDeliveryRecord(db, brand_id, id);
      });
}

}  // namespace lab_orders::store
