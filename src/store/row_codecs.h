#pragma once

// Rows and values as the store writes and reads them: column lists, timestamps, the sealed
// documents (PHI, workflow, metadata), and the rows more than one aggregate reads or writes.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "lab_orders/model/order.h"
#include "lab_orders/model/order_result.h"
#include "lab_orders/store/job_store.h"
#include "lab_orders/store/order_store.h"
#include "lab_orders/store/phi_cipher.h"
#include "lab_orders/store/webhook_store.h"
#include "store/sql_session.h"

namespace lab_orders::store {

inline constexpr const char* kOrderColumns =
    "id, brand_id, user_id, patient_id, panel_slug, status, total_cents, currency, "
    "junction_user_id, junction_order_id, created_at, updated_at, completed_at, phi, workflow, "
    "version, external_order_id, metadata";

inline constexpr const char* kKeyColumns =
    "brand_id, key, fingerprint, recovery_point, order_id, response_status, response_body, "
    "created_at, body_digest";
inline constexpr int kKeyColumnCount = 9;  // the columns in kKeyColumns

// A row by its primary key ?1, if it belongs to the brand ?2. The brand is compared with IS NOT
// DISTINCT FROM (the same as = on a NOT NULL column) so that PostgreSQL cannot make it an index
// condition. On a table it has no statistics for yet (a new database) the planner otherwise
// takes an index led by brand_id, with the id a filter inside it, and keeps that plan in the
// prepared statement: every update of an order then read all of its brand's orders.
inline constexpr std::string_view kIdOfBrand = "id = ?1 AND brand_id IS NOT DISTINCT FROM ?2";

inline constexpr const char* kJobColumns =
    "id, kind, order_id, payload, attempts, due_at, created_at, lease_owner";

// Job states ('queued', 'done') and the one kind that is not a step (kJobJunctionEvent) are
// literals in the SQL below: a partial index is used only when the query repeats its text.

inline constexpr const char* kEndpointColumns =
    "id, brand_id, url, event_types, secret, previous_secret, previous_secret_expires_at, "
    "disabled, created_at";

std::int64_t EpochMillis(TimePoint time);
TimePoint FromEpochMillis(std::int64_t millis);
// Stored order timestamps must share one fixed-width form, or text order stops being time order.
std::string CanonicalTimestamp(const std::string& text, const char* field);
std::optional<std::string> CanonicalTimestamp(const std::optional<std::string>& text,
                                              const char* field);
RecoveryPoint ParseRecoveryPoint(std::string_view name);

// Binds a sealed value to the row it belongs to, so it cannot be moved to another row.
std::string PhiAssociatedData(const std::string& order_id);
// A result version's document is bound to its row: a sealed document moved to another row (of
// another order, or another version of the same order) does not open.
std::string ResultAssociatedData(const std::string& result_id, const std::string& order_id,
                                 std::int64_t version);
// Inserts a result version (sealed) inside the caller's transaction.
void InsertResultRow(SqlSession& connection, const PhiCipher& cipher,
                     const model::OrderResult& result);
std::string ResponseAssociatedData(const std::string& brand_id, const std::string& key);
std::string SecretAssociatedData(const std::string& endpoint_id, const char* column);

// Every PHI field of an order in one document, so one seal covers them all.
std::string PhiDocument(const model::LabOrder& order);
std::string WorkflowDocument(const model::WorkflowState& state);
model::WorkflowState ReadWorkflowDocument(const std::string& text);

// The record of a key the caller has just inserted, leased to it at point.
IdempotencyRecord InsertedKeyRecord(const std::string& brand_id, const std::string& key,
                                    const RequestIdentity& request, RecoveryPoint point,
                                    TimePoint now);
// Reads kKeyColumns, the first columns of row, unsealing the stored answer.
IdempotencyRecord ReadKeyRow(const Statement& row, const PhiCipher& cipher);
// Reads kOrderColumns, the first columns of row, unsealing the PHI.
model::LabOrder ReadOrderRow(const Statement& row, const PhiCipher& cipher);
// Reads kEndpointColumns from column `first` on, unsealing the secrets.
WebhookEndpoint ReadEndpointRow(const Statement& row, const PhiCipher& cipher, int first = 0);
void InsertJob(SqlSession& connection, const NewJob& job, TimePoint created_at);

}  // namespace lab_orders::store
