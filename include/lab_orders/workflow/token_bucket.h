#pragma once

// Keeps calls to Junction under a configured rate, across every worker of the process.

#include <chrono>
#include <memory>
#include <mutex>

#include "lab_orders/common/clock.h"
#include "lab_orders/junction/client.h"

namespace lab_orders::workflow {

class TokenBucket {
 public:
  // rate_per_second tokens a second, holding at most burst; starts full.
  TokenBucket(double rate_per_second, int burst, const Clock& clock);

  // Takes a token and returns zero, or takes nothing and returns how long until one is there.
  std::chrono::nanoseconds TryAcquire();
  // Blocks (real time) until a token is taken.
  void Acquire();

 private:
  void RefillLocked(std::chrono::system_clock::time_point now);

  const double rate_;
  const double burst_;
  const Clock& clock_;
  std::mutex mutex_;
  double tokens_;
  std::chrono::system_clock::time_point last_;
};

// A JunctionClient that takes a token from the bucket before every call.
class RateLimitedJunctionClient final : public junction::JunctionClient {
 public:
  RateLimitedJunctionClient(junction::JunctionClient& inner, TokenBucket& bucket);

  junction::Result<junction::User> CreateUser(const junction::CreateUserRequest& request) override;
  junction::Result<junction::User> ResolveUser(const std::string& client_user_id) override;
  junction::Result<std::vector<junction::LabTest>> ListLabTests() override;
  junction::Result<junction::OrderResponse> CreateOrder(
      const junction::CreateOrderRequest& request) override;
  junction::Result<junction::Order> GetOrder(const std::string& order_id) override;
  junction::Result<junction::OrderResponse> CancelOrder(const std::string& order_id) override;
  junction::Result<junction::AreaInfo> GetAreaInfo(const std::string& zip_code) override;
  junction::Result<junction::Availability> GetAvailability(
      const junction::USAddress& address, const std::optional<std::string>& start_date) override;
  junction::Result<junction::Appointment> BookAppointment(
      const std::string& order_id, const junction::BookingRequest& request) override;
  junction::Result<junction::Appointment> GetAppointment(const std::string& order_id) override;
  junction::Result<junction::Appointment> RescheduleAppointment(
      const std::string& order_id, const junction::RescheduleRequest& request) override;
  junction::Result<junction::Appointment> CancelAppointment(
      const std::string& order_id, const junction::CancelAppointmentRequest& request) override;
  junction::Result<std::vector<junction::CancellationReason>> ListCancellationReasons() override;

 private:
  junction::JunctionClient& inner_;
  TokenBucket& bucket_;
};

}  // namespace lab_orders::workflow
