#include "lab_orders/orders/area_coverage.h"

#include "lab_orders/junction/junction_failure.h"

namespace lab_orders::orders {
namespace {

// A bound on what is kept: the US has about 42,000 ZIP codes.
constexpr std::size_t kMaxZips = 50000;

}  // namespace

AreaCoverage::AreaCoverage(junction::JunctionClient& junction, const Clock& clock,
                           std::chrono::seconds ttl)
    : junction_(junction), clock_(clock), ttl_(ttl) {}

Coverage AreaCoverage::For(const std::string& zip) {
  const std::string area = zip.substr(0, 5);
  const auto now = clock_.Now();
  {
    std::lock_guard lock(mutex_);
    auto found = known_.find(area);
    if (found != known_.end() && found->second.until > now) return found->second.coverage;
  }
  // Outside the lock: a slow Junction holds up only the orders that need this answer.
  auto info = junction_.GetAreaInfo(area);
  if (!info.ok())
    throw junction::JunctionFailure(info.error(), "retry with the same Idempotency-Key.");
  Coverage coverage{info->phlebotomy_served, !info->labs_with_service_centers.empty()};
  if (ttl_.count() > 0) {
    std::lock_guard lock(mutex_);
    if (known_.size() >= kMaxZips) known_.clear();
    known_[area] = Known{coverage, now + ttl_};
  }
  return coverage;
}

}  // namespace lab_orders::orders
