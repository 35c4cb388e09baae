// BookingLinkStore on SQL: a patient's booking links, by the hash of their token.

#include "lab_orders/store/sql_store.h"
#include "store/row_codecs.h"
#include "store/sql_session.h"
#include "store/sql_transact.h"

namespace lab_orders::store {

void SqlStore::MintBookingLink(const BookingLink& link) {
  Transact("MintBookingLink", TransactionKind::kWrite, [&](SqlSession& db) {
    db.Query("UPDATE booking_links SET retired_at = ?2 WHERE order_id = ?1 AND retired_at IS NULL")
        .Bind(1, link.order_id)
        .Bind(2, EpochMillis(link.created_at))
        .Run();
    db.Query(
          "INSERT INTO booking_links (token_hash, order_id, brand_id, form_token, created_at, "
          "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .Bind(1, link.token_hash)
        .Bind(2, link.order_id)
        .Bind(3, link.brand_id)
        .Bind(4, link.form_token)
        .Bind(5, EpochMillis(link.created_at))
        .Bind(6, EpochMillis(link.expires_at))
        .Run();
  });
}

std::optional<BookingLink> SqlStore::FindBookingLink(const std::string& token_hash) {
  return Transact("FindBookingLink", TransactionKind::kRead,
                  [&](SqlSession& db) -> std::optional<BookingLink> {
                    Statement select = db.Query(
                        "SELECT token_hash, order_id, brand_id, form_token, created_at, "
                        "expires_at, retired_at, used_at, appointment_id FROM booking_links "
                        "WHERE token_hash = ?1");
                    select.Bind(1, token_hash);
                    if (!select.Step()) return std::nullopt;
                    auto optional_time = [&](int column) -> std::optional<TimePoint> {
                      std::optional<std::int64_t> millis = select.OptionalInteger(column);
                      if (!millis) return std::nullopt;
                      return FromEpochMillis(*millis);
                    };
                    BookingLink link;
                    link.token_hash = select.Text(0);
                    link.order_id = select.Text(1);
                    link.brand_id = select.Text(2);
                    link.form_token = select.Text(3);
                    link.created_at = FromEpochMillis(select.Integer(4));
                    link.expires_at = FromEpochMillis(select.Integer(5));
                    link.retired_at = optional_time(6);
                    link.used_at = optional_time(7);
                    link.appointment_id = select.OptionalText(8);
                    return link;
                  });
}

bool SqlStore::MarkBookingLinkUsed(const std::string& token_hash, const std::string& appointment_id,
                                   TimePoint now) {
  return Transact("MarkBookingLinkUsed", TransactionKind::kWrite, [&](SqlSession& db) {
    return db.Query(
                 "UPDATE booking_links SET used_at = ?2, appointment_id = ?3 WHERE "
                 "token_hash = ?1")
               .Bind(1, token_hash)
               .Bind(2, EpochMillis(now))
               .Bind(3, appointment_id)
               .Run() == 1;
  });
}

}  // namespace lab_orders::store
