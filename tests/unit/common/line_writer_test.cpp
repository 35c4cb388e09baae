#include "lab_orders/common/line_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lab_orders/common/ids.h"

namespace lab_orders {
namespace {

// Reads what the pipe holds until its write end is closed.
std::string ReadAll(int fd) {
  std::string all;
  char buffer[65536];
  for (ssize_t got; (got = read(fd, buffer, sizeof buffer)) > 0;) all.append(buffer, got);
  return all;
}

TEST(LineWriterTest, LinesFromManyThreadsArriveWholeOnceEachAndInEachThreadsOrder) {
  int ends[2];
  ASSERT_EQ(pipe(ends), 0);
  std::string received;
  std::thread reader([&] { received = ReadAll(ends[0]); });
  {
    LineWriter writer(ends[1]);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5000; ++i) {
          writer.Write(std::to_string(t) + " " + std::to_string(i) + " " + std::string(40, 'x'));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    writer.Flush();
  }  // the writer stops; everything was written
  close(ends[1]);
  reader.join();
  close(ends[0]);

  std::map<int, int> next;  // per thread, the number its next line must carry
  std::istringstream lines(received);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    int thread = -1;
    int number = -1;
    std::string filler;
    std::istringstream(line) >> thread >> number >> filler;
    ASSERT_EQ(filler, std::string(40, 'x')) << line;
    ASSERT_EQ(number, next[thread]++) << line;
  }
  EXPECT_EQ(count, 4 * 5000);
}

TEST(LineWriterTest, FlushReturnsOnceEarlierLinesAreOut) {
  int ends[2];
  ASSERT_EQ(pipe(ends), 0);
  LineWriter writer(ends[1]);
  writer.Write("first");
  writer.Flush();
  char buffer[16] = {};
  ASSERT_EQ(read(ends[0], buffer, 6), 6);  // there already: Flush waited for it
  EXPECT_EQ(std::string(buffer, 6), "first\n");
  close(ends[0]);
  close(ends[1]);
}

TEST(JsonQuotedTest, AnyBytesMakeAValidJsonString) {
  EXPECT_EQ(JsonQuoted("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonQuoted(std::string("\n\x01\x7f\xc3\xa9", 5)),
            R"("\u000a\u0001\u007f\u00c3\u00a9")");
  const char raw[] = "\"},{\"level\":\"error\"\xff\0tail";
  const std::string hostile(raw, sizeof raw - 1);
  const nlohmann::json parsed = nlohmann::json::parse(JsonQuoted(hostile));
  EXPECT_TRUE(parsed.is_string());
}

TEST(RequestIdTest, AreVersion4UuidsAndDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewRequestId();
    ASSERT_TRUE(IsUuid(id)) << id;
    ASSERT_EQ(id[14], '4') << id;
    ASSERT_TRUE(seen.insert(id).second) << id;
  }
}

}  // namespace
}  // namespace lab_orders
