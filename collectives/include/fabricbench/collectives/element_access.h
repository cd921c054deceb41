// Reading and writing single elements of a host buffer of any DataType as double, for filling
// a collective's inputs and counting wrong outputs (nccl-tests' "#wrong"). Not for timed code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fabricbench/collectives/datatype.h"
#include "fabricbench/collectives/float16.h"

namespace fb {
namespace element_detail {

// value is exact when the type holds it; otherwise it is rounded (fp16/bf16 by way of float).
// int32 takes integers in its range; anything else saturates, NaN becomes INT32_MIN.
template <DataType T>
inline void store(void* data, size_t index, double value) {
  auto put = [&](auto element) {
    std::memcpy(static_cast<char*>(data) + index * sizeof(element), &element, sizeof(element));
  };
  if constexpr (T == DataType::kFloat32) put(static_cast<float>(value));
  if constexpr (T == DataType::kFloat64) put(value);
  if constexpr (T == DataType::kFloat16) put(float_to_fp16(static_cast<float>(value)));
  if constexpr (T == DataType::kBFloat16) put(float_to_bf16(static_cast<float>(value)));
  if constexpr (T == DataType::kInt32) {
    put(!(value >= INT32_MIN) ? INT32_MIN
        : value > INT32_MAX   ? INT32_MAX
                              : static_cast<int32_t>(value));
  }
}

template <DataType T>
inline double load(const void* data, size_t index) {
  auto get = [&](auto element) {
    std::memcpy(&element, static_cast<const char*>(data) + index * sizeof(element), sizeof(element));
    return element;
  };
  if constexpr (T == DataType::kFloat32) return get(float{});
  if constexpr (T == DataType::kFloat64) return get(double{});
  if constexpr (T == DataType::kFloat16) return fp16_to_float(get(uint16_t{}));
  if constexpr (T == DataType::kBFloat16) return bf16_to_float(get(uint16_t{}));
  if constexpr (T == DataType::kInt32) return get(int32_t{});
}

// Calls f.template operator()<T>() for the runtime type, so loops run with the type fixed.
template <typename F>
inline auto with_type(DataType type, F&& f) {
  switch (type) {
    case DataType::kFloat64: return f.template operator()<DataType::kFloat64>();
    case DataType::kFloat16: return f.template operator()<DataType::kFloat16>();
    case DataType::kBFloat16: return f.template operator()<DataType::kBFloat16>();
    case DataType::kInt32: return f.template operator()<DataType::kInt32>();
    case DataType::kFloat32: break;
  }
  return f.template operator()<DataType::kFloat32>();
}

}  // namespace element_detail

inline void store_value(void* data, size_t index, DataType type, double value) {
  element_detail::with_type(type, [&]<DataType T>() { element_detail::store<T>(data, index, value); });
}

inline double load_value(const void* data, size_t index, DataType type) {
  return element_detail::with_type(type, [&]<DataType T>() { return element_detail::load<T>(data, index); });
}

// data[i] = value_of(i) for i < count; value_of returns double.
template <typename ValueOf>
void fill_values(void* data, size_t count, DataType type, ValueOf&& value_of) {
  element_detail::with_type(type, [&]<DataType T>() {
    for (size_t i = 0; i < count; ++i) element_detail::store<T>(data, i, value_of(i));
  });
}

// How many of data[0, count) differ from expected(i) (compared as double; NaN is always wrong).
template <typename ExpectedOf>
size_t count_wrong(const void* data, size_t count, DataType type, ExpectedOf&& expected) {
  return element_detail::with_type(type, [&]<DataType T>() {
    size_t wrong = 0;
    for (size_t i = 0; i < count; ++i) wrong += element_detail::load<T>(data, i) != expected(i);
    return wrong;
  });
}

}  // namespace fb
