#pragma once

#include <gmock/gmock.h>

#include "lab_orders/junction/client.h"

namespace lab_orders::testing {

class MockJunctionClient : public junction::JunctionClient {
 public:
  MOCK_METHOD(junction::Result<junction::User>, CreateUser, (const junction::CreateUserRequest&),
              (override));
  MOCK_METHOD(junction::Result<junction::User>, ResolveUser, (const std::string&), (override));
  MOCK_METHOD(junction::Result<std::vector<junction::LabTest>>, ListLabTests, (), (override));
  MOCK_METHOD(junction::Result<junction::OrderResponse>, CreateOrder,
              (const junction::CreateOrderRequest&), (override));
  MOCK_METHOD(junction::Result<junction::Order>, GetOrder, (const std::string&), (override));
  MOCK_METHOD(junction::Result<junction::OrderResponse>, CancelOrder, (const std::string&),
              (override));
  MOCK_METHOD(junction::Result<junction::AreaInfo>, GetAreaInfo, (const std::string&), (override));
  MOCK_METHOD(junction::Result<junction::ServiceCenters>, GetServiceCenters,
              (const std::string&, int, int), (override));
  MOCK_METHOD(junction::Result<junction::Availability>, GetAvailability,
              (const junction::USAddress&, const std::optional<std::string>&), (override));
  MOCK_METHOD(junction::Result<junction::Appointment>, BookAppointment,
              (const std::string&, const junction::BookingRequest&), (override));
  MOCK_METHOD(junction::Result<junction::Appointment>, GetAppointment, (const std::string&),
              (override));
  MOCK_METHOD(junction::Result<junction::Appointment>, RescheduleAppointment,
              (const std::string&, const junction::RescheduleRequest&), (override));
  MOCK_METHOD(junction::Result<junction::Appointment>, CancelAppointment,
              (const std::string&, const junction::CancelAppointmentRequest&), (override));
  MOCK_METHOD(junction::Result<std::vector<junction::CancellationReason>>, ListCancellationReasons,
              (), (override));
  MOCK_METHOD(junction::Result<junction::Availability>, GetServiceCenterAvailability,
              (const junction::ServiceCenterSlotsQuery&), (override));
  MOCK_METHOD(junction::Result<junction::Appointment>, BookServiceCenterAppointment,
              (const std::string&, const junction::BookingRequest&), (override));
  MOCK_METHOD(junction::Result<junction::Appointment>, GetServiceCenterAppointment,
              (const std::string&), (override));
  MOCK_METHOD(junction::Result<junction::Appointment>, RescheduleServiceCenterAppointment,
              (const std::string&, const junction::RescheduleRequest&), (override));
  MOCK_METHOD(junction::Result<junction::Appointment>, CancelServiceCenterAppointment,
              (const std::string&, const junction::CancelAppointmentRequest&), (override));
  MOCK_METHOD(junction::Result<std::vector<junction::CancellationReason>>,
              ListServiceCenterCancellationReasons, (), (override));
  MOCK_METHOD(junction::Result<junction::LabResult>, GetResult, (const std::string&), (override));
  MOCK_METHOD(junction::Result<junction::ResultPdf>, GetResultPdf, (const std::string&),
              (override));
};

}  // namespace lab_orders::testing
