// The SQL sessions under the store, on SQLite and on PostgreSQL: deferred writes keep the meaning
// of statements run one at a time (order, checks, failures, atomicity) while PostgreSQL sends them
// together; and PostgreSQL's pool serves waiting transactions in the order they came.

#include "store/sql_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lab_orders/store/store_errors.h"
#include "store/postgres_database.h"
#include "support/store_backends.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using testing::StoreBackend;

struct CheckRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class SqlSessionTest : public testing::StoreDatabaseTest,
                       public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend Backend() const override { return GetParam(); }

  void SetUp() override {
    testing::StoreDatabaseTest::SetUp();
    if (!database_) return;
    db_ = database().OpenSqlDatabase();
    db_->Transaction("schema", TransactionKind::kWrite, [](SqlSession& session) {
      session.ExecScript("CREATE TABLE items (id TEXT PRIMARY KEY, note TEXT)");
    });
  }

  void TearDown() override {
    db_.reset();
    testing::StoreDatabaseTest::TearDown();
  }

  static void DeferInsert(SqlSession& session, const std::string& id,
                          SqlSession::DeferredCheck check = {}) {
    session.Query("INSERT INTO items (id, note) VALUES (?1, ?2)")
        .Bind(1, id)
        .Bind(2, "note of " + id)
        .Defer(std::move(check));
  }

  std::string Ids() {
    std::string ids;
    db_->Transaction("read", TransactionKind::kRead, [&](SqlSession& session) {
      ids.clear();
      Statement select = session.Query("SELECT id FROM items ORDER BY id");
      while (select.Step()) ids += select.Text(0) + " ";
    });
    return ids;
  }

  std::unique_ptr<SqlDatabase> db_;
};

TEST_P(SqlSessionTest, DeferredWritesRunBeforeTheNextStatementInTheOrderGiven) {
  db_->Transaction("write", TransactionKind::kWrite, [](SqlSession& session) {
    DeferInsert(session, "a");
    session.Query("UPDATE items SET note = ?2 WHERE id = ?1").Bind(1, "a").Bind(2, "x").Defer();
    DeferInsert(session, "b");
    Statement select = session.Query("SELECT id, note FROM items ORDER BY id");
    ASSERT_TRUE(select.Step());
    EXPECT_EQ(select.Text(0), "a");
    EXPECT_EQ(select.Text(1), "x");  // the update ran after its insert
    ASSERT_TRUE(select.Step());
    EXPECT_EQ(select.Text(0), "b");
    EXPECT_FALSE(select.Step());
  });
  EXPECT_EQ(Ids(), "a b ");
}

TEST_P(SqlSessionTest, DeferredWritesAloneCommitWithTheTransaction) {
  // The same statement twice, and on a connection that has prepared nothing yet.
  db_->Transaction("write", TransactionKind::kWrite, [](SqlSession& session) {
    DeferInsert(session, "a");
    DeferInsert(session, "b");
  });
  EXPECT_EQ(Ids(), "a b ");
  db_->Transaction("redoable", TransactionKind::kRedoableWrite,
                   [](SqlSession& session) { DeferInsert(session, "c"); });
  EXPECT_EQ(Ids(), "a b c ");
}

TEST_P(SqlSessionTest, ChecksSeeTheRowsChangedAndARefusalRollsEverythingBack) {
  std::vector<std::int64_t> seen;
  EXPECT_THROW(db_->Transaction("write", TransactionKind::kWrite,
                                [&](SqlSession& session) {
                                  seen.clear();
                                  DeferInsert(session, "a", [&](std::int64_t changed) {
                                    seen.push_back(changed);
                                  });
                                  session.Query("UPDATE items SET note = 'y' WHERE id = ?1")
                                      .Bind(1, "missing")
                                      .Defer([&](std::int64_t changed) {
                                        seen.push_back(changed);
                                        if (changed != 1) throw CheckRefused("no such item");
                                      });
                                  DeferInsert(session, "b");
                                }),
               CheckRefused);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(Ids(), "");
}

TEST_P(SqlSessionTest, ACheckBeforeAFailedStatementIsWhatIsThrown) {
  db_->Transaction("seed", TransactionKind::kWrite,
                   [](SqlSession& session) { DeferInsert(session, "a"); });
  // Run one at a time, the check would have refused before the duplicate insert ran.
  EXPECT_THROW(db_->Transaction("write", TransactionKind::kWrite,
                                [&](SqlSession& session) {
                                  DeferInsert(session, "b");
                                  session.Query("DELETE FROM items WHERE id = ?1")
                                      .Bind(1, "missing")
                                      .Defer([](std::int64_t changed) {
                                        if (changed != 1) throw CheckRefused("nothing deleted");
                                      });
                                  DeferInsert(session, "a");
                                }),
               CheckRefused);
  EXPECT_EQ(Ids(), "a ");
}

TEST_P(SqlSessionTest, AFailedDeferredWriteFailsTheTransactionAndCommitsNothing) {
  db_->Transaction("seed", TransactionKind::kWrite,
                   [](SqlSession& session) { DeferInsert(session, "a"); });
  for (TransactionKind kind : {TransactionKind::kWrite, TransactionKind::kRedoableWrite}) {
    // Failing with the COMMIT (nothing after it), and before a statement that needs its answer.
    EXPECT_THROW(db_->Transaction("write", kind,
                                  [](SqlSession& session) {
                                    session.Query("SELECT COUNT(*) FROM items").Run();
                                    DeferInsert(session, "b");
                                    DeferInsert(session, "a");
                                  }),
                 std::logic_error);
    EXPECT_THROW(db_->Transaction("write", kind,
                                  [](SqlSession& session) {
                                    DeferInsert(session, "c");
                                    DeferInsert(session, "a");
                                    session.Query("SELECT COUNT(*) FROM items").Run();
                                    ADD_FAILURE() << "the statement after the failure ran";
                                  }),
                 std::logic_error);
  }
  EXPECT_EQ(Ids(), "a ");
  // The connections are usable after the failures.
  db_->Transaction("write", TransactionKind::kWrite,
                   [](SqlSession& session) { DeferInsert(session, "d"); });
  EXPECT_EQ(Ids(), "a d ");
}

// DeferExpecting: on PostgreSQL the server holds the count, and the COMMIT goes with the write.
TEST_P(SqlSessionTest, AMetExpectationCommitsWithTheTransaction) {
  db_->Transaction("seed", TransactionKind::kWrite,
                   [](SqlSession& session) { DeferInsert(session, "a"); });
  for (TransactionKind kind : {TransactionKind::kWrite, TransactionKind::kRedoableWrite}) {
    db_->Transaction("write", kind, [&](SqlSession& session) {
      session.Query("UPDATE items SET note = ?2 WHERE id = ?1")
          .Bind(1, "a")
          .Bind(2, "moved")
          .DeferExpecting(1, [](std::int64_t changed) {
            ADD_FAILURE() << "refused with " << changed << " rows changed";
          });
      DeferInsert(session, kind == TransactionKind::kWrite ? "b" : "c");
    });
  }
  EXPECT_EQ(Ids(), "a b c ");
  std::string note;
  db_->Transaction("read", TransactionKind::kRead, [&](SqlSession& session) {
    Statement select = session.Query("SELECT note FROM items WHERE id = ?1");
    select.Bind(1, "a");
    ASSERT_TRUE(select.Step());
    note = select.Text(0);
  });
  EXPECT_EQ(note, "moved");
}

TEST_P(SqlSessionTest, AnUnmetExpectationIsRefusedWithTheRowsChangedAndCommitsNothing) {
  db_->Transaction("seed", TransactionKind::kWrite, [](SqlSession& session) {
    DeferInsert(session, "a");
    DeferInsert(session, "b");
  });
  // Every row, then, is a, b and the c inserted before the guarded write.
  for (const auto& [where, expected_changed] :
       std::vector<std::pair<std::string, std::int64_t>>{{"id = 'missing'", 0}, {"1 = 1", 3}}) {
    for (TransactionKind kind : {TransactionKind::kWrite, TransactionKind::kRedoableWrite}) {
      std::vector<std::int64_t> seen;
      EXPECT_THROW(db_->Transaction("write", kind,
                                    [&](SqlSession& session) {
                                      seen.clear();
                                      // A check before it runs first, as it would one at a time.
                                      DeferInsert(session, "c", [&](std::int64_t changed) {
                                        seen.push_back(changed);
                                      });
                                      session.Query("UPDATE items SET note = 'x' WHERE " + where)
                                          .DeferExpecting(1, [&](std::int64_t changed) {
                                            seen.push_back(changed);
                                            throw CheckRefused("guard refused");
                                          });
                                      DeferInsert(session, "d");
                                    }),
                   CheckRefused);
      EXPECT_EQ(seen, (std::vector<std::int64_t>{1, expected_changed})) << where;
    }
  }
  // A refusal that throws nothing of its own still fails the transaction. On PostgreSQL it is
  // the server's (the expectation went with the COMMIT, so no check ran before it).
  try {
    db_->Transaction("write", TransactionKind::kWrite, [](SqlSession& session) {
      DeferInsert(session, "e");
      session.Query("DELETE FROM items WHERE id = 'missing'").DeferExpecting(1, {});
    });
    ADD_FAILURE() << "an unmet expectation committed";
  } catch (const std::exception& refusal) {
    if (GetParam() == StoreBackend::kPostgres) {
      EXPECT_THAT(refusal.what(), ::testing::HasSubstr("SQLSTATE LO001"));
    }
  }
  EXPECT_EQ(Ids(), "a b ");
  // The connections are usable after the refusals.
  db_->Transaction("write", TransactionKind::kWrite,
                   [](SqlSession& session) { DeferInsert(session, "f"); });
  EXPECT_EQ(Ids(), "a b f ");
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlSessionTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

// PostgreSQL's pool hands a returned connection to the transaction that has waited longest.
class PostgresPoolTest : public testing::StoreDatabaseTest {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kPostgres; }
};

TEST_F(PostgresPoolTest, WaitersAreServedInTheOrderTheyCame) {
  if (!database_) return;
  std::unique_ptr<SqlDatabase> opened = database().OpenSqlDatabase(1, 30s);
  auto& db = dynamic_cast<PostgresDatabase&>(*opened);

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  std::thread holder([&] {
    db.Transaction("hold", TransactionKind::kRead, [&](SqlSession& session) {
      session.Execute("SELECT 1", {});
      holding.set_value();
      released.wait();
    });
  });
  holding.get_future().wait();

  constexpr int kWaiters = 5;
  std::mutex mutex;
  std::vector<int> served;
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      db.Transaction("wait", TransactionKind::kRead, [&](SqlSession& session) {
        session.Execute("SELECT 1", {});
        std::lock_guard lock(mutex);
        served.push_back(i);
      });
    });
    // The next comes only once this one waits.
    while (db.WaitingForConnection() != i + 1) std::this_thread::yield();
  }
  release.set_value();
  holder.join();
  for (std::thread& waiter : waiters) waiter.join();
  EXPECT_EQ(served, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(PostgresPoolTest, AWaiterGivesUpAfterTheAcquireTimeout) {
  if (!database_) return;
  std::unique_ptr<SqlDatabase> opened = database().OpenSqlDatabase(1, 50ms);
  auto& db = dynamic_cast<PostgresDatabase&>(*opened);
  db.Transaction("hold", TransactionKind::kRead, [&](SqlSession& session) {
    session.Execute("SELECT 1", {});
    std::thread other([&] {
      EXPECT_THROW(db.Transaction("wait", TransactionKind::kRead,
                                  [](SqlSession& inner) { inner.Execute("SELECT 1", {}); }),
                   StoreUnavailable);
    });
    other.join();
    EXPECT_EQ(db.WaitingForConnection(), 0);  // it left the queue
  });
  // The pool still works.
  db.Transaction("after", TransactionKind::kRead,
                 [](SqlSession& session) { session.Execute("SELECT 1", {}); });
}

}  // namespace
}  // namespace lab_orders::store
