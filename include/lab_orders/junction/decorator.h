#pragma once

// A JunctionClient around another: every call goes to the inner client, with hooks before and
// after it, so a decorator (a rate limit, metrics) says once what it does around any call.

#include <chrono>

#include "lab_orders/junction/client.h"

namespace lab_orders::junction {

class JunctionClientDecorator : public JunctionClient {
 public:
  explicit JunctionClientDecorator(JunctionClient& inner) : inner_(inner) {}

  Result<User> CreateUser(const CreateUserRequest& request) final;
  Result<User> ResolveUser(const std::string& client_user_id) final;
  Result<std::vector<LabTest>> ListLabTests() final;
  Result<OrderResponse> CreateOrder(const CreateOrderRequest& request) final;
  Result<Order> GetOrder(const std::string& order_id) final;
  Result<OrderResponse> CancelOrder(const std::string& order_id) final;
  Result<AreaInfo> GetAreaInfo(const std::string& zip_code) final;
  Result<ServiceCenters> GetServiceCenters(const std::string& zip_code, int lab_id,
                                           int radius_miles) final;
  Result<Availability> GetAvailability(const USAddress& address,
                                       const std::optional<std::string>& start_date) final;
  Result<Appointment> BookAppointment(const std::string& order_id,
                                      const BookingRequest& request) final;
  Result<Appointment> GetAppointment(const std::string& order_id) final;
  Result<Appointment> RescheduleAppointment(const std::string& order_id,
                                            const RescheduleRequest& request) final;
  Result<Appointment> CancelAppointment(const std::string& order_id,
                                        const CancelAppointmentRequest& request) final;
  Result<std::vector<CancellationReason>> ListCancellationReasons() final;

  Result<Availability> GetServiceCenterAvailability(const ServiceCenterSlotsQuery& query) final;
  Result<Appointment> BookServiceCenterAppointment(const std::string& order_id,
                                                   const BookingRequest& request) final;
  Result<Appointment> GetServiceCenterAppointment(const std::string& order_id) final;
  Result<Appointment> RescheduleServiceCenterAppointment(const std::string& order_id,
                                                         const RescheduleRequest& request) final;
  Result<Appointment> CancelServiceCenterAppointment(const std::string& order_id,
                                                     const CancelAppointmentRequest& request) final;
  Result<std::vector<CancellationReason>> ListServiceCenterCancellationReasons() final;

  Result<LabResult> GetResult(const std::string& order_id) final;
  Result<ResultPdf> GetResultPdf(const std::string& order_id) final;

 protected:
  // operation is the client's name for the call ("create_order", ...).
  virtual void Before(const char* /*operation*/) {}
  virtual void After(const char* /*operation*/, Outcome /*outcome*/,
                     std::chrono::steady_clock::duration /*elapsed*/) {}

 private:
  template <typename Call>
  auto Around(const char* operation, Call&& call) -> decltype(call());

  JunctionClient& inner_;
};

}  // namespace lab_orders::junction
