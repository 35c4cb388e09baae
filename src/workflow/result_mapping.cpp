#include "lab_orders/workflow/result_mapping.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace lab_orders::workflow {
namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The value as a number, when the lab reported one ("30.4"); nullopt for "<0.5" or "Negative".
std::optional<double> Numeric(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

int Severity(const std::string& interpretation) {
  if (interpretation == "critical") return 2;
  if (interpretation == "abnormal") return 1;
  return 0;
}

}  // namespace

std::string MarkerFlag(const junction::ResultMarker& marker) {
  const std::string interpretation = Lower(marker.interpretation);
  if (interpretation == "critical") return "critical";
  // The lab's own bounds say which side first; the value against the range second.
  if (marker.is_above_max_range.value_or(false)) return "high";
  if (marker.is_below_min_range.value_or(false)) return "low";
  if (interpretation != "abnormal") return "normal";
  if (std::optional<double> value = Numeric(marker.result)) {
    if (marker.max_range_value && *value > *marker.max_range_value) return "high";
    if (marker.min_range_value && *value < *marker.min_range_value) return "low";
  }
  return "abnormal";
}

std::string OverallInterpretation(const junction::LabResult& result) {
  if (result.interpretation) {
    const std::string overall = Lower(*result.interpretation);
    if (overall == "normal" || overall == "abnormal" || overall == "critical" ||
        overall == "unknown") {
      return overall;
    }
  }
  // Not stated, or a value added since: the worst marker's ("worst wins" fits every example,
  // though Junction does not document the rule; docs/junction.md: Results).
  std::string worst = "normal";
  for (const junction::ResultMarker& marker : result.markers) {
    const std::string flag = MarkerFlag(marker);
    const std::string as_interpretation =
        flag == "critical" ? "critical" : (flag == "normal" ? "normal" : "abnormal");
    if (Severity(as_interpretation) > Severity(worst)) worst = as_interpretation;
  }
  return worst;
}

model::OrderResult ToOrderResult(const junction::LabResult& fetched, const std::string& order_id) {
  model::OrderResult result;
  result.order_id = order_id;
  result.interpretation = OverallInterpretation(fetched);
  result.sample_id = fetched.sample_id;
  result.reported_at = fetched.reported_at;
  for (const junction::ResultMarker& marker : fetched.markers) {
    auto optional = [](const std::string& text) {
      return text.empty() ? std::nullopt : std::optional<std::string>(text);
    };
    result.markers.push_back(model::ResultMarker{
        marker.name, optional(marker.slug), marker.loinc, marker.result, marker.type, marker.unit,
        marker.reference_range, MarkerFlag(marker), marker.notes});
  }
  for (const junction::MissingMarker& missing : fetched.missing) {
    result.missing.push_back(model::MissingMarker{
        missing.name,
        missing.slug.empty() ? std::nullopt : std::optional<std::string>(missing.slug),
        missing.loinc, missing.inferred_failure_type});
  }
  return result;
}

}  // namespace lab_orders::workflow
