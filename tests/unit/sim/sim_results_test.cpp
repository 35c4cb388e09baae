// The simulated team's lab results, through World: when results exist, what they hold, the
// advance body's result fields, the critical webhook, and that every answer is what Junction's
// spec says it is.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/sim/catalog.h"
#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/results.h"
#include "lab_orders/sim/world.h"
#include "support/fakes.h"
#include "support/junction_fixtures.h"

namespace lab_orders::sim {
namespace {

using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

const auto kStart = std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

const OpenApiValidator& Validator() {
  static const OpenApiValidator validator(nlohmann::json::parse(JunctionSpecText()));
  return validator;
}

json AsJson(const std::vector<SchemaViolation>& violations) {
  json all = json::array();
  for (const SchemaViolation& violation : violations) all.push_back(violation.ToJson());
  return all;
}

// Violations of one documented response; compare with json::array() so failures print them.
json ResponseViolations(const std::string& path, const json& body) {
  const json* schema = Validator().ResponseSchema("GET", path, 200);
  if (schema == nullptr) return {{"no schema for", path}};
  return AsJson(Validator().Validate(*schema, body, json::array({"response"})));
}

json ComponentViolations(const std::string& component, const json& instance) {
  return AsJson(Validator().Validate({{"$ref", "#/components/schemas/" + component}}, instance,
                                     json::array()));
}

const CatalogEntry& Panel(const std::string& panel_slug) {
  for (const CatalogEntry& entry : Catalog()) {
    if (entry.panel_slug == panel_slug) return entry;
  }
  throw std::invalid_argument("no panel " + panel_slug);
}

// A simulated team with its own clock and ids: two teams with one seed make the same orders.
struct Team {
  explicit Team(std::uint64_t seed = 1) : world(clock, ids, {}, seed) {
    world.SetEventSink([this](const json& event, int) { events.push_back(event); });
  }

  // A new user (whose client_user_id is a UUID, as the webhook schemas want) with one order.
  std::string NewOrder(const std::string& panel_slug = "pcos") {
    std::string digits = std::to_string(++users);
    std::string client_user_id =
        "3b0f8a52-6c1d-4e8f-9a27-" + std::string(12 - digits.size(), '0') + digits;
    SimResponse user = world.CreateUser({{"client_user_id", client_user_id}});
    EXPECT_EQ(user.status, 200) << user.body.dump();
    json body = testing::SampleOrderJson(user.body["user_id"], Panel(panel_slug).id);
    SimResponse order = world.CreateOrder(body);
    EXPECT_EQ(order.status, 200) << order.body.dump();
    return order.body["order"].value("id", "");
  }

  // An hour later, the advance; the order it answers.
  json Advance(const std::string& order_id, const json& body) {
    clock.Advance(1h);
    SimResponse answer = world.AdvanceOrder(order_id, body);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body;
  }

  json Order(const std::string& order_id) {
    SimResponse answer = world.GetOrder(order_id);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(ResponseViolations("/v3/order/{order_id}", answer.body), json::array());
    return answer.body;
  }

  json Result(const std::string& order_id) {
    SimResponse answer = world.GetResult(order_id);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(ResponseViolations("/v3/order/{order_id}/result", answer.body), json::array());
    return answer.body;
  }

  json Metadata(const std::string& order_id) {
    SimResponse answer = world.GetResultMetadata(order_id);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(ResponseViolations("/v3/order/{order_id}/result/metadata", answer.body),
              json::array());
    return answer.body;
  }

  std::vector<std::string> EventTypes() const {
    std::vector<std::string> types;
    for (const json& event : events) types.push_back(event["event_type"]);
    return types;
  }

  FakeClock clock{kStart};
  CountingIdGenerator ids;
  World world;
  std::vector<json> events;
  int users = 0;
};

std::size_t Half(std::size_t count) { return (count + 1) / 2; }

std::vector<std::string> Interpretations(const json& results) {
  std::vector<std::string> found;
  for (const json& row : results) found.push_back(row["interpretation"]);
  return found;
}

TEST(SimResultsTest, UnknownOrdersAndOrdersWithoutResultsAreNotFound) {
  Team team;
  const std::string unknown = "00000000-0000-4000-8000-00000000ffff";
  for (SimResponse answer : {team.world.GetResult(unknown), team.world.GetResultMetadata(unknown),
                             team.world.GetResultPdf(unknown)}) {
    EXPECT_EQ(answer.status, 404);
    EXPECT_EQ(answer.body, json({{"detail", "Order not found."}}));
  }
  std::string order_id = team.NewOrder();
  team.Advance(order_id, {{"status", "draw_completed"}});
  for (SimResponse answer : {team.world.GetResult(order_id), team.world.GetResultMetadata(order_id),
                             team.world.GetResultPdf(order_id)}) {
    EXPECT_EQ(answer.status, 404);
    EXPECT_EQ(answer.body, json({{"detail", "Lab results are not available yet."}}));
  }
  json order = team.Order(order_id);
  EXPECT_TRUE(order["sample_id"].is_null());
  EXPECT_TRUE(order["interpretation"].is_null());
  EXPECT_TRUE(order["has_missing_results"].is_null());
}

TEST(SimResultsTest, TheSampleGetsItsIdWhenItReachesTheLab) {
  Team team;
  std::string order_id = team.NewOrder();
  json partial = team.Advance(order_id, {{"status", "partial_results"}});
  std::string sample_id = partial["sample_id"];
  EXPECT_EQ(sample_id, SpecimenNumberFor(order_id));
  EXPECT_THAT(sample_id, ::testing::MatchesRegex("[1-9][0-9]{9}"));
  EXPECT_NE(SpecimenNumberFor(order_id), SpecimenNumberFor(team.NewOrder()));

  team.Advance(order_id, {{"status", "completed"}});
  EXPECT_EQ(team.Order(order_id)["sample_id"], sample_id) << "kept, not drawn again";
  json result = team.Result(order_id);
  EXPECT_EQ(result["metadata"]["specimen_number"], sample_id);
  ASSERT_TRUE(result["sample_information"].contains(sample_id));
  EXPECT_EQ(result["sample_information"][sample_id]["sample_id"], sample_id);

  // A sample the lab could not test has an id but no results.
  std::string failed_id = team.NewOrder();
  json failed = team.Advance(failed_id, {{"status", "sample_error"}});
  EXPECT_EQ(failed["sample_id"], SpecimenNumberFor(failed_id));
  EXPECT_EQ(team.world.GetResult(failed_id).status, 404);
}

TEST(SimResultsTest, PartialThenFinalThenCorrectedEachAddAVersionAndTheRoutesServeTheLast) {
  Team team;
  std::string order_id = team.NewOrder("wellness");
  const std::size_t markers = std::size_t(PanelMarkerCount("wellness"));

  team.Advance(order_id, {{"status", "partial_results"}});
  json partial = team.Result(order_id);
  EXPECT_EQ(partial["metadata"]["status"], "partial");
  EXPECT_EQ(partial["results"].size(), Half(markers));

  team.Advance(order_id, {{"status", "completed"}});
  json final_result = team.Result(order_id);
  EXPECT_EQ(final_result["metadata"]["status"], "final");
  ASSERT_EQ(final_result["results"].size(), markers);
  for (std::size_t i = 0; i < Half(markers); ++i) {
    EXPECT_EQ(final_result["results"][i]["result"], partial["results"][i]["result"])
        << "a final report repeats the partial's values";
  }
  for (const json& row : final_result["results"]) EXPECT_EQ(row["notes"], "Final");

  team.Advance(order_id, {{"status", "corrected"}});
  json corrected = team.Result(order_id);
  EXPECT_EQ(corrected["metadata"]["status"], "final");
  ASSERT_EQ(corrected["results"].size(), markers);
  int changed = 0;
  for (std::size_t i = 0; i < markers; ++i) {
    const json& before = final_result["results"][i];
    const json& after = corrected["results"][i];
    if (after["notes"] == "Corrected") {
      ++changed;
      EXPECT_NE(after["result"], before["result"]) << after["name"];
      EXPECT_EQ(after["interpretation"], before["interpretation"]);
    } else {
      EXPECT_EQ(after, before);
    }
  }
  EXPECT_EQ(changed, 1);

  std::vector<ResultVersion> reports = team.world.ReportsOf(order_id);
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0].status, "partial");
  EXPECT_EQ(reports[1].results, final_result["results"]) << "the corrected report is kept";
  EXPECT_EQ(reports[2].results, corrected["results"]);
  EXPECT_LT(reports[1].reported_at, reports[2].reported_at);
}

TEST(SimResultsTest, TheSameSeedAndOrderGiveTheSameResultsAndAnotherSeedOtherValues) {
  auto final_results = [](std::uint64_t seed) {
    Team team(seed);
    std::string order_id = team.NewOrder("hormone_metabolic");
    team.Advance(order_id, {{"status", "completed"}});
    return team.Result(order_id)["results"];
  };
  json first = final_results(1);
  EXPECT_EQ(final_results(1), first);
  json other = final_results(2);
  ASSERT_EQ(other.size(), first.size());
  int differing = 0;
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(other[i]["name"], first[i]["name"]) << "the same markers";
    if (other[i]["result"] != first[i]["result"]) ++differing;
  }
  EXPECT_GT(differing, 0);
  EXPECT_EQ(Interpretations(other), std::vector<std::string>(other.size(), "normal"))
      << "normal by default, whatever the seed";
}

TEST(SimResultsTest, MissingResultsAreLeftOutListedAndFlaggedOnTheOrder) {
  Team team;
  std::string order_id = team.NewOrder("pcos");
  const std::size_t markers = std::size_t(PanelMarkerCount("pcos"));
  json order = team.Advance(order_id, {{"status", "completed"}, {"missing_results", 2}});
  EXPECT_EQ(order["has_missing_results"], true);
  json result = team.Result(order_id);
  EXPECT_EQ(result["results"].size(), markers - 2);
  ASSERT_EQ(result["missing_results"].size(), 2u);
  for (const json& missing : result["missing_results"]) {
    EXPECT_EQ(missing["inferred_failure_type"], "quantity_not_sufficient_failure");
    for (const json& row : result["results"]) EXPECT_NE(row["slug"], missing["slug"]);
  }

  std::string complete_id = team.NewOrder("pcos");
  EXPECT_EQ(team.Advance(complete_id, {{"status", "completed"}})["has_missing_results"], false);
  EXPECT_EQ(team.Result(complete_id)["missing_results"], json::array());
}

TEST(SimResultsTest, AbnormalPutsOneMarkerOutOfRangeWithFlagsThatMatchItsValue) {
  for (const CatalogEntry& panel : Catalog()) {
    Team team;
    std::string order_id = team.NewOrder(panel.panel_slug);
    json order = team.Advance(order_id, {{"status", "completed"}, {"interpretation", "abnormal"}});
    EXPECT_EQ(order["interpretation"], "abnormal") << panel.panel_slug;
    json result = team.Result(order_id);
    EXPECT_EQ(result["metadata"]["interpretation"], "abnormal");
    int abnormal = 0;
    for (const json& row : result["results"]) {
      if (row["type"] != "numeric") continue;
      double value = std::stod(row["result"].get<std::string>());
      bool above = row["max_range_value"].is_number() && value > row["max_range_value"];
      bool below = row["min_range_value"].is_number() && value < row["min_range_value"];
      if (row["max_range_value"].is_number()) {
        EXPECT_EQ(row["is_above_max_range"], above);
      }
      if (row["min_range_value"].is_number()) {
        EXPECT_EQ(row["is_below_min_range"], below);
      }
      EXPECT_EQ(row["interpretation"], above || below ? "abnormal" : "normal") << row.dump();
      if (above || below) ++abnormal;
    }
    EXPECT_EQ(abnormal, 1) << panel.panel_slug;
  }
}

TEST(SimResultsTest, CriticalSendsTheCriticalWebhookRightAfterTheStatusUpdate) {
  Team team;
  std::string order_id = team.NewOrder("performance");
  team.Advance(order_id, {{"status", "draw_completed"}});
  team.events.clear();

  json order =
      team.Advance(order_id, {{"status", "partial_results"}, {"interpretation", "critical"}});
  EXPECT_EQ(order["interpretation"], "critical");
  ASSERT_EQ(team.EventTypes(),
            (std::vector<std::string>{"labtest.order.updated", "labtest.result.critical"}));
  EXPECT_EQ(ComponentViolations("ClientFacingOrderChanged", team.events[0]), json::array());
  EXPECT_EQ(team.events[0]["data"]["interpretation"], "critical");
  const json critical = team.events[1];  // a copy: the events are cleared below
  EXPECT_EQ(ComponentViolations("ClientFacingCriticalResultIdentified", critical), json::array());
  EXPECT_EQ(critical["data"]["order_id"], order_id);
  EXPECT_EQ(critical["data"]["sample_id"], order["sample_id"]);
  EXPECT_EQ(critical["data"]["status"], "partial");
  EXPECT_EQ(critical["data"]["interpretation"], "critical");
  EXPECT_EQ(critical["data"]["user_id"], order["user_id"]);
  EXPECT_EQ(critical["team_id"], World::kTeamId);
  json partial = team.Result(order_id);
  EXPECT_THAT(Interpretations(partial["results"]), ::testing::Contains("critical"));

  // The plan stays for the final report, which is critical again, and says so again.
  team.events.clear();
  team.Advance(order_id, {{"status", "completed"}});
  ASSERT_EQ(team.EventTypes(),
            (std::vector<std::string>{"labtest.order.updated", "labtest.result.critical"}));
  EXPECT_EQ(team.events[1]["data"]["status"], "final");
  EXPECT_EQ(team.events[1]["data"]["created_at"], critical["data"]["created_at"])
      << "when the result was first fetched";
  EXPECT_NE(team.events[1]["data"]["updated_at"], critical["data"]["updated_at"]);
  json result = team.Result(order_id);
  EXPECT_EQ(result["metadata"]["interpretation"], "critical");
  int critical_rows = 0;
  for (const json& row : result["results"]) {
    if (row["interpretation"] == "critical") {
      ++critical_rows;
      EXPECT_EQ(row["is_above_max_range"], true) << row.dump();
    }
  }
  EXPECT_EQ(critical_rows, 1);

  // A normal report sends no critical event.
  team.events.clear();
  std::string normal_id = team.NewOrder("performance");
  team.Advance(normal_id, {{"status", "completed"}});
  EXPECT_THAT(team.EventTypes(), ::testing::Not(::testing::Contains("labtest.result.critical")));
}

TEST(SimResultsTest, EveryPanelsReportsAreRealisticAndValidateAgainstTheSpec) {
  std::set<std::string> types;
  for (const CatalogEntry& panel : Catalog()) {
    const int markers = PanelMarkerCount(panel.panel_slug);
    EXPECT_GE(markers, 4) << panel.panel_slug;
    EXPECT_LE(markers, 8) << panel.panel_slug;
    for (const json& plan :
         {json{{"interpretation", "normal"}},
          json{{"interpretation", "abnormal"}, {"missing_results", 1}},
          json{{"interpretation", "critical"}, {"missing_results", markers - 1}}}) {
      Team team;
      std::string order_id = team.NewOrder(panel.panel_slug);
      json partial_body = plan;
      partial_body["status"] = "partial_results";
      json order = team.Advance(order_id, partial_body);
      EXPECT_EQ(order["interpretation"], plan["interpretation"]) << panel.panel_slug << plan;
      team.Result(order_id);
      team.Metadata(order_id);
      team.Advance(order_id, {{"status", "completed"}});
      team.Advance(order_id, {{"status", "corrected"}});
      json result = team.Result(order_id);
      team.Metadata(order_id);
      team.Order(order_id);
      EXPECT_EQ(result["metadata"]["interpretation"], plan["interpretation"]);
      for (const json& row : result["results"]) {
        types.insert(row["type"].get<std::string>());
        EXPECT_THAT(row["loinc"].get<std::string>(), ::testing::MatchesRegex("[0-9]+-[0-9]"));
        EXPECT_FALSE(row["reference_range"].get<std::string>().empty());
      }
    }
  }
  EXPECT_EQ(types, (std::set<std::string>{"numeric", "range", "comment"}));
}

TEST(SimResultsTest, MetadataNamesThePatientWithTheDobDayFirst) {
  Team team;
  std::string order_id = team.NewOrder();
  team.Advance(order_id, {{"status", "completed"}});
  json metadata = team.Metadata(order_id);
  EXPECT_EQ(metadata["dob"], "28/02/1990");
  EXPECT_EQ(metadata["age"], "39") << "on 2030-01-07, before the birthday";
  EXPECT_EQ(metadata["patient"], "Ada Lovelace");
  EXPECT_EQ(metadata["date_reported"], "2030-01-07");
  EXPECT_EQ(metadata["status"], "final");
  EXPECT_EQ(metadata["interpretation"], "normal");
  EXPECT_EQ(metadata["laboratory"], "Labcorp");
  EXPECT_TRUE(metadata["clia_#"].is_string());
  EXPECT_EQ(team.Result(order_id)["metadata"], metadata);
}

TEST(SimResultsTest, TheAdvanceRefusesBadResultFieldsAndChangesNothing) {
  Team team;
  std::string order_id = team.NewOrder("hashimotos");
  const json bad_bodies[] = {
      {{"status", "completed"}, {"interpretation", "terrible"}},
      {{"status", "completed"}, {"interpretation", 2}},
      {{"status", "completed"}, {"missing_results", -1}},
      {{"status", "completed"}, {"missing_results", 5}},  // the panel reports 5
      {{"status", "completed"}, {"missing_results", "2"}},
      {{"status", "completed"}, {"missing_results", 1.5}},
      {{"status", "sample_error"}, {"status_detail", "sample_spilled"}},
      {{"status", "completed"}, {"interpretaton", "critical"}},
  };
  for (const json& body : bad_bodies) {
    SimResponse answer = team.world.AdvanceOrder(order_id, body);
    EXPECT_EQ(answer.status, 400) << body.dump();
    EXPECT_TRUE(answer.body["detail"].is_string()) << body.dump();
  }
  EXPECT_THAT(team.world.AdvanceOrder(order_id, bad_bodies[3]).body["detail"].get<std::string>(),
              HasSubstr("from 0 to 4"));
  EXPECT_EQ(team.Order(order_id)["last_event"]["status"],
            "received.at_home_phlebotomy.requisition_created");
  SimResponse repeated = team.world.AdvanceOrder(
      order_id, {{"status", "requisition_created"}, {"status_detail", "fulfillment_error"}});
  EXPECT_EQ(repeated.status, 400) << "no new event to put the detail on";
}

TEST(SimResultsTest, StatusDetailGoesOnTheEventOfThatAdvance) {
  Team team;
  std::string order_id = team.NewOrder();
  team.events.clear();
  json order =
      team.Advance(order_id, {{"status", "sample_error"}, {"status_detail", "sample_hemolyzed"}});
  EXPECT_EQ(order["last_event"]["status"], "failed.at_home_phlebotomy.sample_error");
  EXPECT_EQ(order["last_event"]["status_detail"], "sample_hemolyzed");
  ASSERT_EQ(team.events.size(), 1u);
  EXPECT_EQ(team.events[0]["data"]["last_event"]["status_detail"], "sample_hemolyzed");
  EXPECT_EQ(ComponentViolations("ClientFacingOrderChanged", team.events[0]), json::array());
  EXPECT_FALSE(order["events"][0].contains("status_detail")) << "earlier events keep theirs";
  team.Order(order_id);
}

TEST(SimResultsTest, ThePdfRouteAnswersTheLatestReportAsAPdfWithoutThePatient) {
  Team team;
  std::string order_id = team.NewOrder("fertility");
  team.Advance(order_id, {{"status", "completed"}});
  SimResponse answer = team.world.GetResultPdf(order_id);
  ASSERT_EQ(answer.status, 200);
  EXPECT_EQ(answer.headers["Content-Type"], "application/pdf");
  ASSERT_TRUE(answer.raw_body.has_value());
  const std::string& pdf = *answer.raw_body;
  EXPECT_EQ(pdf.rfind("%PDF-1.4\n", 0), 0u);
  EXPECT_THAT(pdf, HasSubstr(order_id));
  EXPECT_THAT(pdf, HasSubstr(SpecimenNumberFor(order_id)));
  EXPECT_THAT(pdf, HasSubstr("Report status: final"));
  EXPECT_THAT(pdf, HasSubstr("Antimullerian Hormone: "));
  EXPECT_THAT(pdf, ::testing::Not(HasSubstr("Ada")));
  EXPECT_THAT(pdf, ::testing::Not(HasSubstr("Lovelace")));
  EXPECT_EQ(team.world.GetResultPdf(order_id).raw_body, answer.raw_body) << "deterministic";
  team.Advance(order_id, {{"status", "corrected"}});
  EXPECT_NE(team.world.GetResultPdf(order_id).raw_body, answer.raw_body) << "the latest report";
}

}  // namespace
}  // namespace lab_orders::sim
