// How many commits a new order costs, counted on the real store under OrderService: three when
// the patient's Junction user is new (the key with its order; the Junction user, which waits for
// no flush of its own; the Junction order with its first step, events and answer), two when the
// user is known, none for a replay, which reads the key's row and nothing else (no order, no
// patient data).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lab_orders/common/encoding.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/orders/order_service.h"
#include "lab_orders/store/sql_store.h"
#include "mocks/mock_junction_client.h"
#include "store/sql_session.h"
#include "store/sqlite_database.h"
#include "support/fakes.h"
#include "support/junction_fixtures.h"
#include "support/order_bodies.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::NiceMock;
using ::testing::Return;

// The validator's clock: WorkflowOrderBody's patient is an adult then.
const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2025} / 6 / 15} + 10h;

// The database under the store, recording each transaction's operation by kind.
class CountingDatabase final : public SqlDatabase {
 public:
  void Transaction(const char* operation, TransactionKind kind,
                   const std::function<void(SqlSession&)>& body) override {
    (kind == TransactionKind::kRead ? reads : writes).emplace_back(operation);
    if (kind == TransactionKind::kRedoableWrite) redoable_writes.emplace_back(operation);
    inner_.Transaction(operation, kind, body);
  }

  std::vector<std::string> writes;
  std::vector<std::string> redoable_writes;  // of the writes, those that need no flush of their own
  std::vector<std::string> reads;

 private:
  SqliteDatabase inner_{":memory:", 5000ms};
};

class CountingStore final : public SqlStore {
 public:
  explicit CountingStore(std::unique_ptr<CountingDatabase> database)
      : SqlStore(std::move(database), PhiCipher(RandomBytes(32))) {}
};

class OrderCommitsTest : public ::testing::Test {
 protected:
  OrderCommitsTest()
      : database_(new CountingDatabase),
        store_(std::unique_ptr<CountingDatabase>(database_)),
        clock_(kT0),
        validator_(http::LabOrderRequestSchema(), clock_),
        service_(store_, junction_, validator_,
                 {{"wellness", {{"lab-test-wellness"}, {model::kAtHome}}}}, clock_, ids_) {
    store_.Migrate();
    ON_CALL(junction_, GetAreaInfo(_)).WillByDefault(Return(testing::AreaServed()));
    ON_CALL(junction_, CreateUser(_)).WillByDefault([](const junction::CreateUserRequest& request) {
      junction::User user;
      user.user_id = "ju-" + request.client_user_id;
      user.client_user_id = request.client_user_id;
      return junction::Result<junction::User>(user);
    });
    ON_CALL(junction_, CreateOrder(_)).WillByDefault([this](const junction::CreateOrderRequest&) {
      junction::OrderResponse response;
      response.order.id = "jo-" + std::to_string(++junction_orders_);
      response.order.status = "received.at_home_phlebotomy.ordered";
      response.status = "success";
      return junction::Result<junction::OrderResponse>(response);
    });
  }

  orders::StoredAnswer Create(const std::string& key, const std::string& patient_id) {
    database_->writes.clear();
    database_->redoable_writes.clear();
    database_->reads.clear();
    const nlohmann::json body = lab_orders::testing::WorkflowOrderBody(patient_id);
    const std::string bytes = body.dump();
    return service_.CreateOrder({"user-1", "brand-1", {"labs:orders:write"}}, key,
                                {bytes, [&body] { return body; }});
  }

  CountingDatabase* database_;  // owned by store_
  CountingStore store_;
  NiceMock<testing::MockJunctionClient> junction_;
  testing::FakeClock clock_;
  testing::CountingIdGenerator ids_;
  orders::RequestValidator validator_;
  orders::OrderService service_;
  int junction_orders_ = 0;
};

TEST_F(OrderCommitsTest, ANewPatientsOrderIsThreeCommits) {
  EXPECT_CALL(junction_, CreateUser(_));
  orders::StoredAnswer answer = Create("key-1", "patient-1");
  EXPECT_EQ(answer.status, 201);
  EXPECT_THAT(database_->writes, ElementsAre("ClaimKey", "SaveJunctionUser", "SaveJunctionOrder"));
  // Two wait for the disk: the user's mapping is redone after a crash, and the Junction order's
  // commit flushes it with itself.
  EXPECT_THAT(database_->redoable_writes, ElementsAre("SaveJunctionUser"));
}

TEST_F(OrderCommitsTest, AKnownPatientsOrderIsTwoCommits) {
  Create("key-1", "patient-1");
  EXPECT_CALL(junction_, CreateUser(_)).Times(0);
  orders::StoredAnswer answer = Create("key-2", "patient-1");
  EXPECT_EQ(answer.status, 201);
  EXPECT_THAT(database_->writes, ElementsAre("ClaimKey", "SaveJunctionOrder"));
  // The order carries the Junction user it was made for, though no commit of its own saved it.
  const nlohmann::json body = nlohmann::json::parse(answer.body);
  std::optional<model::LabOrder> order = store_.GetOrder("brand-1", body.at("id"));
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->junction_user_id, "ju-brand-1:patient-1");
  EXPECT_EQ(order->status, "ordered");
}

TEST_F(OrderCommitsTest, AReplayWritesNothingAndReadsOnlyTheKey) {
  orders::StoredAnswer first = Create("key-1", "patient-1");
  EXPECT_CALL(junction_, CreateUser(_)).Times(0);
  EXPECT_CALL(junction_, CreateOrder(_)).Times(0);
  orders::StoredAnswer replay = Create("key-1", "patient-1");
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.status, first.status);
  EXPECT_EQ(replay.body, first.body);
  EXPECT_THAT(database_->writes, IsEmpty());
  EXPECT_THAT(database_->reads, ElementsAre("FindFinishedKey"));
}

}  // namespace
}  // namespace lab_orders::store
