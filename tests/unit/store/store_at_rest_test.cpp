// What the Store keeps at rest, on every backend and on each: patient data sealed (never in a
// column or the file in plaintext, bound to its row and key), and a database that cannot be
// opened or is locked past its timeout (unavailable, naming no value).

#include "unit/store/store_test_fixture.h"

namespace lab_orders::store {
namespace {

using namespace store_test_support;  // the fixture, its constants and helpers

// ---- PHI at rest -------------------------------------------------------------------------------

constexpr const char* kAllPhi[] = {kFirstName, kLastName, kEmail, kPhone,
                                   kDob,       kLine1,    kLine2, kCity};

// Every text column of every table of the store, as "table.column", from the backend's catalog.
std::vector<std::string> TextColumns(testing::TestDatabase& database) {
  const std::string list =
      database.backend() == StoreBackend::kSqlite
          ? database.QueryText(
                "SELECT group_concat(m.name || '.' || c.name, ',') FROM sqlite_master AS m "
                "JOIN pragma_table_info(m.name) AS c WHERE m.type = 'table' AND c.type = 'TEXT'")
          : database.QueryText(
                "SELECT string_agg(table_name || '.' || column_name, ',') "
                "FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type = 'text'");
  std::vector<std::string> columns;
  for (std::size_t start = 0; start < list.size();) {
    std::size_t end = std::min(list.find(',', start), list.size());
    columns.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return columns;
}

// Every value of one column, joined.
std::string ColumnValues(testing::TestDatabase& database, const std::string& table_dot_column) {
  const std::size_t dot = table_dot_column.find('.');
  const std::string table = table_dot_column.substr(0, dot);
  const std::string column = table_dot_column.substr(dot + 1);
  const char* aggregate =
      database.backend() == StoreBackend::kSqlite ? "group_concat" : "string_agg";
  return database.QueryText(std::string("SELECT ") + aggregate + "(\"" + column +
                            "\", '|') FROM \"" + table + "\"");
}

// What the server stores, column by column (on SQLite the file's bytes are checked below too).
TEST_P(StoreTest, NoStoredColumnHoldsPatientDataInPlaintext) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  Store().SaveJunctionUser("b", "k", "order-1", "b:patient-42", "junction-user-9", kT0);
  ++order.version;
  // A response body is sealed too, whatever it carries.
  SaveOrdered("k", order, "junction-user-9", "junction-order-7", kT0,
              std::string(R"({"echo":")") + kFirstName + kEmail + "\"}");

  std::vector<std::string> columns = TextColumns(database());
  // The catalog was read: the sealed columns are among those checked.
  for (const char* sealed : {"lab_orders.phi", "idempotency_keys.response_body"}) {
    EXPECT_NE(std::find(columns.begin(), columns.end(), sealed), columns.end()) << sealed;
  }
  std::string everything;
  for (const std::string& column : columns) {
    const std::string values = ColumnValues(database(), column);
    for (const char* phi : kAllPhi) {
      EXPECT_EQ(values.find(phi), std::string::npos) << phi << " in " << column;
    }
    everything += values;
  }
  // Ids are not PHI and stay readable, which also proves the values were read.
  EXPECT_NE(everything.find("patient-42"), std::string::npos);
  EXPECT_NE(everything.find("junction-order-7"), std::string::npos);
}

// WAL lets readers and the writer work at once; the mode is stored in the file's header (bytes
// 18 and 19, the write and read format versions: 2 means WAL), so it outlives the connection.
TEST_F(SqliteStoreTest, TheFileIsInWalMode) {
  Store();
  std::string header = ReadFileBytes(path()).substr(0, 20);
  ASSERT_EQ(header.size(), 20u);
  EXPECT_EQ(header[18], 2);
  EXPECT_EQ(header[19], 2);
  store_.reset();
  header = ReadFileBytes(path()).substr(0, 20);
  EXPECT_EQ(header[18], 2);
  EXPECT_EQ(header[19], 2);
}

TEST_F(SqliteStoreTest, PatientDataNeverReachesTheFileInPlaintext) {
  LabOrder order = RecordNewOrder("b", "k", "order-1", kT0);
  // A response body is sealed too, whatever it carries.
  SaveOrdered("k", order, "ju", "jo", kT0,
              std::string(R"({"echo":")") + kFirstName + kEmail + "\"}");

  auto assert_no_phi = [&](const std::string& when) {
    for (const char* suffix : {"", "-wal"}) {
      std::filesystem::path file = path() + suffix;
      if (!std::filesystem::exists(file)) continue;
      std::string bytes = ReadFileBytes(file);
      for (const char* phi : kAllPhi) {
        EXPECT_EQ(bytes.find(phi), std::string::npos) << phi << " in " << file << " " << when;
      }
    }
  };
  ASSERT_TRUE(std::filesystem::exists(path() + "-wal"));
  assert_no_phi("while open");
  // Ids are not PHI and stay queryable, which also proves we looked at the right bytes.
  std::string bytes = ReadFileBytes(path()) + ReadFileBytes(path() + "-wal");
  EXPECT_NE(bytes.find("patient-42"), std::string::npos);
  store_.reset();  // checkpoints the WAL into the main file
  assert_no_phi("after close");
}

TEST_P(StoreTest, ReopeningWithTheSameKeyReadsTheOrderBack) {
  RecordNewOrder("b", "k", "order-1", kT0);
  store_.reset();
  std::unique_ptr<SqlStore> reopened = OpenStore();
  EXPECT_TRUE(reopened->Ready());
  std::optional<LabOrder> order = reopened->GetOrder("b", "order-1");
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->patient.email, kEmail);
  EXPECT_EQ(order->address.line1, kLine1);
}

// A wrong PHI key is a configuration error, not an outage: reads of patient data throw
// std::runtime_error (not StoreUnavailable, and never a garbled order); everything without PHI
// still works.
TEST_P(StoreTest, ReopeningWithAnotherKeyThrowsOnPatientData) {
  RecordNewOrder("b", "k", "order-1", kT0);
  store_.reset();
  std::unique_ptr<SqlStore> reopened = OpenStore(std::string(32, 'w'));
  EXPECT_TRUE(reopened->Ready());
  try {
    reopened->GetOrder("b", "order-1");
    FAIL() << "expected a throw";
  } catch (const StoreUnavailable&) {
    FAIL() << "a wrong key is not an outage";
  } catch (const std::runtime_error& error) {
    EXPECT_EQ(std::string(error.what()).find(kFirstName), std::string::npos);
  }
  EXPECT_THROW(reopened->ListOrders("b", std::nullopt, 10, std::nullopt), std::runtime_error);
  EXPECT_EQ(reopened
                ->ClaimKey("b", "k", {kFingerprint}, kT0 + 1h, kT0 + 2h,
                           MakeOrder("order-2", "b", kT0 + 1h))
                .result,
            ClaimResult::kResumed);
}

TEST_P(StoreTest, SealedPatientDataCopiedToAnotherRowDoesNotDecrypt) {
  RecordNewOrder("b", "k1", "order-1", kT0);
  RecordNewOrder("b", "k2", "order-2", kT0);
  database().Exec(
      "UPDATE lab_orders SET phi = (SELECT phi FROM lab_orders WHERE id = 'order-1') "
      "WHERE id = 'order-2'");
  EXPECT_TRUE(Store().GetOrder("b", "order-1").has_value());
  EXPECT_THROW(Store().GetOrder("b", "order-2"), std::runtime_error);
}

// ---- unavailability ----------------------------------------------------------------------------

TEST_F(SqliteStoreTest, UnopenablePathIsUnavailable) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("no-such-dir-" + NewRandomUuid()) / "store.db")
          .string();
  EXPECT_THROW(SqliteStore(path, PhiCipher(kPhiKey)), StoreUnavailable);
}

TEST_F(SqliteStoreTest, LockHeldPastTheBusyTimeoutIsUnavailableAndNamesNoValues) {
  Store();
  SqliteStore impatient(path(), PhiCipher(kPhiKey), 50ms);
  // Another connection holds the file's write lock until released.
  std::latch held(1);
  std::latch release(1);
  std::thread holder([&] {
    SqliteDatabase database(path(), 5000ms);
    database.Transaction("hold", TransactionKind::kWrite, [&](SqlSession&) {
      held.count_down();
      release.wait();
    });
  });
  struct Release {
    std::latch& release;
    std::thread& holder;
    void Now() {
      if (!holder.joinable()) return;
      release.count_down();
      holder.join();
    }
    ~Release() { Now(); }
  } release_holder{release, holder};
  held.wait();

  try {
    impatient.ClaimKey("brand-secret", "key-secret", {kFingerprint}, kT0, kT0 + 30s,
                       MakeOrder("order-secret", "brand-secret", kT0));
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("ClaimKey"), std::string::npos) << message;
    EXPECT_EQ(message.find("brand-secret"), std::string::npos) << message;
    EXPECT_EQ(message.find("key-secret"), std::string::npos) << message;
  }
  release_holder.Now();
  // Nothing is stuck: the same connection works once the lock is gone.
  EXPECT_EQ(impatient
                .ClaimKey("brand-secret", "key-secret", {kFingerprint}, kT0, kT0 + 30s,
                          MakeOrder("order-secret", "brand-secret", kT0))
                .result,
            ClaimResult::kNew);
}

// Only PostgreSQL has a server that can lack the database.
class PostgresStoreTest : public StoreFixture {
 protected:
  StoreBackend Backend() const override { return StoreBackend::kPostgres; }
};

TEST_F(PostgresStoreTest, MissingDatabaseIsUnavailable) {
  // The test's database, and one on the same server that nobody created.
  const std::string url = database().postgres_url();
  const std::size_t name_at = url.rfind('/') + 1;
  std::string missing_url = url;
  missing_url.replace(name_at, url.find('?', name_at) - name_at, "lo_test_missing");
  PostgresOptions options;
  options.connection_string = PostgresConnectionString(url);
  EXPECT_NO_THROW(PostgresStore(options, PhiCipher(kPhiKey)));
  options.connection_string = PostgresConnectionString(missing_url);
  try {
    PostgresStore store(options, PhiCipher(kPhiKey));
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    // The cause, as the server gave it: the operator learns which setting is wrong.
    const std::string message = error.what();
    EXPECT_NE(message.find("connect"), std::string::npos) << message;
    EXPECT_NE(message.find("database \"lo_test_missing\" does not exist"), std::string::npos)
        << message;
  }
  // A port nothing listens on: refused, and said so.
  options.connection_string = "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=5";
  try {
    PostgresStore store(options, PhiCipher(kPhiKey));
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("refused"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace lab_orders::store
