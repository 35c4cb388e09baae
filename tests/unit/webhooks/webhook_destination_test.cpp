#include <gtest/gtest.h>

#include <string>

#include "lab_orders/webhooks/destination.h"

namespace lab_orders::webhooks {
namespace {

DestinationUrl Parsed(const std::string& url) {
  DestinationCheck check = ParseDestinationUrl(url);
  EXPECT_TRUE(check.ok()) << url << ": " << (check.ok() ? "" : check.refusal().message);
  return check.ok() ? check.url() : DestinationUrl{};
}

DestinationError RefusalOf(const std::string& url) {
  DestinationCheck check = ParseDestinationUrl(url);
  EXPECT_FALSE(check.ok()) << url;
  return check.ok() ? DestinationError::kMalformedUrl : check.refusal().error;
}

TEST(ParseDestinationUrlTest, ReadsHostPortAndTarget) {
  DestinationUrl url = Parsed("https://Hooks.Example.COM/labs/in?brand=acme");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host, "hooks.example.com");
  EXPECT_EQ(url.port, 443);
  EXPECT_EQ(url.target, "/labs/in?brand=acme");
  EXPECT_FALSE(url.ip_literal.has_value());
  EXPECT_TRUE(url.secure());
  EXPECT_EQ(url.HostHeader(), "hooks.example.com");
}

TEST(ParseDestinationUrlTest, DefaultsAndExplicitPorts) {
  EXPECT_EQ(Parsed("http://example.com").port, 80);
  EXPECT_EQ(Parsed("http://example.com").target, "/");
  EXPECT_EQ(Parsed("https://example.com?x=1").target, "/?x=1");
  DestinationUrl url = Parsed("HTTP://example.com:8443/x");
  EXPECT_EQ(url.scheme, "http");
  EXPECT_EQ(url.port, 8443);
  EXPECT_EQ(url.HostHeader(), "example.com:8443");
  EXPECT_EQ(Parsed("https://example.com:443/").HostHeader(), "example.com");
}

TEST(ParseDestinationUrlTest, IpLiterals) {
  DestinationUrl v4 = Parsed("http://127.0.0.1:5000/hook");
  ASSERT_TRUE(v4.ip_literal.has_value());
  EXPECT_TRUE(v4.ip_literal->is_v4());
  EXPECT_EQ(v4.HostHeader(), "127.0.0.1:5000");
  DestinationUrl v6 = Parsed("https://[2606:4700::1111]:8443/");
  ASSERT_TRUE(v6.ip_literal.has_value());
  EXPECT_EQ(v6.host, "2606:4700::1111");
  EXPECT_EQ(v6.HostHeader(), "[2606:4700::1111]:8443");
}

TEST(ParseDestinationUrlTest, RefusesOtherSchemes) {
  for (const char* url :
       {"ftp://example.com/", "file:///etc/passwd", "gopher://example.com/", "ws://example.com/"}) {
    EXPECT_EQ(RefusalOf(url), DestinationError::kUnsupportedScheme) << url;
  }
}

TEST(ParseDestinationUrlTest, RefusesUserinfoWithoutQuotingIt) {
  for (const char* url : {"https://user:hunter2@example.com/", "https://user@example.com/",
                          "https://example.com@127.0.0.1/", "https://:pw@example.com/"}) {
    DestinationCheck check = ParseDestinationUrl(url);
    ASSERT_FALSE(check.ok()) << url;
    EXPECT_EQ(check.refusal().error, DestinationError::kUserinfo) << url;
    EXPECT_EQ(check.refusal().message.find("hunter2"), std::string::npos);
  }
}

TEST(ParseDestinationUrlTest, RefusesMalformedUrls) {
  for (const char* url : {"",
                          "example.com/hook",
                          "//example.com/",
                          "https://",
                          "https:///path",
                          "https://:443/",
                          "https://exa mple.com/",
                          "https://example.com/a b",
                          "https://example.com/\r\nX-Injected: 1",
                          "https://exämple.com/",
                          "https://example.com/#frag",
                          "https://example.com:0/",
                          "https://example.com:65536/",
                          "https://example.com:/",
                          "https://example.com:80a/",
                          "https://example..com/",
                          "https://-example.com/",
                          "https://example-.com/",
                          "https://under_score.example.com/",
                          "https://example.com./",
                          "https://[::1/",
                          "https://[::1]x/",
                          "https://[127.0.0.1]/",
                          "https://[fe80::1%25eth0]/"}) {
    EXPECT_EQ(RefusalOf(url), DestinationError::kMalformedUrl) << url;
  }
  EXPECT_EQ(RefusalOf("https://example.com/" + std::string(2100, 'a')),
            DestinationError::kMalformedUrl);
}

TEST(ParseDestinationUrlTest, RefusesNumericHostsThatAreNotDottedQuads) {
  // Each of these reaches 127.0.0.1 through some resolver or URL parser.
  for (const char* url :
       {"http://2130706433/", "http://0x7f000001/", "http://0x7f.1/", "http://127.1/",
        "http://0177.0.0.1/", "http://127.0.0.01/", "http://foo.0x10/", "http://1.2.3.4.5/"}) {
    EXPECT_EQ(RefusalOf(url), DestinationError::kMalformedUrl) << url;
  }
}

TEST(DestinationErrorCodeTest, EveryErrorHasAStableCode) {
  EXPECT_STREQ(DestinationErrorCode(DestinationError::kMalformedUrl), "webhook_url_malformed");
  EXPECT_STREQ(DestinationErrorCode(DestinationError::kInsecureScheme), "webhook_url_not_https");
  EXPECT_STREQ(DestinationErrorCode(DestinationError::kUserinfo), "webhook_url_has_credentials");
  EXPECT_STREQ(DestinationErrorCode(DestinationError::kForbiddenAddress),
               "webhook_address_forbidden");
  EXPECT_STREQ(DestinationErrorCode(DestinationError::kUnresolvable), "webhook_host_unresolvable");
  EXPECT_STREQ(DestinationErrorCode(DestinationError::kUnsupportedScheme),
               "webhook_url_scheme_unsupported");
}

}  // namespace
}  // namespace lab_orders::webhooks
