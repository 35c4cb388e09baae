#include "lab_orders/orders/key_reaper.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "lab_orders/common/encoding.h"
#include "lab_orders/store/sqlite_store.h"
#include "support/fakes.h"
#include "support/store_fixtures.h"

namespace lab_orders::orders {
namespace {

using namespace std::chrono_literals;

TEST(KeyReaperTest, DeletesKeysOlderThanTheRetentionOnly) {
  auto path =
      std::filesystem::temp_directory_path() / ("reaper-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    store::SqliteStore store(path.string(), store::PhiCipher(RandomBytes(32)));
    store.Migrate();
    auto start = std::chrono::system_clock::time_point(
        std::chrono::sys_days{std::chrono::year{2030} / 1 / 1});
    testing::FakeClock clock(start);
    // Each claim brings the order its request would make (kept only for a new key).
    auto order = [&](const char* id) { return testing::ExampleOrder(id, "brand", start); };
    store.ClaimKey("brand", "old", {"fp"}, start, start + 1min, order("order-old"));
    store.ClaimKey("brand", "new", {"fp"}, start + 23h, start + 23h + 1min, order("order-new"));
    clock.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(24h + 1s));
    KeyReaper reaper(store, clock, 24h, std::chrono::hours(24 * 365));
    // The thread's first pass may have run already; either way exactly "old" is gone now.
    reaper.ReapOnce();
    EXPECT_EQ(store.ClaimKey("brand", "old", {"fp"}, clock.Now(), clock.Now(), order("order-old-2"))
                  .result,
              store::ClaimResult::kNew);
    EXPECT_EQ(
        store.ClaimKey("brand", "new", {"other"}, clock.Now(), clock.Now(), order("order-new-2"))
            .result,
        store::ClaimResult::kFingerprintMismatch);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

}  // namespace
}  // namespace lab_orders::orders
