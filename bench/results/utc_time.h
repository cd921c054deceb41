// Timestamps as they appear in results: ISO 8601 in UTC, so runs from hosts in different time
// zones sort and compare as text.
#pragma once

#include <chrono>
#include <string>

namespace fb {

// "2024-05-01T12:34:56Z" (whole seconds).
std::string iso8601_utc(std::chrono::system_clock::time_point t);

// "20240501T123456Z": the same instant without separators, for file names.
std::string compact_utc(std::chrono::system_clock::time_point t);

}  // namespace fb
