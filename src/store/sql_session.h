#pragma once

// What the store's logic needs from a SQL database, so one implementation of it runs on SQLite
// and on PostgreSQL. SQL is written once with ?1..?N placeholders; a backend rewrites it for its
// dialect. Results are small (a page of orders at most), so they are read whole.

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lab_orders::store {

using SqlValue = std::variant<std::monostate, std::int64_t, std::string>;  // monostate: NULL

struct SqlResult {
  std::vector<std::vector<SqlValue>> rows;
  std::int64_t changed_rows = 0;  // rows inserted, updated or deleted by the statement
};

enum class TransactionKind {
  kRead,   // reads only
  kWrite,  // SQLite takes the write lock first, so read-then-write cannot be raced
  // A write whose loss in a crash is made good by doing it again: it need not wait for its own
  // flush to disk (PostgreSQL commits it with synchronous_commit off), and the next durable
  // commit of the same database makes it durable too (the log is written in order).
  kRedoableWrite,
};

class Statement;

// One connection inside one transaction.
class SqlSession {
 public:
  virtual ~SqlSession() = default;

  // One statement with its parameters bound by position (params[0] is ?1).
  virtual SqlResult Execute(const std::string& sql, const std::vector<SqlValue>& params) = 0;
  // A write whose result the body needs only as a check: a backend may hold it and send it with
  // the transaction's next statement, or with its COMMIT, so that many statements cost one round
  // trip. Statements still run in the order they were given, and a deferred one that fails fails
  // the transaction as any would (at the next statement or at the commit). check, when given,
  // sees the rows it changed before anything commits and may throw to roll everything back; when
  // a later statement failed, the checks before it run first (so the first thing that went wrong
  // is what is thrown). A check runs no statement: the transaction may be aborted by then. This
  // default runs the statement at once.
  using DeferredCheck = std::function<void(std::int64_t changed_rows)>;
  virtual void Defer(std::string sql, std::vector<SqlValue> params, DeferredCheck check) {
    const std::int64_t changed = Execute(sql, params).changed_rows;
    if (check) check(changed);
  }
  // A deferred write that must change exactly `rows` rows (an UPDATE or DELETE without
  // RETURNING); otherwise refused is called with the rows it changed, so it can throw what the
  // caller understands (when it does not, the transaction fails all the same). Unlike a check,
  // the expectation can be held by the server: a backend that does so sends the COMMIT in the
  // same round trip as the write, and a refusal aborts it there. This default checks it as Defer
  // does.
  virtual void DeferExpecting(std::string sql, std::vector<SqlValue> params, std::int64_t rows,
                              DeferredCheck refused) {
    Defer(std::move(sql), std::move(params), [rows, refused = std::move(refused)](std::int64_t n) {
      if (n == rows) return;
      if (refused) refused(n);
      throw std::logic_error("store: a guarded write changed " + std::to_string(n) + " rows, not " +
                             std::to_string(rows));
    });
  }
  // Constant SQL without values: DDL, possibly several statements separated by ';'.
  virtual void ExecScript(const std::string& sql) = 0;

  // Row locks where the dialect has them. SQLite has none and needs none: its write transactions
  // take the database's one write lock before their first read.
  virtual std::string_view ForUpdate() const = 0;            // lock what is read
  virtual std::string_view ForUpdateSkipLocked() const = 0;  // ...passing over rows others hold
  // Serialises migrations between processes that start at once.
  virtual void LockForMigration() = 0;

  Statement Query(std::string sql);
  // Rows changed by the last statement this session ran through a Statement.
  std::int64_t ChangedRows() const { return changed_rows_; }

 private:
  friend class Statement;
  std::int64_t changed_rows_ = 0;
};

// A statement being bound, then read row by row: Bind(...), then Step() until false, or Run().
class Statement {
 public:
  Statement(SqlSession& session, std::string sql) : session_(session), sql_(std::move(sql)) {}

  Statement& Bind(int index, std::string_view text) { return Set(index, std::string(text)); }
  Statement& Bind(int index, const std::string& text) { return Set(index, text); }
  Statement& Bind(int index, const char* text) { return Set(index, std::string(text)); }
  Statement& Bind(int index, std::int64_t number) { return Set(index, number); }
  Statement& BindNull(int index) { return Set(index, std::monostate{}); }
  Statement& Bind(int index, const SqlValue& value) { return Set(index, value); }
  Statement& Bind(int index, const std::optional<std::string>& text) {
    return text ? Bind(index, *text) : BindNull(index);
  }
  Statement& Bind(int index, const std::optional<std::int64_t>& number) {
    return number ? Bind(index, *number) : BindNull(index);
  }

  // Runs the statement on the first call; true while there is a row to read.
  bool Step();
  // For statements that return no rows; returns the rows changed.
  std::int64_t Run();
  // Hands the statement to SqlSession::Defer: it runs no later than the transaction's next
  // statement or commit. The Statement is spent.
  void Defer(SqlSession::DeferredCheck check = {});
  // Hands the statement to SqlSession::DeferExpecting. The Statement is spent.
  void DeferExpecting(std::int64_t rows, SqlSession::DeferredCheck refused);

  bool IsNull(int column) const;
  std::string Text(int column) const;
  std::optional<std::string> OptionalText(int column) const;
  std::int64_t Integer(int column) const;
  std::optional<std::int64_t> OptionalInteger(int column) const;

 private:
  Statement& Set(int index, SqlValue value);
  // Marks the statement handed over for deferral (it cannot be deferred twice or after it ran).
  void Spend();
  const SqlValue& Cell(int column) const;

  SqlSession& session_;
  std::string sql_;
  std::vector<SqlValue> params_;
  std::optional<SqlResult> result_;
  std::size_t next_row_ = 0;
};

// A database: hands out sessions, one transaction at a time each.
class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  // Runs body inside one transaction and commits; a throw rolls back and propagates. operation
  // names the caller in error messages. A backend may run body again after a transient conflict
  // (PostgreSQL's deadlock or serialisation failures), so body must not keep state across runs.
  // Throws StoreUnavailable when the database cannot be reached.
  virtual void Transaction(const char* operation, TransactionKind kind,
                           const std::function<void(SqlSession&)>& body) = 0;
};

}  // namespace lab_orders::store
