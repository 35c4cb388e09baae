// A patient's booking links (orders/booking_links.h): minted for the brand's own open order, the
// token random and kept only as its hash, the URL naming nothing but the token; opened to the
// link's state and its order.

#include "lab_orders/orders/booking_links.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "lab_orders/common/encoding.h"
#include "mocks/mock_booking_link_store.h"
#include "mocks/mock_order_store.h"
#include "support/app_errors.h"
#include "support/fakes.h"
#include "support/store_fixtures.h"

namespace lab_orders::orders {
namespace {

using namespace std::chrono_literals;
using lab_orders::testing::ErrorFrom;
using lab_orders::testing::FakeClock;
using lab_orders::testing::MockBookingLinkStore;
using lab_orders::testing::MockOrderStore;
using ::testing::_;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

const store::TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2025} / 6 / 15} + 10h;
constexpr char kBrand[] = "brand-1";
constexpr char kOrderId[] = "order-1";

auth::Principal Brand() { return {"user-1", kBrand, {"labs:orders:write"}}; }

model::LabOrder OpenOrder() {
  model::LabOrder order = testing::ExampleOrder(kOrderId, kBrand, kT0);
  order.status = "ordered";
  return order;
}

class BookingLinksTest : public ::testing::Test {
 protected:
  BookingLinksTest()
      : clock_(kT0), links_(link_store_, orders_, clock_, {"https://book.example.com", 24h}) {}

  // Mints a link for the open order; returns the token in its URL and what was stored.
  std::string Mint(store::BookingLink* stored,
                   std::optional<std::chrono::seconds> expires_in = std::nullopt) {
    EXPECT_CALL(orders_, GetOrder(kBrand, kOrderId)).WillOnce(Return(OpenOrder()));
    EXPECT_CALL(link_store_, MintBookingLink(_)).WillOnce(SaveArg<0>(stored));
    nlohmann::json minted = links_.Mint(Brand(), kOrderId, expires_in);
    const std::string url = minted["url"];
    EXPECT_EQ(url.rfind("https://book.example.com/book/", 0), 0u) << url;
    EXPECT_EQ(minted["expires_at"], FormatRfc3339(stored->expires_at));
    return url.substr(url.rfind('/') + 1);
  }

  StrictMock<MockBookingLinkStore> link_store_;
  StrictMock<MockOrderStore> orders_;
  FakeClock clock_;
  BookingLinks links_;
};

TEST_F(BookingLinksTest, ALinkIsARandomTokenKeptOnlyAsItsHash) {
  store::BookingLink stored;
  const std::string token = Mint(&stored);
  EXPECT_TRUE(BookingLinks::IsTokenShaped(token)) << token;
  EXPECT_EQ(Base64UrlDecode(token)->size(), 32u);  // 256 bits
  EXPECT_EQ(stored.token_hash, HexEncode(Sha256(token)));
  EXPECT_EQ(stored.token_hash.find(token), std::string::npos);
  EXPECT_EQ(stored.order_id, kOrderId);
  EXPECT_EQ(stored.brand_id, kBrand);
  EXPECT_EQ(stored.created_at, kT0);
  EXPECT_EQ(stored.expires_at, kT0 + 24h);
  EXPECT_EQ(Base64UrlDecode(stored.form_token)->size(), 16u);

  store::BookingLink second;
  EXPECT_NE(Mint(&second), token);
  EXPECT_NE(second.form_token, stored.form_token);
}

TEST_F(BookingLinksTest, ALinkMayBeShorterLivedNeverLonger) {
  store::BookingLink stored;
  Mint(&stored, 1h);
  EXPECT_EQ(stored.expires_at, kT0 + 1h);
  Mint(&stored, 48h);
  EXPECT_EQ(stored.expires_at, kT0 + 24h);
}

TEST_F(BookingLinksTest, OnlyTheBrandsOwnOpenOrderWithSomethingToBookGetsALink) {
  EXPECT_CALL(orders_, GetOrder(kBrand, "other")).WillOnce(Return(std::nullopt));
  EXPECT_EQ(ErrorFrom([&] { links_.Mint(Brand(), "other"); }).code(), ErrorCode::kNotFound);

  for (const char* status : {"cancelled", "completed", "failed"}) {
    model::LabOrder ended = OpenOrder();
    ended.status = status;
    EXPECT_CALL(orders_, GetOrder(kBrand, kOrderId)).WillOnce(Return(ended));
    EXPECT_EQ(ErrorFrom([&] { links_.Mint(Brand(), kOrderId); }).code(),
              ErrorCode::kOrderNotBookable)
        << status;
  }
  model::LabOrder kit = OpenOrder();
  kit.workflow.collection_method = model::kTestkit;
  EXPECT_CALL(orders_, GetOrder(kBrand, kOrderId)).WillOnce(Return(kit));
  EXPECT_EQ(ErrorFrom([&] { links_.Mint(Brand(), kOrderId); }).code(),
            ErrorCode::kOrderNotBookable);
}

TEST_F(BookingLinksTest, ATokenOfAnotherShapeIsUnknownWithoutALookup) {
  for (const std::string& text : {std::string(), std::string(42, 'a'), std::string(44, 'a'),
                                  std::string(42, 'a') + "=", std::string(42, 'a') + "/"}) {
    EXPECT_EQ(links_.Open(text).state, LinkState::kUnknown) << text;  // strict mocks: no lookup
  }
}

TEST_F(BookingLinksTest, ALinkOpensToItsStateAndOnlyALiveOneToItsOrder) {
  const std::string token(43, 'x');
  store::BookingLink link;
  link.token_hash = BookingLinks::HashOf(token);
  link.order_id = kOrderId;
  link.brand_id = kBrand;
  link.created_at = kT0;
  link.expires_at = kT0 + 1h;

  EXPECT_CALL(link_store_, FindBookingLink(link.token_hash)).WillOnce(Return(std::nullopt));
  EXPECT_EQ(links_.Open(token).state, LinkState::kUnknown);

  EXPECT_CALL(link_store_, FindBookingLink(link.token_hash)).WillOnce(Return(link));
  EXPECT_CALL(orders_, GetOrder(kBrand, kOrderId)).WillOnce(Return(OpenOrder()));
  OpenedLink live = links_.Open(token);
  EXPECT_EQ(live.state, LinkState::kLive);
  ASSERT_TRUE(live.order.has_value());
  EXPECT_EQ(live.order->id, kOrderId);

  clock_.Advance(1h);
  EXPECT_CALL(link_store_, FindBookingLink(link.token_hash)).WillOnce(Return(link));
  EXPECT_EQ(links_.Open(token).state, LinkState::kExpired);

  link.retired_at = kT0;
  EXPECT_CALL(link_store_, FindBookingLink(link.token_hash)).WillOnce(Return(link));
  EXPECT_EQ(links_.Open(token).state, LinkState::kRetired);
}

}  // namespace
}  // namespace lab_orders::orders
