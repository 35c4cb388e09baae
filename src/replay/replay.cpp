#include "lab_orders/replay/replay.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <ostream>
#include <sstream>
#include <thread>

namespace lab_orders::replay {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Loaded {
  std::string file;
  json scenario;
};

// Every scenario file named, in a stable order; a folder gives its *.json files by name.
std::vector<std::string> ScenarioFiles(const std::vector<std::string>& paths,
                                       std::vector<std::string>* problems) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    if (fs::is_directory(path)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(path)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") {
          found.push_back(entry.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(path)) {
      files.push_back(path);
    } else {
      problems->push_back(path + ": no such file or folder");
    }
  }
  return files;
}

std::string Validate(const json& scenario) {
  static const char* const kKeys[] = {"name",      "description", "service",
                                      "simulator", "steps",       "junction",
                                      "final",     "comment",     "brand_webhooks"};
  if (!scenario.is_object()) return "a scenario is a JSON object";
  for (auto it = scenario.begin(); it != scenario.end(); ++it) {
    if (std::find(std::begin(kKeys), std::end(kKeys), it.key()) == std::end(kKeys)) {
      return "unknown field \"" + it.key() + "\"";
    }
  }
  if (!scenario.contains("name") || !scenario["name"].is_string()) return "\"name\" is required";
  if (!scenario.contains("steps") || !scenario["steps"].is_array()) {
    return "\"steps\" is required (a list)";
  }
  return "";
}

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 has no place for most control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string Seconds(double seconds) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << seconds;
  return text.str();
}

}  // namespace

std::string JUnitXml(const std::vector<ScenarioResult>& results) {
  int failed = int(std::count_if(results.begin(), results.end(),
                                 [](const ScenarioResult& r) { return !r.passed; }));
  double total = 0;
  for (const ScenarioResult& result : results) total += result.seconds;
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuite name=\"lab-orders replay\" tests=\"" + std::to_string(results.size()) +
         "\" failures=\"" + std::to_string(failed) + "\" time=\"" + Seconds(total) + "\">\n";
  for (const ScenarioResult& result : results) {
    xml += "  <testcase classname=\"replay." + XmlEscape(fs::path(result.file).stem().string()) +
           "\" name=\"" + XmlEscape(result.name) + "\" time=\"" + Seconds(result.seconds) + "\"";
    if (result.passed) {
      xml += "/>\n";
      continue;
    }
    std::string text;
    for (const std::string& failure : result.failures) text += failure + "\n";
    xml += ">\n    <failure message=\"" + XmlEscape(result.failures.front()) + "\">" +
           XmlEscape(text) + "</failure>\n  </testcase>\n";
  }
  return xml + "</testsuite>\n";
}

int RunReplay(const ReplayOptions& options, std::ostream& out) {
  std::vector<std::string> problems;
  std::vector<std::string> paths = options.paths;
  if (paths.empty()) paths.push_back("fixtures/scenarios");
  std::vector<Loaded> scenarios;
  std::map<std::string, std::string> names;  // name -> file, to refuse duplicates
  for (const std::string& file : ScenarioFiles(paths, &problems)) {
    std::ifstream in(file);
    json scenario = json::parse(in, nullptr, false);
    if (scenario.is_discarded()) {
      problems.push_back(file + ": not valid JSON");
      continue;
    }
    if (std::string problem = Validate(scenario); !problem.empty()) {
      problems.push_back(file + ": " + problem);
      continue;
    }
    std::string name = scenario["name"];
    if (auto [it, inserted] = names.emplace(name, file); !inserted) {
      problems.push_back(file + ": the name \"" + name + "\" is also used by " + it->second);
      continue;
    }
    std::string stem = fs::path(file).filename().string();
    if (!options.filter.empty() && name.find(options.filter) == std::string::npos &&
        stem.find(options.filter) == std::string::npos) {
      continue;
    }
    scenarios.push_back({file, std::move(scenario)});
  }
  if (!problems.empty()) {
    for (const std::string& problem : problems) out << "error: " << problem << "\n";
    return 2;
  }
  if (scenarios.empty()) {
    out << "error: no scenario matches\n";
    return 2;
  }

  std::vector<ScenarioResult> results(scenarios.size());
  std::atomic<size_t> next{0};
  std::mutex print;
  auto worker = [&] {
    for (size_t i = next++; i < scenarios.size(); i = next++) {
      results[i] = RunScenario(scenarios[i].file, scenarios[i].scenario, options);
      std::lock_guard lock(print);
      const ScenarioResult& result = results[i];
      out << (result.passed ? "PASS " : "FAIL ") << result.name << " (" << Seconds(result.seconds)
          << " s)\n";
      for (const std::string& failure : result.failures) out << "  " << failure << "\n";
      for (const std::string& line : result.trace) out << "    | " << line << "\n";
      if (!result.directory.empty()) out << "  logs and database: " << result.directory << "\n";
      out.flush();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, options.jobs); ++i) threads.emplace_back(worker);
  for (std::thread& thread : threads) thread.join();

  int failed = int(std::count_if(results.begin(), results.end(),
                                 [](const ScenarioResult& r) { return !r.passed; }));
  out << (results.size() - size_t(failed)) << " passed, " << failed << " failed\n";
  if (!options.junit_file.empty()) {
    std::ofstream junit(options.junit_file);
    junit << JUnitXml(results);
    if (!junit) {
      out << "error: could not write " << options.junit_file << "\n";
      return 2;
    }
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace lab_orders::replay
