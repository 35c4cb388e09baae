#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/junction/client.h"

namespace lab_orders::orders {

// Which channels serve a ZIP code, as Junction's area info says.
struct Coverage {
  bool at_home = false;  // a phlebotomist comes to the patient
  bool walk_in = false;  // a patient service center is near enough to walk in to
};

// Junction's area info per ZIP code, kept for ttl: coverage changes over months, and a new order
// would otherwise wait on one more Junction call. Thread-safe.
class AreaCoverage {
 public:
  AreaCoverage(junction::JunctionClient& junction, const Clock& clock, std::chrono::seconds ttl);

  // The coverage of zip's 5-digit area. Throws the 502 AppError of a Junction failure.
  Coverage For(const std::string& zip);

 private:
  struct Known {
    Coverage coverage;
    std::chrono::system_clock::time_point until;
  };

  junction::JunctionClient& junction_;
  const Clock& clock_;
  const std::chrono::seconds ttl_;
  std::mutex mutex_;
  std::map<std::string, Known> known_;  // by 5-digit ZIP
};

}  // namespace lab_orders::orders
