// Big-endian encoding of the few field types the bootstrap protocols use. Readers never trust
// a length: every get checks what is left, so a malformed message is an error, not a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fabricbench/transport/bootstrap.h"

namespace fb {

class ByteWriter {
 public:
  void u32(uint32_t v) { put_be(v, 4); }
  void u64(uint64_t v) { put_be(v, 8); }
  void bytes(ByteSpan data) {  // length-prefixed
    u64(data.size());
    out_.insert(out_.end(), data.begin(), data.end());
  }
  void string(std::string_view s) { bytes(std::as_bytes(std::span(s.data(), s.size()))); }

  Bytes& buffer() { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  void put_be(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
  Bytes out_;
};

class ByteReader {
 public:
  explicit ByteReader(ByteSpan in) : in_(in) {}

  bool u32(uint32_t& v) { return get_be(v, 4); }
  bool u64(uint64_t& v) { return get_be(v, 8); }
  bool bytes(Bytes& out) {
    uint64_t n = 0;
    if (!u64(n) || n > in_.size() - pos_) return false;
    out.assign(in_.begin() + pos_, in_.begin() + pos_ + n);
    pos_ += n;
    return true;
  }
  bool string(std::string& out) {
    Bytes raw;
    if (!bytes(raw)) return false;
    out.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
    return true;
  }
  bool at_end() const { return pos_ == in_.size(); }
  size_t left() const { return in_.size() - pos_; }

 private:
  template <typename T>
  bool get_be(T& v, size_t width) {
    if (left() < width) return false;
    uint64_t acc = 0;
    for (size_t i = 0; i < width; ++i) acc = (acc << 8) | std::to_integer<uint64_t>(in_[pos_ + i]);
    pos_ += width;
    v = static_cast<T>(acc);
    return true;
  }
  ByteSpan in_;
  size_t pos_ = 0;
};

}  // namespace fb
