#pragma once

// Lab results as Junction reports them (LabResultsRaw's `results` and `missing_results`), made
// up deterministically: the same seed, order and plan give the same report every time, so tests
// and QA replays can expect exact values.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace lab_orders::sim {

// What an order's next reports show; POST /_sim/orders/{id}/advance sets it.
struct ResultPlan {
  std::string interpretation = "normal";  // normal, abnormal (one marker out of range), critical
  int missing_results = 0;                // markers the lab could not report
};

enum class ReportKind {
  kPartial,    // the first half of the panel's markers (rounded up)
  kFinal,      // every marker
  kCorrected,  // every marker, one of them with a changed value and the note "Corrected"
};

// One report of an order's results.
struct ResultVersion {
  std::string status;              // metadata.status: "partial" or "final"
  std::string interpretation;      // the worst marker's: normal, abnormal or critical
  nlohmann::json results;          // BiomarkerResult[]
  nlohmann::json missing_results;  // MissingBiomarkerResult[]
  std::chrono::system_clock::time_point reported_at;
};

struct ReportRequest {
  ReportKind kind = ReportKind::kFinal;
  std::string panel_slug;  // CatalogEntry::panel_slug
  std::string order_id;
  std::string sample_id;
  std::uint64_t seed = 1;
  ResultPlan plan;
  std::chrono::system_clock::time_point collected_at;  // each marker's timestamp
  std::chrono::system_clock::time_point reported_at;
};

ResultVersion MakeReport(const ReportRequest& request);

// How many markers a panel reports (0 for an unknown panel).
int PanelMarkerCount(const std::string& panel_slug);

// The lab's specimen number (Junction's sample_id) for an order: ten digits, the same for the
// order every time.
std::string SpecimenNumberFor(const std::string& order_id);

// The lab's site code that results name as performing_laboratory.
inline constexpr const char* kPerformingLabCode = "BN";

}  // namespace lab_orders::sim
