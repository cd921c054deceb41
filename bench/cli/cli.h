// Turns the command line into a plan object; the runner executes it. Help, version and
// usage errors are answered here with the exit code to return.
#pragma once

#include <optional>
#include <variant>

#include "plan.h"

namespace fb {

struct ListCommand {
  bool json = false;
};

struct InfoCommand {
  bool json = false;
};

using Command = std::variant<ListCommand, InfoCommand, P2pPlan, CollectivePlan, PairsPlan, IncastPlan>;

struct ParsedCommandLine {
  std::optional<Command> command;  // empty: nothing to run, exit with exit_code
  int exit_code = 0;
};

ParsedCommandLine parse_command_line(int argc, const char* const* argv);

}  // namespace fb
