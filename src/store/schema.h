#pragma once

// The store's schema: versioned migrations, applied in order by SqlStore::Migrate. The SQL is
// written once for SQLite and PostgreSQL.

#include <iterator>

namespace lab_orders::store {

struct Migration {
  int version;
  const char* sql;  // constant DDL only: never values
};

// Append only: an applied migration is never edited, a change is a new version.
// Types stay within TEXT and INTEGER/BIGINT so the same DDL runs on PostgreSQL.
// Order timestamps are RFC 3339 UTC text of fixed width (FormatRfc3339), so they sort as text and
// read as the API writes them. Idempotency-key, job and webhook times are epoch milliseconds:
// leases need sub-second precision and are compared, never shown.
inline constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE lab_orders (
  id                TEXT PRIMARY KEY,
  brand_id          TEXT NOT NULL,
  user_id           TEXT NOT NULL,
  patient_id        TEXT,
  panel_slug        TEXT NOT NULL,
  status            TEXT NOT NULL,
  total_cents       BIGINT,
  currency          TEXT,
  junction_user_id  TEXT,
  junction_order_id TEXT,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  completed_at      TEXT,
  phi               TEXT NOT NULL
);
CREATE INDEX lab_orders_brand_created ON lab_orders (brand_id, created_at DESC, id DESC);
CREATE INDEX lab_orders_brand_status ON lab_orders (brand_id, status, created_at DESC, id DESC);

CREATE TABLE idempotency_keys (
  brand_id        TEXT NOT NULL,
  key             TEXT NOT NULL,
  fingerprint     TEXT NOT NULL,
  recovery_point  TEXT NOT NULL,
  order_id        TEXT REFERENCES lab_orders (id),
  response_status INTEGER,
  response_body   TEXT,
  locked_until    BIGINT,
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (brand_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE junction_users (
  client_user_id   TEXT PRIMARY KEY,
  junction_user_id TEXT NOT NULL,
  created_at       TEXT NOT NULL
);
)sql"},
    // The workflow: the order's workflow state (JSON, no PHI) and a version that guards job runs
    // against concurrent writes; durable jobs; Junction webhook receipts for deduplication.
    {2, R"sql(
ALTER TABLE lab_orders ADD COLUMN workflow TEXT NOT NULL DEFAULT '{}';
ALTER TABLE lab_orders ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX lab_orders_junction_order ON lab_orders (junction_order_id);

-- The completer's scan for unfinished keys skips the finished ones, which are most of them.
CREATE INDEX idempotency_keys_unfinished ON idempotency_keys (created_at)
  WHERE recovery_point <> 'finished';

CREATE TABLE jobs (
  id           TEXT PRIMARY KEY,
  kind         TEXT NOT NULL,
  order_id     TEXT NOT NULL REFERENCES lab_orders (id),
  payload      TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('queued', 'done')),
  attempts     INTEGER NOT NULL,
  due_at       BIGINT NOT NULL,
  locked_until BIGINT,
  lease_owner  TEXT,
  last_error   TEXT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, due_at);
-- Expired leases are due whatever their due_at: found by lease end, not by a scan.
CREATE INDEX jobs_lease_end ON jobs (state, locked_until);
CREATE INDEX jobs_done_updated ON jobs (updated_at) WHERE state = 'done';
-- At most one queued step job per order: two would run the order's workflow twice at once.
CREATE UNIQUE INDEX jobs_one_step_per_order ON jobs (order_id)
  WHERE state = 'queued' AND kind <> 'junction_event';

CREATE TABLE junction_webhooks (
  svix_id     TEXT PRIMARY KEY,
  received_at BIGINT NOT NULL
);
CREATE INDEX junction_webhooks_received ON junction_webhooks (received_at);
)sql"},
    // Brand webhooks: the brand's own order id and metadata (JSON object of strings), echoed on
    // every order response and event.
    {3, R"sql(
ALTER TABLE lab_orders ADD COLUMN external_order_id TEXT;
ALTER TABLE lab_orders ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- Where brands receive events. secret and previous_secret are sealed like PHI.
CREATE TABLE webhook_endpoints (
  id                         TEXT PRIMARY KEY,
  brand_id                   TEXT NOT NULL,
  url                        TEXT NOT NULL,
  event_types                TEXT NOT NULL,
  secret                     TEXT NOT NULL,
  previous_secret            TEXT,
  previous_secret_expires_at BIGINT,
  disabled                   INTEGER NOT NULL,
  created_at                 BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_brand ON webhook_endpoints (brand_id, created_at);

-- The outbox: each row commits with the order change that caused it. sequence orders an order's
-- events.
CREATE TABLE webhook_events (
  id         TEXT PRIMARY KEY,
  brand_id   TEXT NOT NULL,
  order_id   TEXT NOT NULL REFERENCES lab_orders (id),
  type       TEXT NOT NULL,
  payload    TEXT NOT NULL,
  sequence   BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (order_id, sequence)
);

-- One event to one endpoint. order_id and sequence are the event's, copied so the "no earlier
-- pending event of the order" check is one index range. schedule_from: the attempts made before
-- the retry schedule last started (0, or the count when the brand asked for a resend).
CREATE TABLE webhook_deliveries (
  id              TEXT PRIMARY KEY,
  endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
  event_id        TEXT NOT NULL REFERENCES webhook_events (id),
  order_id        TEXT NOT NULL,
  sequence        BIGINT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL,
  schedule_from   INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  locked_until    BIGINT,
  lease_owner     TEXT,
  last_status     INTEGER,
  last_latency_ms BIGINT,
  last_error      TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (endpoint_id, order_id, sequence);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at, sequence, id);

-- Every attempt: when, what the receiver answered, how long it took.
CREATE TABLE webhook_attempts (
  delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id),
  attempt      INTEGER NOT NULL,
  attempted_at BIGINT NOT NULL,
  status       INTEGER,
  latency_ms   BIGINT NOT NULL,
  error        TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
)sql"},
    // The job runner's poll for due jobs walks this index in order and stops at its limit. With
    // (state, due_at) alone, PostgreSQL filtered and sorted every queued, unleased job on each
    // poll (3 to 4 ms with a few thousand waiting).
    {4, R"sql(
CREATE INDEX jobs_ready ON jobs (due_at, id) WHERE state = 'queued' AND locked_until IS NULL;
DROP INDEX jobs_due;
)sql"},
    // The digest of the claiming request's bytes as sent: a retry with the same bytes replays
    // without its body being parsed. NULL on keys claimed before it (they replay by fingerprint).
    {5, R"sql(
ALTER TABLE idempotency_keys ADD COLUMN body_digest TEXT;
)sql"},
    // Keys of the actions (every POST but order creation) share the table: action is the route
    // template (NULL for order creation); checkpoint what the action recorded before a call it
    // cannot repeat (JSON, ids only). Older versions never resume them: they are 'started' with
    // no order, which the completer skips and an order's claim refuses by fingerprint.
    {6, R"sql(
ALTER TABLE idempotency_keys ADD COLUMN action TEXT;
ALTER TABLE idempotency_keys ADD COLUMN checkpoint TEXT;
)sql"},
    // An order's lab results, every version kept (partial, final, corrected): the document is
    // sealed as patient data is (results are PHI), bound to its row's id, order and version; the
    // columns beside it are ids, the version's status and a time, never the interpretation (a
    // health fact). A delivery's priority puts a critical result ahead of a brand's other
    // events; the index serves the dispatcher's claim, which takes them first.
    {7, R"sql(
CREATE TABLE lab_results (
  id               TEXT PRIMARY KEY,
  order_id         TEXT NOT NULL REFERENCES lab_orders (id),
  version          INTEGER NOT NULL,
  status           TEXT NOT NULL,
  received_at      TEXT NOT NULL,
  document         TEXT NOT NULL,
  UNIQUE (order_id, version)
);
ALTER TABLE webhook_deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE INDEX webhook_deliveries_priority ON webhook_deliveries (priority, next_attempt_at)
  WHERE state = 'pending' AND priority > 0;
)sql"},
    // A patient's booking links: the token's SHA-256 only, never the token; the order's newest
    // link is its only live one (minting retires the others, found by the order index).
    {8, R"sql(
CREATE TABLE booking_links (
  token_hash     TEXT PRIMARY KEY,
  order_id       TEXT NOT NULL REFERENCES lab_orders (id),
  brand_id       TEXT NOT NULL,
  form_token     TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  expires_at     BIGINT NOT NULL,
  retired_at     BIGINT,
  used_at        BIGINT,
  appointment_id TEXT
);
CREATE INDEX booking_links_order ON booking_links (order_id);
)sql"},
};

inline constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

}  // namespace lab_orders::store
