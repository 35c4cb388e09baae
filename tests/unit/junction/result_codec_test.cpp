// Junction's LabResultsRaw read for what the service keeps (docs/junction.md: Results), and the
// flags and interpretation the service derives from it (workflow/result_mapping.h).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "junction/codec.h"
#include "lab_orders/workflow/result_mapping.h"

namespace lab_orders::junction {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// The spec's example marker (SHBG, verbatim from Junction's reference) and a range result.
json Example() {
  return json::parse(R"({
    "metadata": {"age": "33", "dob": "18/08/1993", "patient": "Quetzalia Vandermolen",
                 "date_reported": "2024-06-05", "specimen_number": "4400112233",
                 "status": "partial", "interpretation": "abnormal", "clia_#": "05D2191150"},
    "results": [
      {"name": "Sex Horm Binding Glob, Serum", "result": "30.4", "type": "numeric",
       "unit": "nmol/L", "notes": "Final", "min_range_value": 24.6, "max_range_value": 122,
       "is_above_max_range": false, "is_below_min_range": false, "interpretation": "normal",
       "loinc": "13967-5", "provider_id": "082016", "reference_range": "24.6-122.0",
       "source_markers": [{"marker_id": 229, "name": "Testosterone Free, Profile I",
                           "slug": "testosterone-free", "provider_id": "140226"}]},
      {"name": "Hemoglobin A1c", "slug": "hba1c", "result": "<4.0", "type": "range",
       "unit": "%", "reference_range": "4.8-5.6", "min_range_value": 4.8,
       "max_range_value": 5.6, "is_above_max_range": null, "is_below_min_range": true,
       "interpretation": "abnormal", "loinc": "4548-4"}
    ],
    "missing_results": [
      {"name": "Insulin", "slug": "insulin", "inferred_failure_type":
       "quantity_not_sufficient_failure", "loinc": "20448-7"}
    ],
    "sample_information": {"4400112233": {"sample_id": "4400112233",
      "date_reported": {"timestamp": "2024-06-05T14:00:00+00:00", "timezone_offset": 0}}}
  })");
}

TEST(ResultCodecTest, ReadsMarkersMissingMarkersAndTheSampleButNoPatient) {
  const LabResult result = DecodeLabResult(Example());
  EXPECT_EQ(result.status, "partial");
  EXPECT_EQ(result.interpretation, "abnormal");
  EXPECT_EQ(result.sample_id, "4400112233");
  EXPECT_EQ(result.reported_at, "2024-06-05T14:00:00+00:00");
  ASSERT_EQ(result.markers.size(), 2u);
  EXPECT_EQ(result.markers[0].name, "Sex Horm Binding Glob, Serum");
  EXPECT_EQ(result.markers[0].slug, "");  // the spec's default
  EXPECT_EQ(result.markers[0].loinc, "13967-5");
  EXPECT_EQ(result.markers[0].result, "30.4");
  EXPECT_EQ(result.markers[0].min_range_value, 24.6);
  EXPECT_EQ(result.markers[1].type, "range");
  EXPECT_EQ(result.markers[1].is_above_max_range, std::nullopt);
  ASSERT_EQ(result.missing.size(), 1u);
  EXPECT_EQ(result.missing[0].inferred_failure_type, "quantity_not_sufficient_failure");
}

TEST(ResultCodecTest, DefaultsAreTheSpecsAndABadShapeNamesTheFieldNotTheValue) {
  json bare = {{"metadata", {{"patient", "Quetzalia Vandermolen"}}},
               {"results", {{{"name", "TSH"}, {"result", "2.1"}, {"type", "numeric"}}}}};
  const LabResult result = DecodeLabResult(bare);
  EXPECT_EQ(result.status, "final");
  EXPECT_EQ(result.markers[0].interpretation, "normal");
  EXPECT_TRUE(result.missing.empty());

  json legacy = Example();
  legacy["results"] = {{"fsh", json::object()}};
  EXPECT_THROW(DecodeLabResult(legacy), MalformedJunctionJson);
  json wrong = Example();
  wrong["results"][0]["result"] = 30.4;
  try {
    DecodeLabResult(wrong);
    FAIL() << "a numeric result was read";
  } catch (const MalformedJunctionJson& e) {
    EXPECT_THAT(e.what(), HasSubstr("result"));
    EXPECT_THAT(e.what(), Not(HasSubstr("30.4")));
    EXPECT_THAT(e.what(), Not(HasSubstr("Quetzalia")));
  }
}

TEST(ResultMappingTest, FlagsComeFromTheLabsInterpretationAndRange) {
  ResultMarker marker;
  marker.result = "72";
  marker.max_range_value = 60;
  marker.min_range_value = 8;
  EXPECT_EQ(workflow::MarkerFlag(marker), "normal");  // the lab said normal: it is
  marker.interpretation = "abnormal";
  EXPECT_EQ(workflow::MarkerFlag(marker), "high");
  marker.result = "3";
  EXPECT_EQ(workflow::MarkerFlag(marker), "low");
  marker.result = "Positive";
  EXPECT_EQ(workflow::MarkerFlag(marker), "abnormal");  // no direction to give
  marker.is_below_min_range = true;
  EXPECT_EQ(workflow::MarkerFlag(marker), "low");
  marker.interpretation = "Critical";
  EXPECT_EQ(workflow::MarkerFlag(marker), "critical");
}

TEST(ResultMappingTest, TheOverallInterpretationIsJunctionsElseTheWorstMarkers) {
  LabResult result = DecodeLabResult(Example());
  EXPECT_EQ(workflow::OverallInterpretation(result), "abnormal");
  result.interpretation.reset();
  EXPECT_EQ(workflow::OverallInterpretation(result), "abnormal");  // the A1c below its range
  result.markers[0].interpretation = "critical";
  EXPECT_EQ(workflow::OverallInterpretation(result), "critical");
  result.interpretation = "something_new";
  EXPECT_EQ(workflow::OverallInterpretation(result), "critical");

  const model::OrderResult kept = workflow::ToOrderResult(DecodeLabResult(Example()), "order-1");
  EXPECT_EQ(kept.order_id, "order-1");
  EXPECT_EQ(kept.markers[1].flag, "low");
  EXPECT_EQ(kept.markers[0].slug, std::nullopt);
  EXPECT_EQ(kept.missing[0].reason, "quantity_not_sufficient_failure");
  // The kept document reads back as it was.
  EXPECT_EQ(model::ResultFromJson(model::ResultJson(kept)), kept);
}

}  // namespace
}  // namespace lab_orders::junction
