#pragma once

// Checks on the Prometheus text /metrics serves, shared by the registry's tests and its feeders'.

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace lab_orders::testing {

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every line is a # HELP / # TYPE comment or a sample `name{label="value",...} number`, as the
// text format 0.0.4 has it, and the text ends with a line feed.
inline void ExpectValidExposition(const std::string& text) {
  static const std::regex comment(R"(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
  static const std::regex sample(
      R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")"
      R"((,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? )"
      R"(([-+]?[0-9.]+(e[-+]?[0-9]+)?|[+-]Inf|NaN))");
  ASSERT_TRUE(text.empty() || text.back() == '\n');
  for (const std::string& line : Lines(text)) {
    EXPECT_TRUE(std::regex_match(line, comment) || std::regex_match(line, sample))
        << "not a text-format line: " << line;
  }
}

}  // namespace lab_orders::testing
