#pragma once

#include "fabricbench/transport/status.h"
#include "results/record.h"

namespace fb {

// Where rank 0 delivers each finished record (console row, JSON Lines stream, document).
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual Status add(const Record& record) = 0;
};

}  // namespace fb
