// The Junction order one of ours stands for: the patient's gender in Junction's words, the
// channel's name at Junction, and everything carried over (no more, no less) on either channel.

#include "lab_orders/junction/order_request_for.h"

#include <gtest/gtest.h>

namespace lab_orders::junction {
namespace {

TEST(JunctionGenderForTest, MapsSexToJunctionGender) {
  for (const char* sex : {"female", "Female", "FEMALE", "f", "F"}) {
    EXPECT_EQ(JunctionGenderFor(std::string(sex)), "female") << sex;
  }
  for (const char* sex : {"male", "Male", "MALE", "m", "M"}) {
    EXPECT_EQ(JunctionGenderFor(std::string(sex)), "male") << sex;
  }
  EXPECT_EQ(JunctionGenderFor(std::string("other")), "other");
  EXPECT_EQ(JunctionGenderFor(std::string("Other")), "other");
}

TEST(JunctionGenderForTest, AnythingElseIsUnknown) {
  EXPECT_EQ(JunctionGenderFor(std::nullopt), "unknown");
  for (const char* sex : {"", "woman", " female", "fem", "intersex", "x", "unknown", "mf"}) {
    EXPECT_EQ(JunctionGenderFor(std::string(sex)), "unknown") << sex;
  }
}

TEST(CreateOrderRequestForTest, CarriesThePatientAddressTestsAndKeyOnTheChannelAsked) {
  model::LabOrder order;
  order.id = "order-1";
  order.junction_user_id = "user-1";
  order.patient.first_name = "Ana";
  order.patient.last_name = "Lopez";
  order.patient.dob = "1990-04-12";
  order.patient.sex = "F";
  order.patient.phone = "+16025550100";
  order.patient.email = "ana@example.com";
  order.address.line1 = "1 West Lincoln Street";
  order.address.city = "Phoenix";
  order.address.state = "AZ";
  order.address.zip = "85004";
  order.address.country = "US";
  order.workflow.collection_method = model::kAtHome;

  CreateOrderRequest walk_in = CreateOrderRequestFor(order, model::kWalkIn, {"test-a", "test-b"},
                                                     "lab-orders:order-1:walk_in");
  EXPECT_EQ(walk_in.user_id, "user-1");
  EXPECT_EQ(walk_in.collection_method, "walk_in_test");
  EXPECT_EQ(walk_in.lab_test_ids, (std::vector<std::string>{"test-a", "test-b"}));
  EXPECT_EQ(walk_in.idempotency_key, "lab-orders:order-1:walk_in");
  EXPECT_EQ(walk_in.patient_details.first_name, "Ana");
  EXPECT_EQ(walk_in.patient_details.gender, "female");
  EXPECT_EQ(walk_in.patient_details.phone_number, "+16025550100");
  EXPECT_EQ(walk_in.patient_address.zip, "85004");
  EXPECT_EQ(walk_in.patient_address.country, "US");

  EXPECT_EQ(CreateOrderRequestFor(order, model::kAtHome, {}, "k").collection_method,
            "at_home_phlebotomy");
  EXPECT_EQ(CreateOrderRequestFor(order, model::kTestkit, {}, "k").collection_method, "testkit");
}

}  // namespace
}  // namespace lab_orders::junction
