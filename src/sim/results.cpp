// Making up an order's lab results: each marker's value drawn from its own stream of a small PRNG
// keyed by the seed, the order id and the marker, so values never depend on which other markers
// a report holds; the plan then puts one marker out of range or in its critical range, and leaves
// some out as missing.

#include "lab_orders/sim/results.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "lab_orders/common/clock.h"
#include "sim/markers.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

std::uint64_t Fnv1a(std::string_view text, std::uint64_t hash = kFnvOffset) {
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

// SplitMix64's output function: spreads a hash's bits so nearby keys give unrelated draws.
std::uint64_t Mix(std::uint64_t state) {
  std::uint64_t z = state + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A uniform draw in [0, 1) for one purpose ("value/tsh", "affected", ...) of one order.
double Draw(const ReportRequest& request, std::string_view purpose) {
  std::uint64_t key = Fnv1a(std::to_string(request.seed));
  key = Fnv1a("|", key);
  key = Fnv1a(request.order_id, key);
  key = Fnv1a("|", key);
  key = Fnv1a(purpose, key);
  return double(Mix(key) >> 11) * 0x1.0p-53;
}

enum class Band { kNormal, kAbnormal, kCritical };

double RoundTo(double value, int decimals) {
  double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

std::string FormatValue(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// A value in the band, for u in [0, 1). Abnormal is above the range where it has an upper
// bound, else below its lower one.
double ValueIn(const MarkerDefinition& marker, Band band, double u) {
  double value = 0;
  switch (band) {
    case Band::kNormal:
      value = marker.normal_low + u * (marker.normal_high - marker.normal_low);
      break;
    case Band::kAbnormal:
      value = marker.max_range ? *marker.max_range * (1.2 + 0.4 * u)
                               : *marker.min_range * (0.5 + 0.35 * u);
      break;
    case Band::kCritical:
      value = *marker.critical_value * (1.0 + 0.1 * u);
      break;
  }
  return RoundTo(value, marker.decimals);
}

bool CanBe(const MarkerDefinition& marker, Band band) {
  if (!marker.IsNumeric()) return band == Band::kNormal;
  if (band == Band::kAbnormal) return marker.min_range || marker.max_range;
  if (band == Band::kCritical) return marker.critical_value.has_value();
  return true;
}

std::optional<bool> Above(const MarkerDefinition& marker, double value) {
  if (!marker.max_range) return std::nullopt;
  return value > *marker.max_range;
}

std::optional<bool> Below(const MarkerDefinition& marker, double value) {
  if (!marker.min_range) return std::nullopt;
  return value < *marker.min_range;
}

json OptionalJson(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

json OptionalJson(const std::optional<bool>& value) { return value ? json(*value) : json(nullptr); }

json SourceMarkers(const MarkerDefinition& marker) {
  return json::array({{{"marker_id", marker.marker_id},
                       {"name", marker.name},
                       {"slug", marker.slug},
                       {"provider_id", marker.provider_id}}});
}

int Severity(const std::string& interpretation) {
  if (interpretation == "critical") return 2;
  return interpretation == "abnormal" ? 1 : 0;
}

// Which markers the plan touches: the one out of range (or none), and those missing.
struct Selection {
  std::optional<std::size_t> affected;
  Band affected_band = Band::kNormal;
  std::set<std::size_t> missing;
};

Selection Select(const std::vector<MarkerDefinition>& markers, const ReportRequest& request) {
  Selection selection;
  if (request.plan.interpretation != "normal") {
    selection.affected_band =
        request.plan.interpretation == "critical" ? Band::kCritical : Band::kAbnormal;
    // From the first half, so that a partial report shows it too.
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < (markers.size() + 1) / 2; ++i) {
      if (CanBe(markers[i], selection.affected_band)) candidates.push_back(i);
    }
    if (!candidates.empty()) {
      auto pick = std::size_t(Draw(request, "affected") * double(candidates.size()));
      selection.affected = candidates[pick];
    }
  }
  // From the end, never the affected one: the lab's last tests are the ones a short sample
  // misses.
  for (std::size_t i = markers.size();
       i-- > 0 && int(selection.missing.size()) < request.plan.missing_results;) {
    if (i != selection.affected) selection.missing.insert(i);
  }
  return selection;
}

json MissingJson(const MarkerDefinition& marker) {
  return {{"name", marker.name},
          {"slug", marker.slug},
          {"inferred_failure_type", "quantity_not_sufficient_failure"},
          {"note", "Quantity not sufficient to perform the test."},
          {"loinc", marker.loinc},
          {"loinc_slug", marker.loinc_slug},
          {"provider_id", marker.provider_id},
          {"source_markers", SourceMarkers(marker)}};
}

json ResultJson(const MarkerDefinition& marker, const ReportRequest& request,
                std::optional<double> value, bool critical, const char* notes) {
  json row = {{"name", marker.name}, {"slug", marker.slug}};
  std::string interpretation = "normal";
  if (value) {
    std::optional<bool> above = Above(marker, *value);
    std::optional<bool> below = Below(marker, *value);
    if (critical) {
      interpretation = "critical";
    } else if (above.value_or(false) || below.value_or(false)) {
      interpretation = "abnormal";
    }
    row["value"] = *value;  // deprecated, but Junction still sends it
    row["result"] = FormatValue(*value, marker.decimals);
    row["is_above_max_range"] = OptionalJson(above);
    row["is_below_min_range"] = OptionalJson(below);
  } else {
    // A range or comment result cannot be compared with the bounds.
    row["value"] = -1;
    row["result"] = marker.fixed_result;
    row["is_above_max_range"] = nullptr;
    row["is_below_min_range"] = nullptr;
  }
  row["type"] = marker.type;
  row["unit"] = marker.unit ? json(marker.unit) : json(nullptr);
  row["timestamp"] = FormatRfc3339(request.collected_at);
  row["notes"] = notes;
  row["reference_range"] = marker.reference_range;
  row["min_range_value"] = OptionalJson(marker.min_range);
  row["max_range_value"] = OptionalJson(marker.max_range);
  row["interpretation"] = interpretation;
  row["source_interpretation"] = interpretation;
  row["loinc"] = marker.loinc;
  row["loinc_slug"] = marker.loinc_slug;
  row["provider_id"] = marker.provider_id;
  row["source_markers"] = SourceMarkers(marker);
  row["performing_laboratory"] = kPerformingLabCode;
  row["source_sample_id"] = request.sample_id;
  return row;
}

}  // namespace

int PanelMarkerCount(const std::string& panel_slug) { return int(PanelMarkers(panel_slug).size()); }

std::string SpecimenNumberFor(const std::string& order_id) {
  constexpr std::uint64_t kTenDigits = 9'000'000'000ULL;
  return std::to_string(1'000'000'000ULL + Mix(Fnv1a(order_id)) % kTenDigits);
}

ResultVersion MakeReport(const ReportRequest& request) {
  const std::vector<MarkerDefinition>& markers = PanelMarkers(request.panel_slug);
  Selection selection = Select(markers, request);
  std::size_t reported =
      request.kind == ReportKind::kPartial ? (markers.size() + 1) / 2 : markers.size();

  std::vector<std::optional<double>> values(markers.size());
  for (std::size_t i = 0; i < markers.size(); ++i) {
    if (!markers[i].IsNumeric()) continue;
    Band band = i == selection.affected ? selection.affected_band : Band::kNormal;
    values[i] = ValueIn(markers[i], band, Draw(request, std::string("value/") + markers[i].slug));
  }

  // A correction changes one reported numeric value, within the band it was drawn from (so the
  // interpretation stands); the marker out of range only when no other one is reported.
  std::optional<std::size_t> corrected;
  if (request.kind == ReportKind::kCorrected) {
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < reported; ++i) {
      if (values[i] && !selection.missing.count(i) && i != selection.affected) {
        candidates.push_back(i);
      }
    }
    if (candidates.empty() && selection.affected) candidates.push_back(*selection.affected);
    if (!candidates.empty()) {
      corrected = candidates[std::size_t(Draw(request, "corrected") * double(candidates.size()))];
      const MarkerDefinition& marker = markers[*corrected];
      Band band = corrected == selection.affected ? selection.affected_band : Band::kNormal;
      double value = ValueIn(marker, band, Draw(request, std::string("corrected/") + marker.slug));
      if (FormatValue(value, marker.decimals) ==
          FormatValue(*values[*corrected], marker.decimals)) {
        // One step up stays in every band: bands end well inside (or beyond) the range.
        value = RoundTo(value + std::pow(10.0, -marker.decimals), marker.decimals);
      }
      values[*corrected] = value;
    }
  }

  ResultVersion version;
  version.status = request.kind == ReportKind::kPartial ? "partial" : "final";
  version.results = json::array();
  version.missing_results = json::array();
  version.reported_at = request.reported_at;
  version.interpretation = "normal";
  for (std::size_t i = 0; i < reported; ++i) {
    if (selection.missing.count(i)) {
      version.missing_results.push_back(MissingJson(markers[i]));
      continue;
    }
    bool critical = i == selection.affected && selection.affected_band == Band::kCritical;
    json row = ResultJson(markers[i], request, values[i], critical,
                          i == corrected ? "Corrected" : "Final");
    if (Severity(row["interpretation"]) > Severity(version.interpretation)) {
      version.interpretation = row["interpretation"];
    }
    version.results.push_back(std::move(row));
  }
  return version;
}

}  // namespace lab_orders::sim
