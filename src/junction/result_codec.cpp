// LabResultsRaw, read for what the service keeps (docs/junction.md: Results). The metadata's
// patient, dob, age and provider are PHI the service has no use for: never read.

#include "codec.h"
#include "json_fields.h"

namespace lab_orders::junction {
namespace {

std::optional<double> OptionalNumber(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number())
    throw MalformedJunctionJson(std::string("field ") + key + " is not a number");
  return it->get<double>();
}

std::optional<bool> OptionalBool(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) {
    throw MalformedJunctionJson(std::string("field ") + key + " is not a boolean");
  }
  return it->get<bool>();
}

// A field the spec gives a default: absent or null reads as it.
std::string StringOr(const json& object, const char* key, const char* fallback) {
  return OptionalString(object, key).value_or(fallback);
}

ResultMarker DecodeMarker(const json& in) {
  if (!in.is_object()) throw MalformedJunctionJson("results[] is not an object");
  ResultMarker marker;
  marker.name = String(in, "name");
  marker.slug = StringOr(in, "slug", "");
  marker.loinc = OptionalString(in, "loinc");
  marker.result = String(in, "result");
  marker.type = String(in, "type");
  marker.unit = OptionalString(in, "unit");
  marker.reference_range = OptionalString(in, "reference_range");
  marker.min_range_value = OptionalNumber(in, "min_range_value");
  marker.max_range_value = OptionalNumber(in, "max_range_value");
  marker.is_above_max_range = OptionalBool(in, "is_above_max_range");
  marker.is_below_min_range = OptionalBool(in, "is_below_min_range");
  // The spec's default: a row without one reads as normal (docs/junction.md: Results).
  marker.interpretation = StringOr(in, "interpretation", "normal");
  marker.notes = OptionalString(in, "notes");
  marker.timestamp = OptionalString(in, "timestamp");
  return marker;
}

MissingMarker DecodeMissing(const json& in) {
  if (!in.is_object()) throw MalformedJunctionJson("missing_results[] is not an object");
  return MissingMarker{String(in, "name"), StringOr(in, "slug", ""), OptionalString(in, "loinc"),
                       StringOr(in, "inferred_failure_type", "unknown_failure")};
}

// A SampleData time: {timestamp, timezone_offset}, a plain string, or null.
std::optional<std::string> SampleTime(const json& sample, const char* key) {
  auto it = sample.find(key);
  if (it == sample.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  return OptionalString(*it, "timestamp");
}

}  // namespace

LabResult DecodeLabResult(const json& in) {
  LabResult result;
  const json& metadata = Field(in, "metadata");
  result.status = StringOr(metadata, "status", "final");
  result.interpretation = OptionalString(metadata, "interpretation");
  result.sample_id = OptionalString(metadata, "specimen_number");
  const json& results = Field(in, "results");
  // The object form is a legacy one a single old customer receives (docs/junction.md: Results).
  if (!results.is_array()) throw MalformedJunctionJson("results is not a list (the legacy form)");
  for (const json& row : results) result.markers.push_back(DecodeMarker(row));
  if (auto missing = in.find("missing_results"); missing != in.end() && !missing->is_null()) {
    for (const json& row : Array(*missing, "missing_results")) {
      result.missing.push_back(DecodeMissing(row));
    }
  }
  if (auto samples = in.find("sample_information"); samples != in.end() && samples->is_object()) {
    for (const auto& [key, sample] : samples->items()) {
      if (!sample.is_object()) throw MalformedJunctionJson("sample_information{} is not an object");
      if (!result.sample_id) result.sample_id = OptionalString(sample, "sample_id");
      if (!result.reported_at) result.reported_at = SampleTime(sample, "date_reported");
    }
  }
  return result;
}

}  // namespace lab_orders::junction
