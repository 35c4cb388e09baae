#include "store/outbox.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "store/row_codecs.h"

namespace lab_orders::store {
namespace {

using std::chrono::system_clock;

bool Subscribed(const std::vector<std::string>& event_types, const std::string& type) {
  return event_types.empty() ||
         std::find(event_types.begin(), event_types.end(), type) != event_types.end();
}

}  // namespace

model::OrderBefore ReadOrderBefore(SqlSession& connection, const std::string& order_id) {
  Statement select = connection.Query("SELECT status, workflow FROM lab_orders WHERE id = ?1");
  select.Bind(1, order_id);
  if (!select.Step()) throw std::logic_error("store: no such order");
  model::WorkflowState state = ReadWorkflowDocument(select.Text(1));
  return {select.Text(0),
          std::move(state.appointment),
          std::move(state.sample_id),
          std::move(state.result),
          std::move(state.critical_reported_for),
          std::move(state.collection_method)};
}

void InsertOrderEvents(SqlSession& connection, const PhiCipher& cipher,
                       const std::optional<model::OrderBefore>& before,
                       const model::LabOrder& after) {
  std::vector<model::OrderEvent> events = model::OrderEventsFor(before, after);
  if (events.empty()) return;
  system_clock::time_point occurred_at;
  if (!ParseRfc3339(after.updated_at, &occurred_at)) {
    throw std::invalid_argument("order updated_at is not an RFC 3339 timestamp");
  }
  const std::int64_t created_at = EpochMillis(occurred_at);

  std::vector<WebhookEndpoint> endpoints;
  {
    Statement select =
        connection.Query(std::string("SELECT ") + kEndpointColumns +
                         " FROM webhook_endpoints WHERE brand_id = ?1 AND disabled = 0");
    select.Bind(1, after.brand_id);
    while (select.Step()) endpoints.push_back(ReadEndpointRow(select, cipher));
  }
  std::int64_t sequence = 0;
  // A new order (nothing before) has no events yet: one round trip less on its last commit.
  if (before) {
    Statement select = connection.Query(
        "SELECT COALESCE(MAX(sequence), 0) FROM webhook_events WHERE order_id = ?1");
    select.Bind(1, after.id);
    if (select.Step()) sequence = select.Integer(0);
  }
  for (const model::OrderEvent& event : events) {
    ++sequence;
    const std::string event_id = "msg_" + NewRandomUuid();
    Statement insert = connection.Query(
        "INSERT INTO webhook_events (id, brand_id, order_id, type, payload, sequence, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    insert.Bind(1, event_id)
        .Bind(2, after.brand_id)
        .Bind(3, after.id)
        .Bind(4, event.type)
        .Bind(5, model::EventEnvelope(event, FormatRfc3339(occurred_at)).dump())
        .Bind(6, sequence)
        .Bind(7, created_at)
        .Defer();
    for (const WebhookEndpoint& endpoint : endpoints) {
      if (!Subscribed(endpoint.event_types, event.type)) continue;
      Statement delivery = connection.Query(
          "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, order_id, sequence, state, "
          "attempts, next_attempt_at, created_at, updated_at, priority) "
          "VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6, ?6, ?7)");
      delivery.Bind(1, "dlv_" + NewRandomUuid())
          .Bind(2, endpoint.id)
          .Bind(3, event_id)
          .Bind(4, after.id)
          .Bind(5, sequence)
          .Bind(6, created_at)
          .Bind(7, std::int64_t{model::IsPriorityEventType(event.type) ? 1 : 0})
          .Defer();
    }
  }
}

}  // namespace lab_orders::store
