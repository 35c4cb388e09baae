#pragma once

// The CLI's words: its commands, the help for all of them and for each, and the version. A
// command and its flags are checked before any configuration is read, so a typo is refused at
// once (exit 2) and never waits on a missing secret.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lab_orders {

struct CommandSpec {
  std::string_view name;
  std::string_view help;  // its lines in the usage text, indented
  // The flags it takes, each with whether it wants a value; a command with none takes none.
  std::vector<std::pair<std::string_view, bool>> flags;
  bool takes_paths = false;  // plain arguments (replay's scenario paths)
};

const std::vector<CommandSpec>& Commands();
const CommandSpec* FindCommand(std::string_view name);

// Every command and the configuration: `lab-orders --help`.
std::string UsageText();
// One command: `lab-orders <command> --help`.
std::string CommandUsageText(const CommandSpec& command);
// "lab-orders 0.1.0 (API 1.0.0)": the build's version and the HTTP API's (the OpenAPI document's).
std::string VersionText();

// Why args (the words after the command) do not fit the command: an unknown flag, a flag without
// its value, an argument it does not take; "" when they fit.
std::string CheckArguments(const CommandSpec& command, const std::vector<std::string>& args);

}  // namespace lab_orders
