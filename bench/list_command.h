#pragma once

#include "cli/cli.h"

namespace fb {

// `fabricbench list`: transports built in, whether each is usable here, and if not why.
int run_list(const ListCommand& command);

}  // namespace fb
