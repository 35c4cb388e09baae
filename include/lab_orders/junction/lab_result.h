#pragma once

// Junction's lab result (GET /v3/order/{id}/result, docs/junction.md: Results) in the parts the
// service keeps. The result's metadata names the patient (name, date of birth): the decoder reads
// none of it. Marker values are PHI too: never logged.

#include <optional>
#include <string>
#include <vector>

namespace lab_orders::junction {

// One BiomarkerResult row.
struct ResultMarker {
  std::string name;
  std::string slug;  // the lab's own; differs from lab to lab ("" when none)
  std::optional<std::string> loinc;
  std::string result;  // as the lab wrote it: "30.4", "<0.5", "Negative"
  std::string type;    // numeric | range | comment | coded_value (the list is open)
  std::optional<std::string> unit;
  std::optional<std::string> reference_range;  // the only field that shows inclusivity
  std::optional<double> min_range_value;
  std::optional<double> max_range_value;
  std::optional<bool> is_above_max_range;
  std::optional<bool> is_below_min_range;
  std::string interpretation = "normal";  // normal | abnormal | critical | unknown (open)
  std::optional<std::string> notes;
  std::optional<std::string> timestamp;
};

// One MissingBiomarkerResult row: a marker the lab could not report.
struct MissingMarker {
  std::string name;
  std::string slug;
  std::optional<std::string> loinc;
  std::string inferred_failure_type;  // analytics only: it is inferred and may change
};

struct LabResult {
  std::string status;                         // metadata.status: partial | final
  std::optional<std::string> interpretation;  // metadata.interpretation: the overall one
  std::optional<std::string> sample_id;       // the specimen number
  std::optional<std::string> reported_at;     // the sample's date_reported, when Junction gives it
  std::vector<ResultMarker> markers;
  std::vector<MissingMarker> missing;
};

// The lab's report as Junction streams it.
struct ResultPdf {
  std::string bytes;
};

}  // namespace lab_orders::junction
