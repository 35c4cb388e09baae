#include "lab_orders/model/order_result.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace lab_orders::model {
namespace {

using nlohmann::json;

json Optional(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

// The stored document is the service's own: a field that is missing or of the wrong type means
// the row was damaged. The message names the field, never a value.
const json& Field(const json& object, const char* key) {
  if (!object.is_object()) throw std::invalid_argument(std::string("result: ") + key);
  auto it = object.find(key);
  if (it == object.end()) throw std::invalid_argument(std::string("result: missing ") + key);
  return *it;
}

std::string Text(const json& object, const char* key) {
  const json& value = Field(object, key);
  if (!value.is_string()) throw std::invalid_argument(std::string("result: ") + key);
  return value.get<std::string>();
}

std::optional<std::string> OptionalText(const json& object, const char* key) {
  const json& value = Field(object, key);
  if (value.is_null()) return std::nullopt;
  if (!value.is_string()) throw std::invalid_argument(std::string("result: ") + key);
  return value.get<std::string>();
}

}  // namespace

json ResultJson(const OrderResult& result) {
  json markers = json::array();
  for (const ResultMarker& marker : result.markers) {
    markers.push_back({{"name", marker.name},
                       {"slug", Optional(marker.slug)},
                       {"loinc", Optional(marker.loinc)},
                       {"value", marker.value},
                       {"value_type", marker.value_type},
                       {"unit", Optional(marker.unit)},
                       {"reference_range", Optional(marker.reference_range)},
                       {"flag", marker.flag},
                       {"notes", Optional(marker.notes)}});
  }
  json missing = json::array();
  for (const MissingMarker& marker : result.missing) {
    missing.push_back({{"name", marker.name},
                       {"slug", Optional(marker.slug)},
                       {"loinc", Optional(marker.loinc)},
                       {"reason", marker.reason}});
  }
  return {{"id", result.id},
          {"order_id", result.order_id},
          {"version", result.version},
          {"status", result.status},
          {"interpretation", result.interpretation},
          {"sample_id", Optional(result.sample_id)},
          {"reported_at", Optional(result.reported_at)},
          {"received_at", result.received_at},
          {"markers", std::move(markers)},
          {"missing_markers", std::move(missing)}};
}

OrderResult ResultFromJson(const json& document) {
  OrderResult result;
  result.id = Text(document, "id");
  result.order_id = Text(document, "order_id");
  const json& version = Field(document, "version");
  if (!version.is_number_integer()) throw std::invalid_argument("result: version");
  result.version = version.get<int>();
  result.status = Text(document, "status");
  result.interpretation = Text(document, "interpretation");
  result.sample_id = OptionalText(document, "sample_id");
  result.reported_at = OptionalText(document, "reported_at");
  result.received_at = Text(document, "received_at");
  const json& markers = Field(document, "markers");
  if (!markers.is_array()) throw std::invalid_argument("result: markers");
  for (const json& row : markers) {
    result.markers.push_back(ResultMarker{
        Text(row, "name"), OptionalText(row, "slug"), OptionalText(row, "loinc"),
        Text(row, "value"), Text(row, "value_type"), OptionalText(row, "unit"),
        OptionalText(row, "reference_range"), Text(row, "flag"), OptionalText(row, "notes")});
  }
  const json& missing = Field(document, "missing_markers");
  if (!missing.is_array()) throw std::invalid_argument("result: missing_markers");
  for (const json& row : missing) {
    result.missing.push_back(MissingMarker{Text(row, "name"), OptionalText(row, "slug"),
                                           OptionalText(row, "loinc"), Text(row, "reason")});
  }
  return result;
}

namespace {

// What the lab reported, in an order of its own (Junction's order of rows is not promised): not
// the service's id, version and time of fetching.
OrderResult Report(OrderResult result) {
  result.id.clear();
  result.version = 0;
  result.received_at.clear();
  auto by_name = [](const auto& a, const auto& b) {
    return std::tie(a.loinc, a.slug, a.name) < std::tie(b.loinc, b.slug, b.name);
  };
  std::sort(result.markers.begin(), result.markers.end(), by_name);
  std::sort(result.missing.begin(), result.missing.end(), by_name);
  return result;
}

}  // namespace

bool SameReport(const OrderResult& a, const OrderResult& b) { return Report(a) == Report(b); }

bool SameLabValues(const OrderResult& a, const OrderResult& b) {
  OrderResult left = Report(a);
  OrderResult right = Report(b);
  left.status.clear();
  right.status.clear();
  return left == right;
}

}  // namespace lab_orders::model
