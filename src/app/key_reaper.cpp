#include "lab_orders/app/key_reaper.h"

#include <spdlog/spdlog.h>

namespace lab_orders {

KeyReaper::KeyReaper(store::Store& store, const Clock& clock, std::chrono::seconds retention,
                     std::chrono::seconds interval)
    : store_(store), clock_(clock), retention_(retention), interval_(interval) {
  thread_ = std::thread([this] { Run(); });
}

KeyReaper::~KeyReaper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

int KeyReaper::ReapOnce() {
  int reaped = store_.ReapKeys(clock_.Now() - retention_);
  if (reaped > 0) spdlog::info("reaped {} idempotency keys past their retention", reaped);
  return reaped;
}

void KeyReaper::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      ReapOnce();
    } catch (const std::exception& e) {
      spdlog::warn("idempotency key reaper: {}", e.what());
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace lab_orders
