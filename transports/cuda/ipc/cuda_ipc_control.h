// The control plane of cuda-ipc: one POSIX shared-memory segment per rank, mapped by every
// rank of the job. Rank r's segment holds one inbox per sender s: a ring of receive slots
// that r fills when it posts a receive from s (where the data is to land) and that s
// completes once its copy has landed (how many bytes, or why it failed).
//
// Each slot has one writer at a time, handed over by release/acquire on two words: the
// receiver publishes slots by advancing `posted`, the sender hands a slot back by storing its
// sequence number in `done`. A slot is reused only after the receiver saw it done.
#pragma once

#include <cuda_runtime_api.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "fabricbench/transport/status.h"

namespace fb::cuda_ipc {

static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared-memory words must be lock-free");

enum class Outcome : uint32_t { kDelivered = 0, kTagMismatch = 1, kTruncated = 2, kCopyFailed = 3 };

// Where a receive's data lands: nowhere (zero bytes), in the receiver's exported device memory,
// or, for a small receive into host memory (a control message), in the slot itself, from which
// the receiver copies it out.
enum class Landing : uint32_t { kNone = 0, kDevice = 1, kInline = 2 };
inline constexpr size_t kInlineBytes = 64;

struct alignas(64) RecvSlot {
  // Written by the receiver, then published through InboxHeader::posted.
  cudaIpcMemHandle_t handle;  // of the allocation the receive buffer lies in
  uint64_t address;           // the buffer in the receiver's address space (same-process sends)
  uint64_t offset;            // of the buffer within the allocation
  uint64_t capacity;          // bytes
  uint64_t seq;               // 1, 2, ... per ordered pair
  uint32_t tag;
  Landing landing;
  // Written by the sender, then handed back through `done`.
  uint64_t sent_bytes;
  uint32_t sent_tag;
  Outcome outcome;
  std::atomic<uint64_t> done;  // == seq once the sender is finished with this slot
  std::byte inline_data[kInlineBytes];  // Landing::kInline: the message, written by the sender
};
static_assert(sizeof(RecvSlot) == 192);

struct alignas(64) InboxHeader {
  std::atomic<uint64_t> posted;  // slots published so far; slot seq lives at (seq - 1) % slots
};

struct alignas(64) SegmentHeader {
  uint64_t magic;
  uint32_t version;
  uint32_t slots;
  int32_t rank;
  int32_t ranks;
  int64_t pid;
};

// One mapped control segment. The creator unlinks the name once every peer has mapped it (or
// on destruction, if the job failed before), so a crashed job leaves nothing in /dev/shm
// beyond that window.
class ControlSegment {
 public:
  ControlSegment() = default;
  static Expected<ControlSegment> create(const std::string& name, int rank, int ranks, uint32_t slots);
  static Expected<ControlSegment> open(const std::string& name, int rank, int ranks, uint32_t slots);
  ControlSegment(ControlSegment&& other) noexcept { swap(other); }
  ControlSegment& operator=(ControlSegment&& other) noexcept {
    ControlSegment(std::move(other)).swap(*this);
    return *this;
  }
  ControlSegment(const ControlSegment&) = delete;
  ~ControlSegment();

  // Removes the name; the mappings stay valid.
  void unlink();

  const SegmentHeader& header() const { return *static_cast<const SegmentHeader*>(base_); }
  InboxHeader& inbox(int sender) const;
  RecvSlot& slot(int sender, uint64_t seq) const;  // the slot a 1-based sequence number uses

  void swap(ControlSegment& other) noexcept {
    std::swap(base_, other.base_);
    std::swap(bytes_, other.bytes_);
    std::swap(slots_, other.slots_);
    std::swap(name_to_unlink_, other.name_to_unlink_);
  }

 private:
  void* base_ = nullptr;
  size_t bytes_ = 0;
  uint32_t slots_ = 0;
  std::string name_to_unlink_;  // set while this process created the name and has not unlinked it
};

// "/fb-cuda-ipc-<job token>-<rank>"; the token is unique per job, so parallel jobs on one host
// do not collide.
std::string segment_name(const std::string& job_token, int rank);

}  // namespace fb::cuda_ipc
