#include "lab_orders/workflow/token_bucket.h"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace lab_orders::workflow {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::nanoseconds;

TokenBucket::TokenBucket(double rate_per_second, int burst, const Clock& clock)
    : rate_(rate_per_second), burst_(std::max(burst, 1)), clock_(clock), tokens_(burst_) {
  if (!(rate_per_second > 0)) throw std::invalid_argument("TokenBucket: the rate must be > 0");
  last_ = clock_.Now();
}

void TokenBucket::RefillLocked(std::chrono::system_clock::time_point now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + duration<double>(now - last_).count() * rate_);
    last_ = now;
  }
}

nanoseconds TokenBucket::TryAcquire() {
  std::lock_guard lock(mutex_);
  RefillLocked(clock_.Now());
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return nanoseconds::zero();
  }
  return std::max(nanoseconds(1),
                  duration_cast<nanoseconds>(duration<double>((1.0 - tokens_) / rate_)));
}

void TokenBucket::Acquire() {
  for (nanoseconds wait = TryAcquire(); wait > nanoseconds::zero(); wait = TryAcquire()) {
    std::this_thread::sleep_for(wait);
  }
}

RateLimitedJunctionClient::RateLimitedJunctionClient(junction::JunctionClient& inner,
                                                     TokenBucket& bucket)
    : inner_(inner), bucket_(bucket) {}

using namespace junction;

Result<User> RateLimitedJunctionClient::CreateUser(const CreateUserRequest& request) {
  bucket_.Acquire();
  return inner_.CreateUser(request);
}
Result<User> RateLimitedJunctionClient::ResolveUser(const std::string& client_user_id) {
  bucket_.Acquire();
  return inner_.ResolveUser(client_user_id);
}
Result<std::vector<LabTest>> RateLimitedJunctionClient::ListLabTests() {
  bucket_.Acquire();
  return inner_.ListLabTests();
}
Result<OrderResponse> RateLimitedJunctionClient::CreateOrder(const CreateOrderRequest& request) {
  bucket_.Acquire();
  return inner_.CreateOrder(request);
}
Result<Order> RateLimitedJunctionClient::GetOrder(const std::string& order_id) {
  bucket_.Acquire();
  return inner_.GetOrder(order_id);
}
Result<OrderResponse> RateLimitedJunctionClient::CancelOrder(const std::string& order_id) {
  bucket_.Acquire();
  return inner_.CancelOrder(order_id);
}
Result<AreaInfo> RateLimitedJunctionClient::GetAreaInfo(const std::string& zip_code) {
  bucket_.Acquire();
  return inner_.GetAreaInfo(zip_code);
}
Result<Availability> RateLimitedJunctionClient::GetAvailability(
    const USAddress& address, const std::optional<std::string>& start_date) {
  bucket_.Acquire();
  return inner_.GetAvailability(address, start_date);
}
Result<Appointment> RateLimitedJunctionClient::BookAppointment(const std::string& order_id,
                                                               const BookingRequest& request) {
  bucket_.Acquire();
  return inner_.BookAppointment(order_id, request);
}
Result<Appointment> RateLimitedJunctionClient::GetAppointment(const std::string& order_id) {
  bucket_.Acquire();
  return inner_.GetAppointment(order_id);
}
Result<Appointment> RateLimitedJunctionClient::RescheduleAppointment(
    const std::string& order_id, const RescheduleRequest& request) {
  bucket_.Acquire();
  return inner_.RescheduleAppointment(order_id, request);
}
Result<Appointment> RateLimitedJunctionClient::CancelAppointment(
    const std::string& order_id, const CancelAppointmentRequest& request) {
  bucket_.Acquire();
  return inner_.CancelAppointment(order_id, request);
}
Result<std::vector<CancellationReason>> RateLimitedJunctionClient::ListCancellationReasons() {
  bucket_.Acquire();
  return inner_.ListCancellationReasons();
}

}  // namespace lab_orders::workflow
