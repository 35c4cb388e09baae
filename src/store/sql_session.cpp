#include "store/sql_session.h"

#include <stdexcept>

namespace lab_orders::store {

Statement SqlSession::Query(std::string sql) { return Statement(*this, std::move(sql)); }

Statement& Statement::Set(int index, SqlValue value) {
  if (index < 1) throw std::logic_error("store: SQL parameters are numbered from 1");
  if (result_) throw std::logic_error("store: a statement is bound after it ran");
  if (params_.size() < static_cast<std::size_t>(index)) params_.resize(index);
  params_[index - 1] = std::move(value);
  return *this;
}

bool Statement::Step() {
  if (!result_) {
    result_ = session_.Execute(sql_, params_);
    session_.changed_rows_ = result_->changed_rows;
    next_row_ = 0;
  } else {
    ++next_row_;
  }
  return next_row_ < result_->rows.size();
}

std::int64_t Statement::Run() {
  while (Step()) {
  }
  return result_->changed_rows;
}

void Statement::Spend() {
  if (result_) throw std::logic_error("store: a statement is deferred after it ran");
  result_.emplace();  // spent: nothing to read
}

void Statement::Defer(SqlSession::DeferredCheck check) {
  Spend();
  session_.Defer(std::move(sql_), std::move(params_), std::move(check));
}

void Statement::DeferExpecting(std::int64_t rows, SqlSession::DeferredCheck refused) {
  Spend();
  session_.DeferExpecting(std::move(sql_), std::move(params_), rows, std::move(refused));
}

const SqlValue& Statement::Cell(int column) const {
  if (!result_ || next_row_ >= result_->rows.size()) {
    throw std::logic_error("store: a column is read with no current row");
  }
  const auto& row = result_->rows[next_row_];
  if (column < 0 || static_cast<std::size_t>(column) >= row.size()) {
    throw std::logic_error("store: no such column in the result");
  }
  return row[column];
}

bool Statement::IsNull(int column) const {
  return std::holds_alternative<std::monostate>(Cell(column));
}

std::string Statement::Text(int column) const {
  const SqlValue& cell = Cell(column);
  if (const auto* text = std::get_if<std::string>(&cell)) return *text;
  if (const auto* number = std::get_if<std::int64_t>(&cell)) return std::to_string(*number);
  return {};
}

std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

std::int64_t Statement::Integer(int column) const {
  const SqlValue& cell = Cell(column);
  if (const auto* number = std::get_if<std::int64_t>(&cell)) return *number;
  if (const auto* text = std::get_if<std::string>(&cell)) {
    // Backends hand some integers back as text (PostgreSQL's numeric aggregates, for one).
    std::size_t used = 0;
    std::int64_t value = 0;
    try {
      value = std::stoll(*text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == text->size() && used > 0) return value;
    throw std::runtime_error("store: a column read as an integer holds text");
  }
  return 0;
}

std::optional<std::int64_t> Statement::OptionalInteger(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Integer(column);
}

}  // namespace lab_orders::store
