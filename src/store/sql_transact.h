#pragma once

// SqlStore::Transact, for the files that define the store's methods.

#include <optional>
#include <type_traits>
#include <utility>

#include "lab_orders/store/sql_store.h"
#include "store/sql_session.h"

namespace lab_orders::store {

template <typename Body>
auto SqlStore::Transact(const char* operation, TransactionKind kind, Body&& body)
    -> decltype(body(std::declval<SqlSession&>())) {
  using Result = decltype(body(std::declval<SqlSession&>()));
  if constexpr (std::is_void_v<Result>) {
    database_->Transaction(operation, kind, [&](SqlSession& session) { body(session); });
  } else {
    // Set on every run: a backend may run the body again after a transient conflict.
    std::optional<Result> result;
    database_->Transaction(operation, kind,
                           [&](SqlSession& session) { result.emplace(body(session)); });
    return std::move(*result);
  }
}

}  // namespace lab_orders::store
