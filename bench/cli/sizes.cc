#include "cli/sizes.h"

#include <cctype>
#include <charconv>
#include <string>

namespace fb {
namespace {

constexpr size_t kMaxSizes = 100000;

Status bad_size(std::string_view text, std::string_view why) {
  return Status::error(StatusCode::kInvalidArgument,
                       "invalid size '" + std::string(text) + "': " + std::string(why) +
                           " (examples: 8, 4K, 1M, 2G; ranges 8:1M:x2 or 0:64K:+4096; lists 8,64,1K)",
                       FB_HERE);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Expected<uint64_t> parse_count(std::string_view text, std::string_view what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return bad_size(text, std::string(what) + " must be a whole number");
  return value;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace

Expected<uint64_t> parse_size(std::string_view text) {
  const std::string_view original = text;
  text = trim(text);
  // Accept optional "B" / "iB" after the unit: 1K, 1KB, 1KiB all mean 1024.
  if (!text.empty() && (text.back() == 'B' || text.back() == 'b')) {
    text.remove_suffix(1);
    if (!text.empty() && (text.back() == 'i' || text.back() == 'I')) text.remove_suffix(1);
  }
  unsigned shift = 0;
  if (!text.empty()) {
    switch (std::toupper(static_cast<unsigned char>(text.back()))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: break;
    }
    if (shift) text.remove_suffix(1);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return bad_size(original, "not a number with an optional K/M/G/T suffix");
  if (shift && value > (UINT64_MAX >> shift)) return bad_size(original, "too large");
  return value << shift;
}

Expected<std::vector<uint64_t>> expand_sizes(const SizeRange& range) {
  if (range.begin > range.end)
    return Status::error(StatusCode::kInvalidArgument,
                         "size range starts at " + format_size(range.begin) + " but ends at " +
                             format_size(range.end) + "; the first size must not exceed the last",
                         FB_HERE);
  if (range.step == 0 && range.factor < 2)
    return Status::error(StatusCode::kInvalidArgument,
                         "size factor must be at least 2 (or give a step: -i / +STEP)", FB_HERE);
  if (range.step == 0 && range.begin == 0 && range.end > 0)
    return Status::error(StatusCode::kInvalidArgument,
                         "a multiplicative size range cannot start at 0 (start at 1, or list 0 separately)",
                         FB_HERE);
  std::vector<uint64_t> sizes;
  for (uint64_t size = range.begin;;) {
    sizes.push_back(size);
    if (sizes.size() > kMaxSizes)
      return Status::error(StatusCode::kInvalidArgument,
                           "size range expands to more than " + std::to_string(kMaxSizes) +
                               " sizes; use a larger factor or step", FB_HERE);
    if (size >= range.end) break;
    const uint64_t next = range.step ? size + range.step : size * range.factor;
    if (next <= size || next > range.end) break;  // overflow or past the end
    size = next;
  }
  return sizes;
}

Expected<std::vector<uint64_t>> parse_size_spec(std::string_view spec) {
  spec = trim(spec);
  if (spec.empty()) return bad_size(spec, "empty");
  if (spec.find(':') != std::string_view::npos) {
    auto parts = split(spec, ':');
    if (parts.size() < 2 || parts.size() > 3) return bad_size(spec, "a range is BEGIN:END or BEGIN:END:xFACTOR or BEGIN:END:+STEP");
    SizeRange range;
    FB_TRY_ASSIGN(range.begin, parse_size(parts[0]));
    FB_TRY_ASSIGN(range.end, parse_size(parts[1]));
    if (parts.size() == 3) {
      std::string_view how = parts[2];
      if (how.empty()) return bad_size(spec, "missing factor or step after the second ':'");
      if (how.front() == '+') {
        FB_TRY_ASSIGN(range.step, parse_size(how.substr(1)));
        if (range.step == 0) return bad_size(spec, "step must be positive");
      } else if (how.front() == 'x' || how.front() == '*') {
        FB_TRY_ASSIGN(range.factor, parse_count(how.substr(1), "factor"));
      } else {
        return bad_size(spec, "third part must be xFACTOR or +STEP");
      }
    }
    return expand_sizes(range);
  }
  std::vector<uint64_t> sizes;
  for (std::string_view part : split(spec, ',')) {
    FB_TRY_ASSIGN(uint64_t size, parse_size(part));
    sizes.push_back(size);
  }
  return sizes;
}

std::string format_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"", "K", "M", "G", "T"};
  int unit = 0;
  while (unit < 4 && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + kUnits[unit];
}

}  // namespace fb
