#include "lab_orders/store/postgres_url.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace lab_orders::store {
namespace {

constexpr char kDefaults[] =
    "application_name='lab-orders' connect_timeout='2' options='-cclient_min_messages=warning'";

TEST(PostgresUrlTest, EveryPartBecomesAQuotedKeyword) {
  EXPECT_EQ(PostgresConnectionString("postgresql://app:s3cret@db.internal:6543/orders"),
            "application_name='lab-orders' connect_timeout='2' dbname='orders' "
            "host='db.internal' options='-cclient_min_messages=warning' password='s3cret' "
            "port='6543' user='app'");
}

TEST(PostgresUrlTest, PercentEncodingIsDecodedAndQuotesAreEscaped) {
  std::string converted =
      PostgresConnectionString("postgres://o%27brien:p%40ss%5Cw@localhost/my%2Ddb");
  EXPECT_NE(converted.find(R"(user='o\'brien')"), std::string::npos) << converted;
  EXPECT_NE(converted.find(R"(password='p@ss\\w')"), std::string::npos) << converted;
  EXPECT_NE(converted.find("dbname='my-db'"), std::string::npos) << converted;
}

TEST(PostgresUrlTest, AnUnencodedAtSignInThePasswordIsKept) {
  std::string converted = PostgresConnectionString("postgresql://app:a@b@host/db");
  EXPECT_NE(converted.find("password='a@b'"), std::string::npos) << converted;
  EXPECT_NE(converted.find("host='host'"), std::string::npos) << converted;
}

TEST(PostgresUrlTest, QueryParametersPassThroughAndOverrideDefaults) {
  std::string converted = PostgresConnectionString(
      "postgresql://h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=5");
  EXPECT_NE(converted.find("sslmode='verify-full'"), std::string::npos) << converted;
  EXPECT_NE(converted.find("sslrootcert='/etc/ca.pem'"), std::string::npos) << converted;
  EXPECT_NE(converted.find("connect_timeout='5'"), std::string::npos) << converted;
  EXPECT_EQ(converted.find("connect_timeout='2'"), std::string::npos) << converted;
}

TEST(PostgresUrlTest, Ipv6HostsAndBareUrlsWork) {
  std::string converted = PostgresConnectionString("postgresql://[::1]:5433/db");
  EXPECT_NE(converted.find("host='::1'"), std::string::npos) << converted;
  EXPECT_NE(converted.find("port='5433'"), std::string::npos) << converted;
  EXPECT_EQ(PostgresConnectionString("postgresql://"), kDefaults);
}

TEST(PostgresUrlTest, MalformedUrlsAreRefusedWithoutThePassword) {
  for (const char* url : {"mysql://u:hunter2@h/db", "postgresql://u:hunter2@h:port/db",
                          "postgresql://u:hunter2@h/db?novalue", "postgresql://u:hunter2@h/db?X=1",
                          "postgresql://u:hunter2%zz@h/db", "postgresql://u:hunter2@[::1/db"}) {
    try {
      PostgresConnectionString(url);
      ADD_FAILURE() << "accepted " << url;
    } catch (const std::invalid_argument& error) {
      EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
    }
  }
}

// libpq reads quoted values itself: a space in a password or a database name goes through.
TEST(PostgresUrlTest, SpacesInValuesAreQuoted) {
  EXPECT_EQ(PostgresConnectionString("postgresql://app:two%20words@h/my%20db"),
            "application_name='lab-orders' connect_timeout='2' dbname='my db' host='h' "
            "options='-cclient_min_messages=warning' password='two words' user='app'");
}

TEST(PostgresUrlTest, RedactionHidesOnlyThePassword) {
  EXPECT_EQ(RedactDatabaseUrl("postgresql://app:s3cret@db:5432/orders?sslmode=require"),
            "postgresql://app:***@db:5432/orders?sslmode=require");
  EXPECT_EQ(RedactDatabaseUrl("postgresql://app@db/orders"), "postgresql://app@db/orders");
  EXPECT_EQ(RedactDatabaseUrl("sqlite:var/lab-orders.db"), "sqlite:var/lab-orders.db");
}

}  // namespace
}  // namespace lab_orders::store
