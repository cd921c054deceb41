// Message sizes as users write them: "4096", "1M" (K/M/G are binary: 1024), ranges like
// nccl-tests (-b 8 -e 1M -f 2, or "8:1M:x2", "0:64K:+4096"), or lists ("8,64,1K").
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "fabricbench/transport/status.h"

namespace fb {

Expected<uint64_t> parse_size(std::string_view text);

struct SizeRange {
  uint64_t begin = 8;
  uint64_t end = 8;
  uint64_t factor = 2;  // multiply each step (used when step == 0)
  uint64_t step = 0;    // add each step
};

Expected<std::vector<uint64_t>> expand_sizes(const SizeRange& range);
Expected<std::vector<uint64_t>> parse_size_spec(std::string_view spec);

// "8", "4K", "1M": the shortest exact binary form, for tables and messages.
std::string format_size(uint64_t bytes);

}  // namespace fb
