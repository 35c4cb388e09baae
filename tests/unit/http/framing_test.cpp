#include "lab_orders/http/framing.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace lab_orders::http {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// "" when the head passes, else the error's code.
std::string Verdict(const Fields& fields) {
  Poco::Net::NameValueCollection head;
  for (const auto& [name, value] : fields) head.add(name, value);
  std::optional<AppError> problem = FramingProblem(head);
  return problem ? ErrorCodeName(problem->code()) : "";
}

TEST(FramingTest, SoundHeadsPass) {
  EXPECT_EQ(Verdict({}), "");
  EXPECT_EQ(Verdict({{"Content-Length", "0"}}), "");
  EXPECT_EQ(Verdict({{"content-length", " 1234 "}}), "");
  EXPECT_EQ(Verdict({{"Transfer-Encoding", "chunked"}}), "");
  EXPECT_EQ(Verdict({{"Transfer-Encoding", "Chunked"}}), "");
  EXPECT_EQ(Verdict({{"Content-Length", "12"}, {"Content-Encoding", "identity"}}), "");
}

TEST(FramingTest, AContentLengthGivenTwiceIsRefusedWhateverItsValues) {
  EXPECT_EQ(Verdict({{"Content-Length", "5"}, {"Content-Length", "6"}}), "malformed_request");
  EXPECT_EQ(Verdict({{"Content-Length", "5"}, {"content-length", "5"}}), "malformed_request");
  EXPECT_EQ(Verdict({{"Content-Length", "5"}, {"Host", "x"}, {"Content-Length", "5"}}),
            "malformed_request");
}

TEST(FramingTest, AContentLengthThatIsNotAPlainNumberIsRefused) {
  for (const char* length : {"abc", "", "-1", "+5", "5,5", "0x10", "1e3", "5 6",
                             "12345678901234567890", "1234567890123456789"}) {
    EXPECT_EQ(Verdict({{"Content-Length", length}}), "malformed_request") << length;
  }
  EXPECT_EQ(Verdict({{"Content-Length", "123456789012345678"}}), "");  // 18 digits
}

TEST(FramingTest, TransferEncodingIsChunkedAloneAndNeverWithContentLength) {
  EXPECT_EQ(Verdict({{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}),
            "malformed_request");
  for (const char* coding : {"gzip", "gzip, chunked", "chunked, gzip", "identity", "", "chunk"}) {
    EXPECT_EQ(Verdict({{"Transfer-Encoding", coding}}), "malformed_request") << coding;
  }
  EXPECT_EQ(Verdict({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}),
            "malformed_request");
}

// A space before the colon leaves POCO a field named "Transfer-Encoding " that nothing reads,
// while a lenient proxy in front may have honoured it: the request is refused.
TEST(FramingTest, AFieldNameThatIsNotATokenIsRefused) {
  for (const char* name : {"Transfer-Encoding ", "Content Length", "X-A\tB", "", "X(y)", "ü"}) {
    EXPECT_EQ(Verdict({{name, "chunked"}}), "malformed_request") << name;
  }
  EXPECT_EQ(Verdict({{"X-Custom_Field.1~!", "v"}}), "");
}

TEST(FramingTest, AContentEncodingIsUnsupportedMedia) {
  for (const char* encoding : {"gzip", "deflate", "br", "identity, gzip"}) {
    EXPECT_EQ(Verdict({{"Content-Length", "10"}, {"Content-Encoding", encoding}}),
              "unsupported_media_type")
        << encoding;
  }
}

}  // namespace
}  // namespace lab_orders::http
