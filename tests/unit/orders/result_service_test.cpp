// The brand's reads of a result (orders/result_service.h) over mocked stores and Junction: what
// is "not found" (another brand's or no order) and what is "not ready" (no result, no report
// yet), and Junction's failures as the 502 every route gives.

#include "lab_orders/orders/result_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lab_orders/common/error.h"
#include "mocks/mock_junction_client.h"
#include "mocks/mock_order_store.h"
#include "mocks/mock_result_store.h"
#include "support/junction_fixtures.h"

namespace lab_orders::orders {
namespace {

using testing::CallFailure;
using ::testing::Return;
using ::testing::StrictMock;

const auth::Principal kBrand{"user-1", "brand-1", {"labs:results:read"}};

model::LabOrder OrderWithResult(bool with_result) {
  model::LabOrder order;
  order.id = "order-1";
  order.brand_id = "brand-1";
  order.junction_order_id = "jo-1";
  if (with_result) order.workflow.result = model::ResultSummary{"r-1", 1, "final", "normal"};
  return order;
}

ErrorCode CodeOf(const std::function<void()>& call) {
  try {
    call();
  } catch (const AppError& error) {
    return error.code();
  }
  ADD_FAILURE() << "no AppError";
  return ErrorCode::kInternalError;
}

class ResultServiceTest : public ::testing::Test {
 protected:
  StrictMock<lab_orders::testing::MockOrderStore> orders_;
  StrictMock<lab_orders::testing::MockResultStore> results_;
  StrictMock<lab_orders::testing::MockJunctionClient> junction_;
  ResultService service_{orders_, results_, junction_};
};

TEST_F(ResultServiceTest, TheLatestVersionIsServedAndNoneIsNotReadyUnlessThereIsNoOrder) {
  model::OrderResult result;
  result.id = "r-2";
  result.order_id = "order-1";
  result.version = 2;
  result.status = "corrected";
  EXPECT_CALL(results_, LatestResult("brand-1", "order-1")).WillOnce(Return(result));
  EXPECT_EQ(service_.Latest(kBrand, "order-1", "req-1")["version"], 2);

  EXPECT_CALL(results_, LatestResult("brand-1", "order-1")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(orders_, GetOrder("brand-1", "order-1")).WillOnce(Return(OrderWithResult(false)));
  EXPECT_EQ(CodeOf([&] { service_.Latest(kBrand, "order-1", "req-2"); }),
            ErrorCode::kResultNotReady);

  // Another brand's order reads as no order at all.
  EXPECT_CALL(results_, LatestResult("brand-1", "order-9")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(orders_, GetOrder("brand-1", "order-9")).WillOnce(Return(std::nullopt));
  EXPECT_EQ(CodeOf([&] { service_.Latest(kBrand, "order-9", "req-3"); }), ErrorCode::kNotFound);
}

TEST_F(ResultServiceTest, TheReportIsAskedOfJunctionOnlyOnceTheOrderHasAResult) {
  EXPECT_CALL(orders_, GetOrder("brand-1", "order-1")).WillOnce(Return(OrderWithResult(false)));
  EXPECT_EQ(CodeOf([&] { service_.Pdf(kBrand, "order-1", "req-1"); }), ErrorCode::kResultNotReady);

  EXPECT_CALL(orders_, GetOrder("brand-1", "order-1"))
      .WillRepeatedly(Return(OrderWithResult(true)));
  EXPECT_CALL(junction_, GetResultPdf("jo-1"))
      .WillOnce(Return(junction::ResultPdf{"%PDF-1.4 report"}))
      .WillOnce(Return(CallFailure(junction::Outcome::kNotFound, "get_result_pdf", 404)))
      .WillOnce(Return(CallFailure(junction::Outcome::kServerError, "get_result_pdf", 500)));
  EXPECT_EQ(service_.Pdf(kBrand, "order-1", "req-2"), "%PDF-1.4 report");
  // Some labs issue no report until the result is final.
  EXPECT_EQ(CodeOf([&] { service_.Pdf(kBrand, "order-1", "req-3"); }), ErrorCode::kResultNotReady);
  EXPECT_EQ(CodeOf([&] { service_.Pdf(kBrand, "order-1", "req-4"); }),
            ErrorCode::kJunctionUpstreamError);

  EXPECT_CALL(orders_, GetOrder("brand-1", "order-9")).WillOnce(Return(std::nullopt));
  EXPECT_EQ(CodeOf([&] { service_.Pdf(kBrand, "order-9", "req-5"); }), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace lab_orders::orders
