#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lab_orders/junction/lab_result.h"
#include "lab_orders/junction/result.h"
#include "lab_orders/junction/types.h"

namespace lab_orders::junction {

// An order's lab results: what the results step and the result routes need, and no more.
class ResultsClient {
 public:
  virtual ~ResultsClient() = default;

  // Not ready yet is kNotFound (Junction does not document it; docs/junction.md: Results).
  virtual Result<LabResult> GetResult(const std::string& order_id) = 0;
  virtual Result<ResultPdf> GetResultPdf(const std::string& order_id) = 0;
};

// A patient service center's appointments (/v3/order/.../psc/...): the walk-in channel's booking,
// alike to a home visit's but for its slots (by site), its booking's idempotency key and its
// camelCase cancel body.
class ServiceCenterClient {
 public:
  virtual ~ServiceCenterClient() = default;

  // No slot at the sites asked about is kNotFound (Junction answers 404).
  virtual Result<Availability> GetServiceCenterAvailability(
      const ServiceCenterSlotsQuery& query) = 0;
  virtual Result<Appointment> BookServiceCenterAppointment(const std::string& order_id,
                                                           const BookingRequest& request) = 0;
  virtual Result<Appointment> GetServiceCenterAppointment(const std::string& order_id) = 0;
  virtual Result<Appointment> RescheduleServiceCenterAppointment(
      const std::string& order_id, const RescheduleRequest& request) = 0;
  virtual Result<Appointment> CancelServiceCenterAppointment(
      const std::string& order_id, const CancelAppointmentRequest& request) = 0;
  virtual Result<std::vector<CancellationReason>> ListServiceCenterCancellationReasons() = 0;
};

// Every Junction operation the service uses. Implementations are thread-safe.
class JunctionClient : public ResultsClient, public ServiceCenterClient {
 public:
  virtual Result<User> CreateUser(const CreateUserRequest& request) = 0;
  virtual Result<User> ResolveUser(const std::string& client_user_id) = 0;
  virtual Result<std::vector<LabTest>> ListLabTests() = 0;

  virtual Result<OrderResponse> CreateOrder(const CreateOrderRequest& request) = 0;
  virtual Result<Order> GetOrder(const std::string& order_id) = 0;
  virtual Result<OrderResponse> CancelOrder(const std::string& order_id) = 0;

  virtual Result<AreaInfo> GetAreaInfo(const std::string& zip_code) = 0;
  // A lab's patient service centers within radius_miles (10, 20, 25, 50 or 100) of a ZIP.
  virtual Result<ServiceCenters> GetServiceCenters(const std::string& zip_code, int lab_id,
                                                   int radius_miles) = 0;
  virtual Result<Availability> GetAvailability(const USAddress& address,
                                               const std::optional<std::string>& start_date) = 0;
  virtual Result<Appointment> BookAppointment(const std::string& order_id,
                                              const BookingRequest& request) = 0;
  virtual Result<Appointment> GetAppointment(const std::string& order_id) = 0;
  virtual Result<Appointment> RescheduleAppointment(const std::string& order_id,
                                                    const RescheduleRequest& request) = 0;
  virtual Result<Appointment> CancelAppointment(const std::string& order_id,
                                                const CancelAppointmentRequest& request) = 0;
  virtual Result<std::vector<CancellationReason>> ListCancellationReasons() = 0;
};

}  // namespace lab_orders::junction
