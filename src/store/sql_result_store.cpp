// ResultStore on SQL: an order's result versions, each sealed (docs/design.md: results).

#include "lab_orders/store/sql_store.h"
#include "store/row_codecs.h"
#include "store/sql_session.h"
#include "store/sql_transact.h"

namespace lab_orders::store {

namespace {

struct ResultRow {
  std::string id;
  std::int64_t version;
  std::string document;  // sealed
};

// The latest version's row of order_id, of brand_id when given.
std::optional<ResultRow> LatestResultRow(SqlSession& db, const std::string& order_id,
                                         const std::optional<std::string>& brand_id) {
  // Another brand's order reads as no result at all.
  Statement select =
      brand_id ? db.Query(
                     "SELECT r.id, r.version, r.document FROM lab_results r JOIN lab_orders o ON "
                     "o.id = r.order_id WHERE r.order_id = ?1 AND o.brand_id = ?2 "
                     "ORDER BY r.version DESC LIMIT 1")
               : db.Query(
                     "SELECT id, version, document FROM lab_results WHERE order_id = ?1 "
                     "ORDER BY version DESC LIMIT 1");
  select.Bind(1, order_id);
  if (brand_id) select.Bind(2, *brand_id);
  if (!select.Step()) return std::nullopt;
  return ResultRow{select.Text(0), select.Integer(1), select.Text(2)};
}

}  // namespace

std::optional<model::OrderResult> SqlStore::OpenResult(const std::string& order_id,
                                                       const std::optional<std::string>& brand_id) {
  std::optional<ResultRow> row =
      Transact("LatestResult", TransactionKind::kRead,
               [&](SqlSession& db) { return LatestResultRow(db, order_id, brand_id); });
  if (!row) return std::nullopt;
  const std::string document =
      cipher_.Decrypt(row->document, ResultAssociatedData(row->id, order_id, row->version));
  try {
    return model::ResultFromJson(nlohmann::json::parse(document));
  } catch (const std::exception&) {
    // Names no value: the document is PHI.
    throw std::runtime_error("store: the result document of order " + order_id + " is malformed");
  }
}

std::optional<model::OrderResult> SqlStore::LatestResult(const std::string& brand_id,
                                                         const std::string& order_id) {
  return OpenResult(order_id, brand_id);
}

std::optional<model::OrderResult> SqlStore::LatestResultOfOrder(const std::string& order_id) {
  return OpenResult(order_id, std::nullopt);
}

int SqlStore::CountResultVersions(const std::string& order_id) {
  return Transact("CountResultVersions", TransactionKind::kRead, [&](SqlSession& db) {
    Statement select = db.Query("SELECT COUNT(*) FROM lab_results WHERE order_id = ?1");
    select.Bind(1, order_id);
    return select.Step() ? static_cast<int>(select.Integer(0)) : 0;
  });
}

}  // namespace lab_orders::store
