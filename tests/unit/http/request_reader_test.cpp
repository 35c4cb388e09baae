#include "lab_orders/http/request_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace lab_orders::http {
namespace {

using Status = RequestReader::Status;

// Feeds all of wire at once; "" when a request is complete, "more" when more is awaited, else the
// refusal's code.
std::string Verdict(const std::string& wire, ReaderLimits limits = {}) {
  RequestReader reader(limits);
  switch (reader.Advance(wire)) {
    case Status::kComplete:
      return "";
    case Status::kNeedMore:
      return "more";
    case Status::kRefused:
      return ErrorCodeName(reader.Refusal().code());
  }
  return "?";
}

// Feeds wire one byte at a time (each call sees every byte so far), as a slow client sends it.
Status FeedByteByByte(RequestReader& reader, const std::string& wire) {
  Status status = Status::kNeedMore;
  for (std::size_t end = 1; end <= wire.size() && status == Status::kNeedMore; ++end) {
    status = reader.Advance(std::string_view(wire).substr(0, end));
  }
  return status;
}

const std::string kHost = "Host: lab-orders.test\r\n";

TEST(RequestReaderTest, ReadsAGetWithItsFields) {
  RequestReader reader;
  const std::string wire = "GET /v1/labs/orders?status=ordered HTTP/1.1\r\n" + kHost +
                           "Authorization:   Bearer abc  \r\nX-Custom: a\r\nx-custom: b\r\n\r\n";
  ASSERT_EQ(reader.Advance(wire), Status::kComplete);
  EXPECT_EQ(reader.Consumed(), wire.size());
  ReadRequest request = reader.TakeRequest();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/v1/labs/orders?status=ordered");
  EXPECT_EQ(request.minor_version, 1);
  EXPECT_TRUE(request.keep_alive);
  ASSERT_NE(request.Field("authorization"), nullptr);
  EXPECT_EQ(*request.Field("authorization"), "Bearer abc");
  EXPECT_EQ(request.fields.size(), 4u);  // a field repeated on two lines stays two lines
  EXPECT_EQ(request.body, "");
}

TEST(RequestReaderTest, ABodyArrivingByteByByteIsReadWholeAndOnlyOnce) {
  const std::string body = R"({"panel_slug":"pcos"})";
  const std::string wire = "POST /v1/labs/orders HTTP/1.1\r\n" + kHost +
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  RequestReader reader;
  ASSERT_EQ(FeedByteByByte(reader, wire), Status::kComplete);
  EXPECT_EQ(reader.Consumed(), wire.size());
  EXPECT_EQ(reader.TakeRequest().body, body);
}

TEST(RequestReaderTest, PipelinedRequestsAreReadOneAfterTheOther) {
  const std::string first = "POST /a HTTP/1.1\r\n" + kHost + "Content-Length: 3\r\n\r\nabc";
  const std::string second = "GET /b HTTP/1.1\r\n" + kHost + "\r\n";
  std::string input = first + second + "GET /c HT";
  RequestReader reader;
  ASSERT_EQ(reader.Advance(input), Status::kComplete);
  EXPECT_EQ(reader.TakeRequest().body, "abc");
  input.erase(0, reader.Consumed());
  reader.Reset();
  ASSERT_EQ(reader.Advance(input), Status::kComplete);
  EXPECT_EQ(reader.TakeRequest().target, "/b");
  input.erase(0, reader.Consumed());
  reader.Reset();
  EXPECT_EQ(reader.Advance(input), Status::kNeedMore);
  EXPECT_TRUE(reader.Started());
  EXPECT_FALSE(reader.HeadComplete());
}

TEST(RequestReaderTest, AChunkedBodyIsDecodedWithExtensionsAndTrailersDropped) {
  const std::string wire = "POST /a HTTP/1.1\r\n" + kHost +
                           "Transfer-Encoding: chunked\r\n\r\n"
                           "5;name=value\r\nhello\r\n"
                           "7 \t; bws=before-the-semicolon\r\n, world\r\n"
                           "0\r\nX-Trailer: dropped\r\n\r\n"
                           "GET /next";
  RequestReader reader;
  ASSERT_EQ(FeedByteByByte(reader, wire), Status::kComplete);
  EXPECT_EQ(reader.Consumed(), wire.size() - std::string("GET /next").size());
  EXPECT_EQ(reader.TakeRequest().body, "hello, world");
}

TEST(RequestReaderTest, AChunkedBodyWithoutItsLastChunkIsNeverComplete) {
  EXPECT_EQ(
      Verdict("POST /a HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
      "more");
  EXPECT_EQ(Verdict("POST /a HTTP/1.1\r\n" + kHost + "Content-Length: 10\r\n\r\nshort"), "more");
}

TEST(RequestReaderTest, TheHeadIsCompleteBeforeTheBodyAndAnExpectationIsSeen) {
  RequestReader reader;
  ASSERT_EQ(reader.Advance("POST /a HTTP/1.1\r\n" + kHost +
                           "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n"),
            Status::kNeedMore);
  EXPECT_TRUE(reader.HeadComplete());
  EXPECT_TRUE(reader.Head().expects_continue);
}

TEST(RequestReaderTest, ConnectionPersistenceFollowsTheVersionAndTheConnectionField) {
  auto keep_alive = [](const std::string& head) {
    RequestReader reader;
    EXPECT_EQ(reader.Advance(head + "\r\n"), Status::kComplete) << head;
    return reader.TakeRequest().keep_alive;
  };
  EXPECT_TRUE(keep_alive("GET / HTTP/1.1\r\n" + kHost));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\n" + kHost + "Connection: Close\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.0\r\n"));
  EXPECT_TRUE(keep_alive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"));
}

TEST(RequestReaderTest, CloseOnAnyConnectionLineWinsAndA10ExpectationIsIgnored) {
  RequestReader two_lines;
  ASSERT_EQ(two_lines.Advance("GET / HTTP/1.1\r\n" + kHost +
                              "Connection: keep-alive\r\nConnection: close\r\n\r\n"),
            Status::kComplete);
  EXPECT_FALSE(two_lines.TakeRequest().keep_alive);
  RequestReader old;
  ASSERT_EQ(old.Advance("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"),
            Status::kComplete);
  EXPECT_FALSE(old.TakeRequest().keep_alive);
  RequestReader expecting;
  ASSERT_EQ(
      expecting.Advance("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"),
      Status::kNeedMore);
  EXPECT_FALSE(expecting.Head().expects_continue);
}

TEST(RequestReaderTest, ABodyInTinyChunksIsRefusedOnceItsFramingOutgrowsTheLimit) {
  std::string wire = "POST /a HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n";
  // 30,000 one-byte chunks: a 30 KB body, within the limit, in 180 KB of framing.
  for (int i = 0; i < 30000; ++i) wire += "1;ext=padding\r\nx\r\n";
  EXPECT_EQ(Verdict(wire), "payload_too_large");
  // The same body in a few chunks is fine.
  std::string few = "POST /a HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) few += "2710\r\n" + std::string(10000, 'x') + "\r\n";
  EXPECT_EQ(Verdict(few + "0\r\n\r\n"), "");
}

TEST(RequestReaderTest, EmptyLinesBeforeARequestAreIgnoredButNotForever) {
  EXPECT_EQ(Verdict("\r\nGET / HTTP/1.1\r\n" + kHost + "\r\n"), "");
  EXPECT_EQ(Verdict("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" + kHost + "\r\n"),
            "malformed_request");
}

TEST(RequestReaderTest, FramingThatCouldBeReadTwoWaysIsRefused) {
  const std::string post = "POST /a HTTP/1.1\r\n" + kHost;
  EXPECT_EQ(Verdict(post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
            "malformed_request");
  EXPECT_EQ(Verdict(post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
            "malformed_request");
  for (const char* length : {"abc", "-1", "+5", "5,5", "0x10", "1 2", "12345678901234567890"}) {
    EXPECT_EQ(Verdict(post + "Content-Length: " + length + "\r\n\r\n"), "malformed_request")
        << length;
  }
  EXPECT_EQ(Verdict(post + "Content-Length:\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "malformed_request");
  EXPECT_EQ(Verdict(post + "Transfer-Encoding: gzip, chunked\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "malformed_request");
  EXPECT_EQ(Verdict("POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(post + "Content-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx"),
            "unsupported_media_type");
  EXPECT_EQ(Verdict(post + "Content-Encoding: identity\r\nContent-Length: 1\r\n\r\nx"), "");
}

TEST(RequestReaderTest, LinesAndFieldsOutsideTheGrammarAreRefused) {
  const std::string get = "GET / HTTP/1.1\r\n";
  EXPECT_EQ(Verdict(get + kHost + "X-A: 1\n\r\n"), "malformed_request");            // bare LF
  EXPECT_EQ(Verdict("GET / HTTP/1.1\n" + kHost + "\r\n"), "malformed_request");     // bare LF
  EXPECT_EQ(Verdict(get + kHost + "X-A: 1\rX-B: 2\r\n\r\n"), "malformed_request");  // bare CR
  EXPECT_EQ(Verdict(get + kHost + "X-A: 1\r\n continued\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(get + kHost + "X-A: 1\r\n\tcontinued\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(get + kHost + "no colon here\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(get + kHost + "Transfer-Encoding : chunked\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(get + kHost + ": empty name\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(get + kHost + std::string("X-A: a\0b\r\n\r\n", 12)), "malformed_request");
  EXPECT_EQ(Verdict(get + kHost +
                    "X-A: a\x01"
                    "b\r\n\r\n"),
            "malformed_request");
  EXPECT_EQ(Verdict(get + kHost + "X-A: caf\xC3\xA9\r\n\r\n"), "");  // obs-text is allowed
}

TEST(RequestReaderTest, HostMustBeThereOnceAsAHostAndSingleValuedFieldsOnce) {
  EXPECT_EQ(Verdict("GET / HTTP/1.1\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET / HTTP/1.1\r\n" + kHost + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET / HTTP/1.0\r\n\r\n"), "");
  for (const char* host : {"a.test", "a.test:8080", "127.0.0.1:1", "[::1]:443", "[fe80::1]", "",
                           "xn--d1acufc.test", "a.test:"}) {
    EXPECT_EQ(Verdict("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n"), "") << host;
  }
  for (const char* host : {"a b", "a.test:80:80", "a.test:port", "a/b", "a@b", "[::1", "[]",
                           "[::1]x", "a.test:123456", "\"a\""}) {
    EXPECT_EQ(Verdict("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n"),
              "malformed_request")
        << host;
  }
  for (const char* field :
       {"Authorization: a", "Idempotency-Key: k", "Content-Type: x/y", "X-Request-Id: r"}) {
    EXPECT_EQ(Verdict("GET / HTTP/1.1\r\n" + kHost + field + "\r\n" + field + "\r\n\r\n"),
              "malformed_request")
        << field;
  }
}

TEST(RequestReaderTest, WhatIsNotAnHttp1RequestLineIsRefused) {
  EXPECT_EQ(Verdict("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), "malformed_request");  // TLS
  EXPECT_EQ(Verdict("GET /\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET  / HTTP/1.1\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET http:/x HTTP/1.1\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET http:///a HTTP/1.1\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET ftp://x/ HTTP/1.1\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("CONNECT x:443 HTTP/1.1\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("OPTIONS * HTTP/1.1\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET / HTTP/1.1 \r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET / FTP/1.1\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("G@T / HTTP/1.1\r\n" + kHost + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict("GET / HTTP/2.0\r\n" + kHost + "\r\n"), "http_version_not_supported");
  EXPECT_EQ(Verdict("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), "http_version_not_supported");
}

// RFC 9112 §3.2.2: a server must accept the absolute form; the path and query are what count.
TEST(RequestReaderTest, AnAbsoluteFormTargetIsReadAsItsPathAndQuery) {
  auto target_of = [](const std::string& target) {
    RequestReader reader;
    EXPECT_EQ(reader.Advance("GET " + target + " HTTP/1.1\r\n" + kHost + "\r\n"), Status::kComplete)
        << target;
    return reader.TakeRequest().target;
  };
  EXPECT_EQ(target_of("http://lab-orders.test/v1/labs/orders?status=ordered"),
            "/v1/labs/orders?status=ordered");
  EXPECT_EQ(target_of("HTTPS://lab-orders.test:8443/healthz"), "/healthz");
  EXPECT_EQ(target_of("http://lab-orders.test"), "/");
  EXPECT_EQ(target_of("http://lab-orders.test?x=1"), "/?x=1");
  EXPECT_EQ(target_of("/healthz"), "/healthz");
}

TEST(RequestReaderTest, OversizedPartsAreRefusedWithTheirOwnCodesAndAsSoonAsSeen) {
  const std::string long_target = "GET /" + std::string(9000, 'a');
  EXPECT_EQ(Verdict(long_target), "uri_too_long");  // before the line even ends
  const std::string big_field = "GET / HTTP/1.1\r\n" + kHost + "X-Big: " + std::string(33000, 'a');
  EXPECT_EQ(Verdict(big_field), "headers_too_large");
  std::string many = "GET / HTTP/1.1\r\n" + kHost;
  for (int i = 0; i < 100; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(Verdict(many + "\r\n"), "headers_too_large");
  const std::string post = "POST /a HTTP/1.1\r\n" + kHost;
  EXPECT_EQ(Verdict(post + "Content-Length: 70000\r\n\r\n"), "payload_too_large");
  EXPECT_EQ(Verdict(post + "Transfer-Encoding: chunked\r\n\r\n10001\r\n"), "payload_too_large");
  // A 7 KB token fits: a head limit must not refuse ordinary large JWTs.
  EXPECT_EQ(Verdict("GET / HTTP/1.1\r\n" + kHost + "Authorization: Bearer " +
                    std::string(7000, 'a') + "\r\n\r\n"),
            "");
}

TEST(RequestReaderTest, MalformedChunksAreRefused) {
  const std::string chunked = "POST /a HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(Verdict(chunked + "zz\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(chunked + "\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(chunked + "-1\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(chunked + "123456789\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(chunked + "3\r\nabcd\r\n0\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(chunked + "3\nabc\r\n0\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(chunked + "0\r\nbad trailer\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(chunked + "3 \r\nabc\r\n0\r\n\r\n"), "malformed_request");  // BWS, no ';'
  EXPECT_EQ(Verdict(chunked + " 3\r\nabc\r\n0\r\n\r\n"), "malformed_request");
  EXPECT_EQ(Verdict(chunked + "0\r\n\r\n"), "");
}

}  // namespace
}  // namespace lab_orders::http
