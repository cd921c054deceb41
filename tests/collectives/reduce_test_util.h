// Typed buffers and kernel lists shared by the reduce tests.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "cpu_reduce.h"
#include "fabricbench/collectives/element_access.h"

namespace fb::testing {

// count elements of type, 8-byte aligned, plus a guard zone the kernels must not touch.
class TypedBuffer {
 public:
  static constexpr size_t kGuardElements = 16;
  static constexpr uint8_t kGuardByte = 0xa5;

  TypedBuffer(DataType type, size_t count)
      : type_(type), count_(count),
        words_((count + kGuardElements) * element_size(type) / 8 + 1) {
    std::memset(words_.data(), kGuardByte, words_.size() * 8);
  }
  void* data() { return words_.data(); }
  const void* data() const { return words_.data(); }
  size_t count() const { return count_; }
  DataType type() const { return type_; }
  double get(size_t i) const { return load_value(data(), i, type_); }
  void set(size_t i, double v) { store_value(data(), i, type_, v); }
  uint64_t bits(size_t i) const {
    uint64_t out = 0;
    std::memcpy(&out, static_cast<const char*>(data()) + i * element_size(type_), element_size(type_));
    return out;
  }
  bool guard_intact() const {
    const auto* bytes = reinterpret_cast<const uint8_t*>(words_.data());
    for (size_t i = count_ * element_size(type_); i < words_.size() * 8; ++i)
      if (bytes[i] != kGuardByte) return false;
    return true;
  }

 private:
  DataType type_;
  size_t count_;
  std::vector<uint64_t> words_;
};

inline bool is_nan_bits(DataType type, uint64_t bits) {
  switch (type) {
    case DataType::kFloat32: return std::isnan(std::bit_cast<float>(static_cast<uint32_t>(bits)));
    case DataType::kFloat64: return std::isnan(std::bit_cast<double>(bits));
    case DataType::kFloat16: return (bits & 0x7c00u) == 0x7c00u && (bits & 0x3ffu) != 0;
    case DataType::kBFloat16: return (bits & 0x7f80u) == 0x7f80u && (bits & 0x7fu) != 0;
    case DataType::kInt32: return false;
  }
  return false;
}

// Every CPU variant this machine can run.
inline std::vector<std::unique_ptr<ReduceKernel>> cpu_kernels() {
  std::vector<std::unique_ptr<ReduceKernel>> kernels;
  kernels.push_back(make_cpu_reduce_kernel(baseline_reduce_loops()));
  if (const CpuReduceLoops* avx2 = avx2_reduce_loops()) kernels.push_back(make_cpu_reduce_kernel(*avx2));
  return kernels;
}

}  // namespace fb::testing
