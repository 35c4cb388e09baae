#pragma once

// bench_load's output: the table of lab-orders' loads (a column per load, (d) last), then with
// the peer each load beside the same load on the peer with their ratio, then every target with
// its figure and `met` or `MISSED`. Figures are printed, never asserted.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "load_phases.h"

namespace lab_orders::bench {

// On stdout. b_settings: what the (b) service was given beyond a deployment's defaults.
void PrintReport(const LoadOptions& options, const std::vector<Phase>& phases,
                 const std::optional<nlohmann::json>& pending,
                 const std::map<std::string, std::string>& b_settings);

}  // namespace lab_orders::bench
