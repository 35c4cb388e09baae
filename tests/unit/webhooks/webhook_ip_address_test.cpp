#include <gtest/gtest.h>

#include "lab_orders/webhooks/ip_address.h"

namespace lab_orders::webhooks {
namespace {

AddressRange RangeOf(const char* text) {
  std::optional<IpAddress> address = IpAddress::Parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address ? ClassifyAddress(*address) : AddressRange::kReserved;
}

TEST(IpAddressTest, ParsesStrictForms) {
  EXPECT_TRUE(IpAddress::Parse("203.0.114.7")->is_v4());
  EXPECT_FALSE(IpAddress::Parse("2606:4700::1111")->is_v4());
  EXPECT_EQ(IpAddress::Parse("2606:4700:0:0::1111")->ToString(), "2606:4700::1111");
  EXPECT_EQ(IpAddress::Parse("::ffff:10.0.0.1")->ToString(), "::ffff:10.0.0.1");
}

TEST(IpAddressTest, RefusesShorthandsAndDecorations) {
  for (const char* text : {"", "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.0.0.01",
                           "1.2.3.4.5", "256.0.0.1", "[::1]", "fe80::1%eth0", " 1.2.3.4",
                           "1.2.3.4 ", "localhost", "::fffff:1.2.3.4"}) {
    EXPECT_FALSE(IpAddress::Parse(text).has_value()) << "\"" << text << "\"";
  }
  EXPECT_FALSE(IpAddress::Parse(std::string_view("1.2.3.4\0", 8)).has_value());
}

TEST(ClassifyAddressTest, PublicAddressesArePublic) {
  for (const char* text :
       {"1.1.1.1", "8.8.8.8", "203.0.114.7", "100.63.255.255", "100.128.0.0", "172.15.255.255",
        "172.32.0.0", "192.167.255.255", "169.253.0.1", "223.255.255.255", "2606:4700::1111",
        "2001:4860:4860::8888", "64:ff9b::808:808"}) {
    EXPECT_EQ(RangeOf(text), AddressRange::kPublic) << text;
  }
}

TEST(ClassifyAddressTest, IPv4RangesWebhooksMayNotReach) {
  struct Case {
    const char* address;
    AddressRange range;
  };
  for (const Case& c :
       {Case{"0.0.0.0", AddressRange::kUnspecified},
        Case{"0.255.255.255", AddressRange::kUnspecified},
        Case{"127.0.0.1", AddressRange::kLoopback},
        Case{"127.255.255.254", AddressRange::kLoopback}, Case{"10.0.0.1", AddressRange::kPrivate},
        Case{"10.255.255.255", AddressRange::kPrivate}, Case{"172.16.0.1", AddressRange::kPrivate},
        Case{"172.31.255.255", AddressRange::kPrivate}, Case{"192.168.0.1", AddressRange::kPrivate},
        Case{"192.168.255.255", AddressRange::kPrivate},
        Case{"100.64.0.1", AddressRange::kSharedCgnat},
        Case{"100.127.255.255", AddressRange::kSharedCgnat},
        Case{"169.254.169.254", AddressRange::kLinkLocal},
        Case{"224.0.0.1", AddressRange::kMulticast},
        Case{"239.255.255.250", AddressRange::kMulticast},
        Case{"240.0.0.1", AddressRange::kReserved},
        Case{"255.255.255.255", AddressRange::kReserved},
        Case{"192.0.2.1", AddressRange::kReserved}, Case{"198.18.0.1", AddressRange::kReserved}}) {
    EXPECT_EQ(RangeOf(c.address), c.range) << c.address;
  }
}

TEST(ClassifyAddressTest, IPv6RangesWebhooksMayNotReach) {
  struct Case {
    const char* address;
    AddressRange range;
  };
  for (const Case& c :
       {Case{"::", AddressRange::kUnspecified}, Case{"::1", AddressRange::kLoopback},
        Case{"fe80::1", AddressRange::kLinkLocal}, Case{"febf:ffff::1", AddressRange::kLinkLocal},
        Case{"fc00::1", AddressRange::kUniqueLocal},
        Case{"fd12:3456:789a::1", AddressRange::kUniqueLocal},
        Case{"ff02::1", AddressRange::kMulticast}, Case{"2001:db8::1", AddressRange::kReserved},
        Case{"fec0::1", AddressRange::kReserved}, Case{"::2", AddressRange::kReserved},
        Case{"::8.8.8.8", AddressRange::kReserved}}) {
    EXPECT_EQ(RangeOf(c.address), c.range) << c.address;
  }
}

TEST(ClassifyAddressTest, EmbeddedIPv4IsJudgedByItsIPv4Address) {
  EXPECT_EQ(RangeOf("::ffff:127.0.0.1"), AddressRange::kLoopback);
  EXPECT_EQ(RangeOf("::ffff:7f00:1"), AddressRange::kLoopback);
  EXPECT_EQ(RangeOf("::ffff:10.1.2.3"), AddressRange::kPrivate);
  EXPECT_EQ(RangeOf("::ffff:169.254.169.254"), AddressRange::kLinkLocal);
  EXPECT_EQ(RangeOf("::ffff:0.0.0.0"), AddressRange::kUnspecified);
  EXPECT_EQ(RangeOf("::ffff:100.64.0.1"), AddressRange::kSharedCgnat);
  EXPECT_EQ(RangeOf("::ffff:224.0.0.1"), AddressRange::kMulticast);
  EXPECT_EQ(RangeOf("::ffff:8.8.8.8"), AddressRange::kPublic);
  EXPECT_EQ(RangeOf("64:ff9b::a00:1"), AddressRange::kPrivate);
}

}  // namespace
}  // namespace lab_orders::webhooks
