#pragma once

// The biomarkers each catalog panel reports, as Labcorp prints them: names, LOINC codes, units,
// reference ranges, and the bands the simulator draws values from. Private to src/sim/.

#include <optional>
#include <string>
#include <vector>

namespace lab_orders::sim {

struct MarkerDefinition {
  const char* name;         // the lab's own name
  const char* slug;         // the lab's slug
  const char* loinc;        // the cross-lab key (docs: FACTS-results.md section 4)
  const char* loinc_slug;   // Junction's LOINC slug
  const char* provider_id;  // the lab's test code
  int marker_id;            // Junction's id of the ordered marker (source_markers)
  const char* unit;         // nullptr: none (comment results)
  const char* type;         // ResultType: numeric, range or comment
  const char* reference_range;
  std::optional<double> min_range;
  std::optional<double> max_range;
  // Numeric results: normal values are drawn from [normal_low, normal_high], inside the range,
  // and printed with `decimals` digits.
  double normal_low = 0;
  double normal_high = 0;
  int decimals = 0;
  // A value in the lab's critical range (above max_range): only markers that have one can be
  // made critical.
  std::optional<double> critical_value = std::nullopt;
  // Range and comment results print this, whatever the seed ("<1.0", "Negative").
  const char* fixed_result = nullptr;

  bool IsNumeric() const { return std::string(type) == "numeric"; }
};

// The markers of a catalog panel (CatalogEntry::panel_slug), in report order; empty for an
// unknown panel. The first half (rounded up) is what a partial report holds.
const std::vector<MarkerDefinition>& PanelMarkers(const std::string& panel_slug);

}  // namespace lab_orders::sim
