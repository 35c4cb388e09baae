#pragma once

// `lab-orders replay`: runs QA fixture scenarios (fixtures/README.md), each against its own
// junction-sim and lab-orders processes on free ports with a fresh embedded store.

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lab_orders::replay {

struct ReplayOptions {
  std::vector<std::string> paths;  // files or folders; empty: fixtures/scenarios
  std::string filter;              // substring of the name or file name
  int jobs = 1;
  std::string junit_file;
  std::string service_binary;  // this lab-orders
  std::string sim_binary;      // junction-sim
  std::string panels_path = "config/panels.json";
  bool keep = false;  // keep each scenario's directory
};

struct ScenarioResult {
  std::string name;
  std::string file;
  bool passed = false;
  double seconds = 0;
  std::vector<std::string> failures;  // what was expected and what came back
  std::string directory;              // kept only with --keep
  // For a failed scenario: Junction's calls in order and the service log's last lines (ids
  // only, never a body), so a failure on a machine whose files are gone can still be read.
  std::vector<std::string> trace;
};

// Runs one parsed scenario. Never throws: a problem becomes a failure line.
ScenarioResult RunScenario(const std::string& file, const nlohmann::json& scenario,
                           const ReplayOptions& options);

// The whole command: prints a line per scenario and the summary to out, writes JUnit when
// asked. Returns the exit code: 0 all passed, 1 some failed, 2 bad paths or scenario files.
int RunReplay(const ReplayOptions& options, std::ostream& out);

// JUnit XML for results.
std::string JUnitXml(const std::vector<ScenarioResult>& results);

}  // namespace lab_orders::replay
