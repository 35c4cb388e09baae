// The simulated team's lab results: what an order's status changes mean for its results (the
// sample id when the sample reaches the lab, a report on partial_results, completed and
// corrected), the labtest.result.critical webhook, the advance body's result fields, and the
// three result routes. The reports themselves are made in results.cpp.

#include <chrono>
#include <cstdio>
#include <set>

#include "lab_orders/sim/catalog.h"
#include "lab_orders/sim/result_pdf.h"
#include "lab_orders/sim/results.h"
#include "lab_orders/sim/world.h"
#include "sim/world_status.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;

constexpr const char* kLaboratory = "Labcorp";
constexpr const char* kPerformingLabName = "Labcorp Burlington";
constexpr const char* kLabCliaNumber = "34D0655059";

// OrderStatusDetail in Junction's spec.
const std::set<std::string>& OrderStatusDetails() {
  static const std::set<std::string> kDetails = {
      "fulfillment_error",
      "date_of_collection_unspecified",
      "demographic_information_unspecified",
      "demographic_information_mismatch",
      "sample_quantity_not_sufficient",
      "sample_contaminated",
      "sample_stability_exceeded",
      "sample_hemolyzed",
      "sample_improper_collection",
  };
  return kDetails;
}

// The statuses at which the sample is at the lab (or was, and failed there).
bool SampleAtLab(const std::string& low_status) {
  // A test kit's sample is at the lab once delivered there.
  return low_status == "partial_results" || low_status == "completed" ||
         low_status == "corrected" || low_status == "sample_error" ||
         low_status == "delivered_to_lab" || low_status == "lab_processing_blocked";
}

std::optional<ReportKind> ReportFor(const std::string& low_status) {
  if (low_status == "partial_results") return ReportKind::kPartial;
  if (low_status == "completed") return ReportKind::kFinal;
  if (low_status == "corrected") return ReportKind::kCorrected;
  return std::nullopt;
}

json SampleTime(std::chrono::system_clock::time_point at) {
  // Times are kept in UTC, so the offset from UTC is 0.
  return {{"timestamp", FormatRfc3339(at)}, {"timezone_offset", 0}};
}

}  // namespace

bool World::RecordResultsLocked(Order& order) {
  auto now = clock_.Now();
  if (order.low_status == "draw_completed" && !order.collected_at) order.collected_at = now;
  if (!SampleAtLab(order.low_status)) return false;
  if (!order.sample_id) {
    order.sample_id = SpecimenNumberFor(order.id);
    order.received_at = now;
  }
  // An order advanced straight to results was collected when the lab received it.
  if (!order.collected_at) order.collected_at = now;
  std::optional<ReportKind> kind = ReportFor(order.low_status);
  if (!kind) return false;
  ReportRequest request;
  request.kind = *kind;
  request.panel_slug = FindLabTest(order.lab_test_id)->panel_slug;
  request.order_id = order.id;
  request.sample_id = *order.sample_id;
  request.seed = result_seed_;
  request.plan = order.result_plan;
  request.collected_at = *order.collected_at;
  request.reported_at = now;
  order.reports.push_back(MakeReport(request));
  return order.reports.back().interpretation == "critical";
}

void World::EmitCriticalResultEvent(const Order& order) {
  if (!Listened()) return;
  const User* user = FindUserById(order.user_id);
  const ResultVersion& report = order.reports.back();
  // ClientFacingCriticalResult: created_at and updated_at are when Junction first and last
  // fetched the result from the lab, i.e. the first and the latest report.
  json event = {{"event_type", "labtest.result.critical"},
                {"user_id", order.user_id},
                {"client_user_id", user ? user->client_user_id : ""},
                {"team_id", kTeamId},
                {"data",
                 {{"order_id", order.id},
                  {"sample_id", *order.sample_id},
                  {"status", report.status},
                  {"interpretation", report.interpretation},
                  {"team_id", kTeamId},
                  {"user_id", order.user_id},
                  {"created_at", FormatRfc3339(order.reports.front().reported_at)},
                  {"updated_at", FormatRfc3339(report.reported_at)}}}};
  sink_(event, script_->duplicate_webhooks ? 2 : 1);
}

std::optional<SimResponse> World::ReadResultOptions(const json& body, const Order& order,
                                                    bool status_changes, ResultPlan* plan,
                                                    std::optional<std::string>* status_detail) {
  for (const auto& [name, value] : body.items()) {
    if (name != "status" && name != "interpretation" && name != "missing_results" &&
        name != "status_detail") {
      return DetailResponse(400, "Unknown field " + name +
                                     ": the advance body takes status, interpretation, "
                                     "missing_results and status_detail.");
    }
  }
  if (auto it = body.find("interpretation"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "normal" && *it != "abnormal" && *it != "critical")) {
      return DetailResponse(400, "interpretation is normal, abnormal or critical.");
    }
    plan->interpretation = it->get<std::string>();
  }
  if (auto it = body.find("missing_results"); it != body.end() && !it->is_null()) {
    const std::string& panel = FindLabTest(order.lab_test_id)->panel_slug;
    int markers = PanelMarkerCount(panel);
    // At least one marker is reported: a report with none is no report.
    if (!it->is_number_integer() || it->get<long long>() < 0 ||
        it->get<long long>() > markers - 1) {
      return DetailResponse(400, "missing_results is a whole number from 0 to " +
                                     std::to_string(markers - 1) + ": the " + panel +
                                     " panel reports " + std::to_string(markers) +
                                     " markers, and at least one must be reported.");
    }
    plan->missing_results = it->get<int>();
  }
  if (auto it = body.find("status_detail"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || !OrderStatusDetails().count(it->get<std::string>())) {
      std::string known;
      for (const std::string& detail : OrderStatusDetails()) {
        known += (known.empty() ? "" : ", ") + detail;
      }
      return DetailResponse(400, "status_detail is one of " + known + ".");
    }
    if (!status_changes) {
      return DetailResponse(400,
                            "status_detail goes on the event of a status change, and the "
                            "order is already " +
                                order.low_status + ".");
    }
    *status_detail = it->get<std::string>();
  }
  return std::nullopt;
}

std::variant<const World::Order*, SimResponse> World::FindReportedOrder(
    const std::string& order_id) {
  ApplyDueLocked();
  const Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  // Junction does not document this answer; the simulator's assumption (docs/junction-sim.md).
  if (order->reports.empty()) return DetailResponse(404, "Lab results are not available yet.");
  return order;
}

json World::ResultMetadataJson(const Order& order) const {
  const ResultVersion& report = order.reports.back();
  const json& patient = order.patient_details;
  std::string dob = patient.value("dob", "");
  std::string age;
  if (auto birth = ParseCalendarDate(dob)) {
    std::chrono::year_month_day reported{std::chrono::floor<std::chrono::days>(report.reported_at)};
    int years = int(reported.year()) - int(birth->year());
    if (std::chrono::month_day{reported.month(), reported.day()} <
        std::chrono::month_day{birth->month(), birth->day()}) {
      --years;
    }
    age = std::to_string(years);
    char day_first[16];
    std::snprintf(day_first, sizeof day_first, "%02u/%02u/%04d", unsigned(birth->day()),
                  unsigned(birth->month()), int(birth->year()));
    dob = day_first;  // Junction writes it DD/MM/YYYY
  }
  return {{"age", age},
          {"dob", dob},
          {"clia_#", kLabCliaNumber},
          {"patient", patient.value("first_name", "") + " " + patient.value("last_name", "")},
          {"provider", nullptr},
          {"laboratory", kLaboratory},
          {"date_reported", FormatDate(report.reported_at)},
          {"date_collected", FormatDate(*order.collected_at)},
          {"specimen_number", *order.sample_id},
          {"date_received", FormatDate(*order.received_at)},
          {"status", report.status},
          {"interpretation", report.interpretation},
          {"patient_id", nullptr},
          {"account_id", nullptr}};
}

json World::LabResultsJson(const Order& order) const {
  const ResultVersion& report = order.reports.back();
  json sample = {
      {"sample_id", *order.sample_id},
      {"control_number", nullptr},
      {"date_collected", SampleTime(*order.collected_at)},
      {"date_received", SampleTime(*order.received_at)},
      {"date_reported", SampleTime(report.reported_at)},
      {"performing_laboratories",
       {{kPerformingLabCode,
         {{"name", kPerformingLabName},
          {"phone_number", nullptr},
          {"medical_director", nullptr},
          {"address", nullptr}}}}},
      {"clinical_information",
       {{"fasting", FindLabTest(order.lab_test_id)->fasting},
        {"notes", nullptr},
        {"information", nullptr},
        {"total_volume", nullptr}}},
  };
  return {{"metadata", ResultMetadataJson(order)},
          {"results", report.results},
          {"missing_results", report.missing_results},
          {"sample_information", {{*order.sample_id, sample}}},
          {"order_transaction", OrderTransactionJson(order)}};
}

std::vector<ResultVersion> World::ReportsOf(const std::string& order_id) const {
  std::lock_guard lock(mutex_);
  auto it = orders_.find(order_id);
  return it == orders_.end() ? std::vector<ResultVersion>{} : it->second.reports;
}

SimResponse World::GetResult(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  auto found = FindReportedOrder(order_id);
  if (auto* refused = std::get_if<SimResponse>(&found)) return *refused;
  return SimResponse{200, LabResultsJson(*std::get<const Order*>(found)), {}};
}

SimResponse World::GetResultMetadata(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  auto found = FindReportedOrder(order_id);
  if (auto* refused = std::get_if<SimResponse>(&found)) return *refused;
  return SimResponse{200, ResultMetadataJson(*std::get<const Order*>(found)), {}};
}

SimResponse World::GetResultPdf(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  auto found = FindReportedOrder(order_id);
  if (auto* refused = std::get_if<SimResponse>(&found)) return *refused;
  const Order& order = *std::get<const Order*>(found);
  SimResponse answer{200, nullptr, {}};
  answer.headers["Content-Type"] = "application/pdf";
  // Junction's example names the file after the specimen number.
  answer.headers["Content-Disposition"] = "inline; filename=\"" + *order.sample_id + ".pdf\"";
  answer.raw_body = ResultPdf(order.id, *order.sample_id, order.reports.back());
  return answer;
}

}  // namespace lab_orders::sim
