#pragma once

// SQLite behind SqlDatabase, in WAL mode with synchronous=FULL, and with group commit.
//
// Write transactions from many threads share one write connection and one fsync: whoever finds
// the writer free takes every write waiting (its own among them) and runs them as one SQLite
// transaction, each body in its own SAVEPOINT, so a body that throws rolls back alone; then one
// COMMIT makes the batch durable, and only then is any of them acknowledged (but a redoable
// write, answered once applied: see TransactionKind). While that fsync runs, the next batch
// queues up. Reads run on connections of their own and never wait for the
// writer (WAL lets readers see the last commit while a write is in progress).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sql_session.h"

namespace lab_orders::store {

class SqliteDatabase final : public SqlDatabase {
 public:
  // Opens (creating if needed) the file. Throws StoreUnavailable when it cannot be opened or
  // configured. ":memory:" is one connection for reads and writes alike (another connection
  // would be another database).
  SqliteDatabase(const std::string& path, std::chrono::milliseconds busy_timeout);
  ~SqliteDatabase() override;
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  void Transaction(const char* operation, TransactionKind kind,
                   const std::function<void(SqlSession&)>& body) override;

  // How many COMMITs of write batches this database has made (each one fsync of the WAL), and how
  // many write transactions they carried: the group commit at work, for tests and benchmarks.
  struct CommitCounts {
    std::int64_t batches = 0;
    std::int64_t transactions = 0;
  };
  CommitCounts Commits() const;
  // Writes waiting for the next batch (behind the one running, if any).
  std::size_t QueuedWrites() const;

 private:
  class Connection;
  struct WriteRequest;

  void Write(WriteRequest& request);
  // Runs the batch as one SQLite transaction and records each member's outcome.
  void RunBatch(std::vector<WriteRequest*>& batch);
  void Read(const char* operation, const std::function<void(SqlSession&)>& body);

  const std::string path_;
  const std::chrono::milliseconds busy_timeout_;
  const bool in_memory_;

  // The writer: one connection, used by one batch at a time.
  std::unique_ptr<Connection> writer_;
  mutable std::mutex queue_mutex_;
  std::deque<WriteRequest*> waiting_;  // writes not yet taken into a batch
  bool writing_ = false;               // a batch is running
  std::size_t durable_waiting_ = 0;    // waiting writes that are not redoable
  CommitCounts commits_;

  // Readers: idle connections, opened as needed up to kMaxReaders.
  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  int open_readers_ = 0;
};

}  // namespace lab_orders::store
