// A patient's booking links in the store, on every backend (support/store_backends.h): kept by
// their token's hash, the order's newest link its only live one, marked used by a booking.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/sql_store.h"
#include "support/store_backends.h"
#include "support/store_fixtures.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using testing::StoreBackend;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 6 / 3} + 9h;
constexpr char kBrand[] = "brand-1";
constexpr char kOrder[] = "order-1";

BookingLink Link(const std::string& hash, TimePoint created_at) {
  BookingLink link;
  link.token_hash = hash;
  link.order_id = kOrder;
  link.brand_id = kBrand;
  link.form_token = "form-" + hash;
  link.created_at = created_at;
  link.expires_at = created_at + 24h;
  return link;
}

class StoreBookingLinksTest : public testing::StoreDatabaseTest,
                              public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend Backend() const override { return GetParam(); }

  void SetUp() override {
    testing::StoreDatabaseTest::SetUp();
    if (!database_) return;
    store_ = database().OpenMigrated(PhiCipher(std::string(32, 'k')));
    testing::AddJunctionOrder(*store_, kBrand, kOrder, kT0);
  }

  void TearDown() override {
    store_.reset();
    testing::StoreDatabaseTest::TearDown();
  }

  std::unique_ptr<SqlStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreBookingLinksTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

TEST_P(StoreBookingLinksTest, ALinkIsFoundByItsHashWithEverythingItWasMintedWith) {
  store_->MintBookingLink(Link("hash-1", kT0));
  std::optional<BookingLink> found = store_->FindBookingLink("hash-1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->order_id, kOrder);
  EXPECT_EQ(found->brand_id, kBrand);
  EXPECT_EQ(found->form_token, "form-hash-1");
  EXPECT_EQ(found->created_at, kT0);
  EXPECT_EQ(found->expires_at, kT0 + 24h);
  EXPECT_FALSE(found->retired_at);
  EXPECT_FALSE(found->used_at);
  EXPECT_FALSE(found->appointment_id);
  EXPECT_FALSE(store_->FindBookingLink("hash-2"));
}

TEST_P(StoreBookingLinksTest, ANewerLinkRetiresEveryOlderLinkOfTheOrder) {
  store_->MintBookingLink(Link("hash-1", kT0));
  store_->MintBookingLink(Link("hash-2", kT0 + 1h));
  store_->MintBookingLink(Link("hash-3", kT0 + 2h));
  EXPECT_EQ(store_->FindBookingLink("hash-1")->retired_at, kT0 + 1h);  // retired once, first time
  EXPECT_EQ(store_->FindBookingLink("hash-2")->retired_at, kT0 + 2h);
  EXPECT_FALSE(store_->FindBookingLink("hash-3")->retired_at);
}

TEST_P(StoreBookingLinksTest, ABookingMarksItsLinkUsedWithTheAppointment) {
  store_->MintBookingLink(Link("hash-1", kT0));
  EXPECT_TRUE(store_->MarkBookingLinkUsed("hash-1", "appt-1", kT0 + 5min));
  std::optional<BookingLink> found = store_->FindBookingLink("hash-1");
  EXPECT_EQ(found->used_at, kT0 + 5min);
  EXPECT_EQ(found->appointment_id, "appt-1");
  // A later booking through it (the first not confirmed) replaces the appointment.
  EXPECT_TRUE(store_->MarkBookingLinkUsed("hash-1", "appt-2", kT0 + 9min));
  EXPECT_EQ(store_->FindBookingLink("hash-1")->appointment_id, "appt-2");
  EXPECT_FALSE(store_->MarkBookingLinkUsed("hash-unknown", "appt-1", kT0));
}

// The token's hash is the key: a second link with the same hash (a token drawn twice) is refused
// rather than overwriting the first.
TEST_P(StoreBookingLinksTest, AHashIsNeverStoredTwice) {
  store_->MintBookingLink(Link("hash-1", kT0));
  EXPECT_ANY_THROW(store_->MintBookingLink(Link("hash-1", kT0 + 1h)));
  EXPECT_FALSE(store_->FindBookingLink("hash-1")->retired_at);  // rolled back whole
}

}  // namespace
}  // namespace lab_orders::store
