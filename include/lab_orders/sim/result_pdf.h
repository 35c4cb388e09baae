#pragma once

#include <string>

#include "lab_orders/sim/results.h"

namespace lab_orders::sim {

// A lab report as a small, valid PDF 1.4 file: one page listing the order id, the sample id, the
// report's status and each reported marker's name and result. Never the patient: the bytes
// depend on nothing else, so one report version always gives the same file.
std::string ResultPdf(const std::string& order_id, const std::string& sample_id,
                      const ResultVersion& version);

}  // namespace lab_orders::sim
