#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "lab_orders/junction/client.h"

namespace lab_orders::junction {

struct HttpClientOptions {
  std::string base_url = "http://127.0.0.1:8090";  // http:// or https://
  std::string api_key;                             // sent as x-vital-api-key; empty: none
  std::string ca_file;                             // empty: the system's CA store
  std::chrono::milliseconds timeout{10000};        // per call, start to end
  // A pooled connection idle longer than this is closed rather than reused: servers close idle
  // keep-alive connections, and a request sent on one they closed is lost.
  std::chrono::milliseconds max_idle{15000};
  int max_idle_connections = 64;
};

class Transport;

// JunctionClient over HTTP/1.1 (or HTTPS with strict verification), with a keep-alive pool.
class HttpJunctionClient final : public JunctionClient {
 public:
  explicit HttpJunctionClient(HttpClientOptions options);
  ~HttpJunctionClient() override;

  Result<User> CreateUser(const CreateUserRequest& request) override;
  Result<User> ResolveUser(const std::string& client_user_id) override;
  Result<std::vector<LabTest>> ListLabTests() override;
  Result<OrderResponse> CreateOrder(const CreateOrderRequest& request) override;
  Result<Order> GetOrder(const std::string& order_id) override;
  Result<OrderResponse> CancelOrder(const std::string& order_id) override;
  Result<AreaInfo> GetAreaInfo(const std::string& zip_code) override;
  Result<ServiceCenters> GetServiceCenters(const std::string& zip_code, int lab_id,
                                           int radius_miles) override;
  Result<Availability> GetAvailability(const USAddress& address,
                                       const std::optional<std::string>& start_date) override;
  Result<Appointment> BookAppointment(const std::string& order_id,
                                      const BookingRequest& request) override;
  Result<Appointment> GetAppointment(const std::string& order_id) override;
  Result<Appointment> RescheduleAppointment(const std::string& order_id,
                                            const RescheduleRequest& request) override;
  Result<Appointment> CancelAppointment(const std::string& order_id,
                                        const CancelAppointmentRequest& request) override;
  Result<std::vector<CancellationReason>> ListCancellationReasons() override;

  Result<Availability> GetServiceCenterAvailability(const ServiceCenterSlotsQuery& query) override;
  Result<Appointment> BookServiceCenterAppointment(const std::string& order_id,
                                                   const BookingRequest& request) override;
  Result<Appointment> GetServiceCenterAppointment(const std::string& order_id) override;
  Result<Appointment> RescheduleServiceCenterAppointment(const std::string& order_id,
                                                         const RescheduleRequest& request) override;
  Result<Appointment> CancelServiceCenterAppointment(
      const std::string& order_id, const CancelAppointmentRequest& request) override;
  Result<std::vector<CancellationReason>> ListServiceCenterCancellationReasons() override;

  Result<LabResult> GetResult(const std::string& order_id) override;
  Result<ResultPdf> GetResultPdf(const std::string& order_id) override;

 private:
  std::unique_ptr<Transport> transport_;
};

}  // namespace lab_orders::junction
