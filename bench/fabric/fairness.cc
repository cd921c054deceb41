#include "fabric/fairness.h"

#include <cmath>
#include <string>

namespace fb {

Expected<double> jain_index(std::span<const double> values) {
  if (values.empty()) {
    return Status::error(StatusCode::kInvalidArgument, "fairness of no senders", FB_HERE);
  }
  double sum = 0;
  double sum_sq = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (!std::isfinite(x) || x < 0) {
      return Status::error(StatusCode::kInvalidArgument,
                           "fairness input " + std::to_string(i) + " is " + std::to_string(x) +
                               " (must be finite and >= 0)",
                           FB_HERE);
    }
    sum += x;
    sum_sq += x * x;
  }
  if (sum_sq == 0) return 1.0;
  return sum * sum / (static_cast<double>(values.size()) * sum_sq);
}

}  // namespace fb
