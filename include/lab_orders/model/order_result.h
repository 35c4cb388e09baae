#pragma once

// An order's lab result as the service keeps and serves it (GET /v1/labs/orders/{id}/result).
// Results are PHI: the whole document is sealed at rest, never logged, and never put in a brand
// event (events carry the result's id, status and interpretation only).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lab_orders::model {

struct ResultMarker {
  std::string name;
  std::optional<std::string> slug;  // the lab's own: it differs from lab to lab
  std::optional<std::string> loinc;
  std::string value;       // as the lab wrote it: "30.4", "<0.5", "Negative"
  std::string value_type;  // numeric | range | comment | coded_value (Junction's list is open)
  std::optional<std::string> unit;
  std::optional<std::string> reference_range;
  std::string flag;  // normal | low | high | abnormal (no direction known) | critical
  std::optional<std::string> notes;

  bool operator==(const ResultMarker&) const = default;
};

struct MissingMarker {
  std::string name;
  std::optional<std::string> slug;
  std::optional<std::string> loinc;
  std::string reason;  // Junction's inferred failure type: for analytics, it may change

  bool operator==(const MissingMarker&) const = default;
};

struct OrderResult {
  std::string id;  // the order's result_bloodwork_id while this is its latest version
  std::string order_id;
  int version = 0;             // 1, 2, ...: every version is kept
  std::string status;          // partial | final | corrected
  std::string interpretation;  // normal | abnormal | critical | unknown
  std::optional<std::string> sample_id;
  std::optional<std::string> reported_at;  // the lab's, RFC 3339 when Junction gave one
  std::string received_at;                 // when the service fetched it, RFC 3339 UTC
  std::vector<ResultMarker> markers;
  std::vector<MissingMarker> missing;

  bool operator==(const OrderResult&) const = default;
};

// The API's body, and the document sealed at rest.
nlohmann::json ResultJson(const OrderResult& result);
// Reads ResultJson's shape back; throws std::invalid_argument naming a field, never a value.
OrderResult ResultFromJson(const nlohmann::json& document);

// Whether two versions are the same report: everything the lab reported and the status, in any
// order of rows, not the service's own id, version and time of fetching (a refetch after a
// duplicate notice).
bool SameReport(const OrderResult& a, const OrderResult& b);
// The same, whatever each version's status: the lab's values did not change.
bool SameLabValues(const OrderResult& a, const OrderResult& b);

}  // namespace lab_orders::model
