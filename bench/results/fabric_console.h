// The console's view of a fabric sweep's verdict, printed after the table: the host matrix
// (small fabrics), each host's weakest and typical pair, the worst pairs, and the suspects.
#pragma once

#include <cstdio>

#include "results/record.h"

namespace fb {

void print_fabric_summary(std::FILE* out, const FabricSummary& fabric);

}  // namespace fb
