// What `--algo auto` runs: a small table by collective, rank count and message size. The
// thresholds come from scripts/collective-sweep.py runs (see the README's performance
// section); change them only with numbers from that script.
#pragma once

#include <cstdint>

#include "fabricbench/collectives/algorithm.h"

namespace fb {

// The algorithm auto picks for a whole-buffer size of `bytes` over `ranks` ranks.
Expected<const Algorithm*> choose_algorithm(CollectiveKind kind, int ranks, uint64_t bytes);

}  // namespace fb
