// How evenly a shared resource was divided, for incast (K senders into one receiver).
#pragma once

#include <span>

#include "fabricbench/transport/status.h"

namespace fb {

// Jain's fairness index (sum x)^2 / (n * sum x^2): 1 when every sender got the same share,
// 1/n when one sender got everything. Values are per-sender throughputs (any unit).
// All zeros count as an equal split (1). Empty input, negative or non-finite values are errors:
// a sender that was not measured must not silently drag the index down.
Expected<double> jain_index(std::span<const double> values);

}  // namespace fb
