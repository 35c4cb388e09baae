#pragma once

// A file of the repository as committed, for tests that hold what the service serves to it.

#include <fstream>
#include <iterator>
#include <string>

namespace lab_orders::testing {

// path from the repository's root, e.g. "schemas/openapi.json".
inline std::string CommittedFile(const std::string& path) {
  std::ifstream file(std::string(PROJECT_SOURCE_DIR) + "/" + path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

}  // namespace lab_orders::testing
