#include "lab_orders/app/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace lab_orders {
namespace {

// What production mode needs before anything else is read.
std::map<std::string, std::string> Production(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> environment = {
      {"LAB_ORDERS_JWT_SECRET", "test-secret-with-at-least-thirty-two-characters"},
      {"LAB_ORDERS_PHI_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
      {"JUNCTION_API_KEY", "sk_us_test"}};
  for (auto& [name, value] : extra) environment[name] = value;
  return environment;
}

// Every missing production secret is named in one error: one restart fixes them all.
TEST(ConfigTest, EveryMissingProductionSecretIsNamedAtOnce) {
  try {
    LoadConfig({});
    ADD_FAILURE() << "production mode started without its secrets";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    for (const char* name : {"LAB_ORDERS_JWT_SECRET or LAB_ORDERS_JWT_PUBLIC_KEY",
                             "LAB_ORDERS_PHI_KEY", "JUNCTION_API_KEY"}) {
      EXPECT_NE(message.find(name), std::string::npos) << name << " in: " << message;
    }
  }
  try {
    LoadConfig(Production({{"JUNCTION_API_KEY", ""}}));  // empty is unset
    ADD_FAILURE() << "production mode started without JUNCTION_API_KEY";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("JUNCTION_API_KEY"), std::string::npos) << message;
    EXPECT_EQ(message.find("LAB_ORDERS_PHI_KEY"), std::string::npos) << message;
  }
  EXPECT_NO_THROW(
      LoadConfig({{"LAB_ORDERS_ENV", "development"},
                  {"LAB_ORDERS_PHI_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}));
}

TEST(ConfigTest, JunctionPoolKeepsAConnectionForEveryThreadThatMayCallAtOnce) {
  Config defaults = LoadConfig(Production());
  EXPECT_EQ(defaults.http_threads, 64);
  EXPECT_EQ(defaults.jobs.workers, 4);
  EXPECT_EQ(defaults.junction.max_idle_connections, 68);

  Config wide =
      LoadConfig(Production({{"LAB_ORDERS_HTTP_THREADS", "1064"}, {"LAB_ORDERS_WORKERS", "8"}}));
  EXPECT_EQ(wide.http_threads, 1064);
  EXPECT_EQ(wide.junction.max_idle_connections, 1072);
}

TEST(ConfigTest, TheDoorsDeadlinesAndCapsAreReadInSecondsAndBounded) {
  const Config defaults = LoadConfig(Production());
  EXPECT_EQ(defaults.http_door.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(defaults.http_door.head_timeout, std::chrono::seconds(10));
  EXPECT_EQ(defaults.http_door.body_timeout, std::chrono::seconds(30));
  EXPECT_EQ(defaults.http_door.send_timeout, std::chrono::seconds(30));
  EXPECT_EQ(defaults.http_door.max_connections_per_address, 1000u);
  const Config set = LoadConfig(Production({{"LAB_ORDERS_HTTP_HEAD_TIMEOUT_S", "3"},
                                            {"LAB_ORDERS_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "7"},
                                            {"LAB_ORDERS_HTTP_IO_THREADS", "2"}}));
  EXPECT_EQ(set.http_door.head_timeout, std::chrono::seconds(3));
  EXPECT_EQ(set.http_door.max_connections_per_address, 7u);
  EXPECT_EQ(set.http_door.io_threads, 2);
  EXPECT_THROW(LoadConfig(Production({{"LAB_ORDERS_HTTP_HEAD_TIMEOUT_S", "0"}})), ConfigError);
  EXPECT_THROW(LoadConfig(Production({{"LAB_ORDERS_HTTP_SEND_TIMEOUT_S", "soon"}})), ConfigError);
}

// A booking whose answer was lost is looked up only once Junction is done with the call: by
// default the call's own deadline, never less.
TEST(ConfigTest, ABookingSettlesAfterTheCallsDeadlineOrLaterIfSet) {
  EXPECT_EQ(LoadConfig(Production()).workflow.booking_settle, std::chrono::milliseconds(10000));
  EXPECT_EQ(LoadConfig(Production({{"JUNCTION_TIMEOUT_MS", "4000"}})).workflow.booking_settle,
            std::chrono::milliseconds(4000));
  EXPECT_EQ(
      LoadConfig(Production({{"LAB_ORDERS_BOOKING_SETTLE_MS", "30000"}})).workflow.booking_settle,
      std::chrono::milliseconds(30000));
  try {
    LoadConfig(Production({{"LAB_ORDERS_BOOKING_SETTLE_MS", "9999"}}));
    ADD_FAILURE() << "a settle shorter than the booking call's deadline was taken";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("JUNCTION_TIMEOUT_MS (10000)"), std::string::npos)
        << error.what();
  }
}

TEST(ConfigTest, JunctionPoolSizeCanBeSet) {
  EXPECT_EQ(LoadConfig(Production({{"JUNCTION_MAX_IDLE_CONNECTIONS", "16"}}))
                .junction.max_idle_connections,
            16);
  // 0 keeps none: a new connection for every call.
  EXPECT_EQ(LoadConfig(Production({{"JUNCTION_MAX_IDLE_CONNECTIONS", "0"}}))
                .junction.max_idle_connections,
            0);
  for (const char* bad : {"-1", "many", "70000"}) {
    try {
      LoadConfig(Production({{"JUNCTION_MAX_IDLE_CONNECTIONS", bad}}));
      ADD_FAILURE() << bad << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("JUNCTION_MAX_IDLE_CONNECTIONS"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace lab_orders
