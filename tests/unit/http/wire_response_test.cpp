// An ApiResponse as bytes: the head alone for a compiled-in body (sent from where it lies), the
// head and body together otherwise, and no body where HTTP has none.

#include "http/wire_response.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace lab_orders::http {
namespace {

constexpr std::string_view kCompiledIn = "<!doctype html><title>reference</title>";

ApiResponse StaticPage() {
  ApiResponse response;
  response.static_body = kCompiledIn;
  response.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  return response;
}

TEST(WireResponseTest, TheHeadOfACompiledInBodyGivesItsLengthAndHoldsNoneOfIt) {
  const std::string head = WireHead(StaticPage(), WireOptions{});
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(kCompiledIn.size()) + "\r\n"),
            std::string::npos)
      << head;
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  EXPECT_EQ(head.find("<!doctype"), std::string::npos);
  EXPECT_EQ(head.find("application/json"), std::string::npos) << "its own type, not the default";
  EXPECT_TRUE(WireCarriesBody(StaticPage(), WireOptions{}));
}

TEST(WireResponseTest, TheWholeAnswerIsTheHeadThenTheBodyFromEitherPlace) {
  EXPECT_EQ(WireResponse(StaticPage(), WireOptions{}),
            WireHead(StaticPage(), WireOptions{}) + std::string(kCompiledIn));
  ApiResponse owned;
  owned.body = R"({"ok":true})";
  EXPECT_EQ(WireResponse(owned, WireOptions{}), WireHead(owned, WireOptions{}) + owned.body);
  EXPECT_NE(WireHead(owned, WireOptions{}).find("Content-Length: 11\r\n"), std::string::npos);
}

TEST(WireResponseTest, HeadRequestsAndAnswersWithoutContentCarryNoBody) {
  WireOptions head_request;
  head_request.head_request = true;
  EXPECT_FALSE(WireCarriesBody(StaticPage(), head_request));
  const std::string head_answer = WireResponse(StaticPage(), head_request);
  EXPECT_NE(head_answer.find("Content-Length: " + std::to_string(kCompiledIn.size())),
            std::string::npos);
  EXPECT_EQ(head_answer.find("<!doctype"), std::string::npos);

  for (int status : {204, 304}) {
    ApiResponse empty = StaticPage();
    empty.status = status;
    EXPECT_FALSE(WireCarriesBody(empty, WireOptions{}));
    const std::string wire = WireResponse(empty, WireOptions{});
    EXPECT_EQ(wire.find("Content-Length"), std::string::npos) << wire;
    EXPECT_EQ(wire.find("<!doctype"), std::string::npos) << wire;
  }
}

TEST(WireResponseTest, AConnectionThatEndsSaysSo) {
  WireOptions closing;
  closing.keep_alive = false;
  EXPECT_NE(WireHead(StaticPage(), closing).find("Connection: close\r\n"), std::string::npos);
  WireOptions old_client;
  old_client.http_1_0 = true;
  EXPECT_NE(WireHead(StaticPage(), old_client).find("Connection: keep-alive\r\n"),
            std::string::npos);
}

}  // namespace
}  // namespace lab_orders::http
