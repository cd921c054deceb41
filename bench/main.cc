// fabricbench: interconnect and collective communication benchmarks for GPU clusters.
#include <variant>

#include "cli/cli.h"
#include "collective/collective_command.h"
#include "info_command.h"
#include "list_command.h"
#include "p2p/p2p_command.h"
#include "sweep/incast_command.h"
#include "sweep/pairs_command.h"

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

int main(int argc, char** argv) {
  const fb::ParsedCommandLine parsed = fb::parse_command_line(argc, argv);
  if (!parsed.command) return parsed.exit_code;
  return std::visit(Overloaded{
                        [](const fb::ListCommand& list) { return fb::run_list(list); },
                        [](const fb::InfoCommand& info) { return fb::run_info(info); },
                        [](const fb::P2pPlan& plan) { return fb::run_p2p_command(plan); },
                        [](const fb::CollectivePlan& plan) { return fb::run_collective_command(plan); },
                        [](const fb::PairsPlan& plan) { return fb::run_pairs_command(plan); },
                        [](const fb::IncastPlan& plan) { return fb::run_incast_command(plan); },
                    },
                    *parsed.command);
}
