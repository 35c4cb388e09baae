// SQLite's group commit: writes from many threads share one COMMIT (one fsync), each in its own
// savepoint. A member that fails rolls back alone; nothing is acknowledged before the batch is
// on disk, so a process killed during a batch loses no acknowledged write and leaves none half
// applied; reads do not wait for the writer.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lab_orders/common/ids.h"
#include "lab_orders/store/store.h"
#include "store/sql_session.h"
#include "store/sqlite_database.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;

class SqliteGroupCommitTest : public ::testing::Test {
 protected:
  SqliteGroupCommitTest()
      : path_((std::filesystem::temp_directory_path() / ("group-commit-" + NewRandomUuid() + ".db"))
                  .string()) {}

  ~SqliteGroupCommitTest() override {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ignored;
      std::filesystem::remove(path_ + suffix, ignored);
    }
  }

  std::unique_ptr<SqliteDatabase> Open() const {
    auto database = std::make_unique<SqliteDatabase>(path_, 5000ms);
    database->Transaction("schema", TransactionKind::kWrite, [](SqlSession& session) {
      session.ExecScript(
          "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY);"
          "CREATE TABLE IF NOT EXISTS order_keys (order_id TEXT PRIMARY KEY "
          "REFERENCES orders (id))");
    });
    return database;
  }

  // Two rows that belong together, in one transaction: an order and its key.
  static void InsertPair(SqlSession& session, const std::string& id) {
    session.Query("INSERT INTO orders (id) VALUES (?1)").Bind(1, id).Run();
    session.Query("INSERT INTO order_keys (order_id) VALUES (?1)").Bind(1, id).Run();
  }

  static std::set<std::string> Ids(SqliteDatabase& database, const std::string& table) {
    std::set<std::string> ids;
    database.Transaction("read", TransactionKind::kRead, [&](SqlSession& session) {
      ids.clear();
      Statement select = session.Query(
          "SELECT " + std::string(table == "orders" ? "id" : "order_id") + " FROM " + table);
      while (select.Step()) ids.insert(select.Text(0));
    });
    return ids;
  }

  // Blocks the writer inside a batch of its own until the returned promise is set; returns once
  // that batch is running.
  std::promise<void> HoldWriter(SqliteDatabase& database, std::thread& holder,
                                const std::string& id) {
    std::promise<void> release;
    std::promise<void> running;
    std::future<void> is_running = running.get_future();
    std::shared_future<void> released = release.get_future().share();
    holder = std::thread([&database, released, id, running = std::move(running)]() mutable {
      database.Transaction("hold", TransactionKind::kWrite, [&](SqlSession& session) {
        InsertPair(session, id);
        running.set_value();
        released.wait();
      });
    });
    is_running.wait();
    return release;
  }

  static void WaitForQueuedWrites(const SqliteDatabase& database, std::size_t count) {
    while (database.QueuedWrites() < count) std::this_thread::yield();
  }

  std::string path_;
};

TEST_F(SqliteGroupCommitTest, WritesWaitingBehindABatchCommitTogetherAndAFailedOneRollsBackAlone) {
  auto database = Open();
  const SqliteDatabase::CommitCounts before = database->Commits();
  std::thread holder;
  std::promise<void> release = HoldWriter(*database, holder, "held");

  constexpr int kWriters = 8;
  constexpr int kFailing = 3;
  std::vector<std::thread> writers;
  std::vector<std::exception_ptr> errors(kWriters);
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      try {
        database->Transaction("write", TransactionKind::kWrite, [&](SqlSession& session) {
          InsertPair(session, "order-" + std::to_string(i));
          if (i == kFailing) throw std::runtime_error("this member fails after writing");
        });
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  WaitForQueuedWrites(*database, kWriters);
  release.set_value();
  holder.join();
  for (std::thread& writer : writers) writer.join();

  for (int i = 0; i < kWriters; ++i) EXPECT_EQ(errors[i] != nullptr, i == kFailing) << i;
  // The failing member's own error reached its caller, and nobody else's.
  EXPECT_THROW(std::rethrow_exception(errors[kFailing]), std::runtime_error);
  std::set<std::string> expected = {"held"};
  for (int i = 0; i < kWriters; ++i) {
    if (i != kFailing) expected.insert("order-" + std::to_string(i));
  }
  EXPECT_EQ(Ids(*database, "orders"), expected);
  EXPECT_EQ(Ids(*database, "order_keys"), expected);
  // The held batch, then one batch for all eight: two COMMITs (two fsyncs) for eight writes.
  const SqliteDatabase::CommitCounts after = database->Commits();
  EXPECT_EQ(after.batches - before.batches, 2);
  EXPECT_EQ(after.transactions - before.transactions, 1 + kWriters - 1);
}

// A redoable write is answered once its body has run in a batch, before the batch's COMMIT: here
// the durable write after it in the same batch waits, inside the batch, for that answer. The
// durable one leads the batch (a leader waits for its COMMIT; a redoable write need not).
TEST_F(SqliteGroupCommitTest, ARedoableWriteIsAnsweredOnceAppliedNotAfterItsBatchCommits) {
  auto database = Open();
  const SqliteDatabase::CommitCounts before = database->Commits();
  std::thread holder;
  std::promise<void> release = HoldWriter(*database, holder, "held");

  std::promise<void> redoable_answered;
  std::shared_future<void> answered = redoable_answered.get_future().share();
  std::thread redoable([&] {
    database->Transaction("redoable", TransactionKind::kRedoableWrite,
                          [](SqlSession& session) { InsertPair(session, "redoable"); });
    redoable_answered.set_value();
  });
  WaitForQueuedWrites(*database, 1);
  std::future_status seen_by_durable = std::future_status::deferred;
  std::thread durable([&] {
    database->Transaction("durable", TransactionKind::kWrite, [&](SqlSession& session) {
      InsertPair(session, "durable");
      // A bound, not a pause: it returns as soon as the answer is in.
      seen_by_durable = answered.wait_for(60s);
    });
  });
  WaitForQueuedWrites(*database, 2);
  release.set_value();
  holder.join();
  durable.join();
  redoable.join();

  EXPECT_EQ(seen_by_durable, std::future_status::ready);
  EXPECT_EQ(Ids(*database, "orders"), (std::set<std::string>{"held", "redoable", "durable"}));
  const SqliteDatabase::CommitCounts after = database->Commits();
  EXPECT_EQ(after.batches - before.batches, 2);
  EXPECT_EQ(after.transactions - before.transactions, 3);
}

TEST_F(SqliteGroupCommitTest, AMemberBreakingAConstraintRollsBackAloneAndTheOthersCommit) {
  auto database = Open();
  database->Transaction("seed", TransactionKind::kWrite,
                        [](SqlSession& session) { InsertPair(session, "taken"); });
  std::thread holder;
  std::promise<void> release = HoldWriter(*database, holder, "held");
  std::exception_ptr duplicate_error;
  std::thread duplicate([&] {
    try {
      database->Transaction("duplicate", TransactionKind::kWrite, [](SqlSession& session) {
        session.Query("INSERT INTO orders (id) VALUES ('fresh')").Run();
        session.Query("INSERT INTO orders (id) VALUES ('taken')").Run();  // primary key clash
      });
    } catch (...) {
      duplicate_error = std::current_exception();
    }
  });
  WaitForQueuedWrites(*database, 1);
  std::thread after([&] {
    database->Transaction("after", TransactionKind::kWrite,
                          [](SqlSession& session) { InsertPair(session, "after"); });
  });
  WaitForQueuedWrites(*database, 2);
  release.set_value();
  holder.join();
  duplicate.join();
  after.join();

  ASSERT_NE(duplicate_error, nullptr);
  EXPECT_THROW(std::rethrow_exception(duplicate_error), std::logic_error);
  // Its first insert went with it; the members before and after it are there.
  EXPECT_EQ(Ids(*database, "orders"), (std::set<std::string>{"taken", "held", "after"}));
}

TEST_F(SqliteGroupCommitTest, AReadDoesNotWaitForTheWriterAndSeesOnlyWhatCommitted) {
  auto database = Open();
  database->Transaction("seed", TransactionKind::kWrite,
                        [](SqlSession& session) { InsertPair(session, "committed"); });
  std::thread holder;
  std::promise<void> release = HoldWriter(*database, holder, "in-flight");
  // The writer is inside a batch; the read completes regardless, and does not see it.
  EXPECT_EQ(Ids(*database, "orders"), (std::set<std::string>{"committed"}));
  release.set_value();
  holder.join();
  EXPECT_EQ(Ids(*database, "orders"), (std::set<std::string>{"committed", "in-flight"}));
}

TEST_F(SqliteGroupCommitTest, AReaderCannotWrite) {
  auto database = Open();
  EXPECT_ANY_THROW(database->Transaction("sneaky write", TransactionKind::kRead,
                                         [](SqlSession& session) { InsertPair(session, "x"); }));
  EXPECT_TRUE(Ids(*database, "orders").empty());
}

// A child process writes from many threads and reports each write the moment it is
// acknowledged; it is killed mid-stream. Every acknowledged write is in the file, and every
// write in the file is whole (both of its rows). Each durable write follows a redoable one of
// the same thread, answered before its own COMMIT: the durable one's COMMIT carries it too.
TEST_F(SqliteGroupCommitTest,
       AProcessKilledDuringBatchesLosesNoAcknowledgedWriteAndHalfAppliesNone) {
  Open();  // the schema, before the child starts
  int pipe_ends[2];
  ASSERT_EQ(pipe(pipe_ends), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_ends[0]);
    auto database = std::make_unique<SqliteDatabase>(path_, 5000ms);
    std::vector<std::thread> writers;
    for (int thread = 0; thread < 8; ++thread) {
      writers.emplace_back([&, thread] {
        for (int i = 0;; ++i) {
          const std::string id = std::to_string(thread) + "-" + std::to_string(i);
          database->Transaction("redoable", TransactionKind::kRedoableWrite,
                                [&](SqlSession& session) { InsertPair(session, id + "-redo"); });
          database->Transaction("write", TransactionKind::kWrite,
                                [&](SqlSession& session) { InsertPair(session, id); });
          const std::string line = id + "\n";  // acknowledged: reported at once, unbuffered
          if (write(pipe_ends[1], line.data(), line.size()) < 0) _exit(1);
        }
      });
    }
    for (std::thread& writer : writers) writer.join();
    _exit(0);
  }
  close(pipe_ends[1]);
  std::set<std::string> acknowledged;
  std::string pending;
  char buffer[4096];
  while (acknowledged.size() < 2000) {
    const ssize_t got = read(pipe_ends[0], buffer, sizeof buffer);
    ASSERT_GT(got, 0) << "the writer process stopped early";
    pending.append(buffer, static_cast<std::size_t>(got));
    for (std::size_t end; (end = pending.find('\n')) != std::string::npos;) {
      acknowledged.insert(pending.substr(0, end));
      pending.erase(0, end + 1);
    }
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_ends[0]);
  ASSERT_TRUE(WIFSIGNALED(status));

  SqliteDatabase reopened(path_, 5000ms);
  const std::set<std::string> orders = Ids(reopened, "orders");
  const std::set<std::string> keys = Ids(reopened, "order_keys");
  for (const std::string& id : acknowledged) {
    ASSERT_TRUE(orders.contains(id)) << id;
    ASSERT_TRUE(orders.contains(id + "-redo")) << id;
  }
  EXPECT_EQ(orders, keys);
}

}  // namespace
}  // namespace lab_orders::store
