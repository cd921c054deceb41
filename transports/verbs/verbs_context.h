// A rank's verbs context: one device, one CQ (optionally with a completion channel), and one
// RC QP per peer rank (itself included: that QP is connected to itself), all connected while
// the context opens. Two-sided messages travel through registered bounce buffers: the sender
// copies into a send slot and posts SENDs, the receiver keeps receives posted into its own
// slots and copies out when a message matches. One-sided operations go straight between the
// users' registered regions (RDMA WRITE / READ). The context is single-threaded.
#pragma once

#include <deque>
#include <list>
#include <memory>
#include <vector>

#include "fabricbench/transport/transport.h"
#include "verbs_config.h"
#include "verbs_device.h"

namespace fb::verbs {

class VerbsContext;

// A posted operation; Request::handle points at one.
struct Op {
  enum class Kind : uint8_t { kSend, kRecv, kPut, kGet, kFlush };
  Kind kind;
  int peer;
  uint32_t tag = 0;
  bool done = false;
  bool started = false;       // a send whose header went out
  const std::byte* source = nullptr;
  std::byte* target = nullptr;
  uint64_t size = 0;
  uint64_t copied = 0;        // send: bytes copied into send slots
  uint64_t remote_address = 0;
  uint32_t rkey = 0;
  uint32_t lkey = 0;
  Status error;
};

class VerbsMemRegion final : public MemRegion {
 public:
  VerbsMemRegion(std::shared_ptr<Device> device, MemorySpan span, MrPtr mr)
      : device_(std::move(device)), span_(span), mr_(std::move(mr)) {}
  MemorySpan span() const override { return span_; }
  Bytes pack() const override;
  uint32_t lkey() const { return mr_ ? mr_->lkey : 0; }
  bool contains(const void* data, size_t bytes) const {
    const auto* first = static_cast<const std::byte*>(data);
    const auto* base = static_cast<const std::byte*>(span_.data);
    return bytes == 0 || (first >= base && bytes <= span_.size &&
                          static_cast<size_t>(first - base) <= span_.size - bytes);
  }

 private:
  std::shared_ptr<Device> device_;  // first member: released last
  MemorySpan span_;
  MrPtr mr_;  // null for an empty span
};

class VerbsRemoteRegion final : public RemoteRegion {
 public:
  VerbsRemoteRegion(int peer, RegionKey key) : peer_(peer), key_(key) {}
  int peer() const override { return peer_; }
  size_t size() const override { return key_.size; }
  const RegionKey& key() const { return key_; }

 private:
  int peer_;
  RegionKey key_;
};

class VerbsEndpoint final : public Endpoint {
 public:
  VerbsEndpoint(VerbsContext& context, int peer) : context_(context), peer_(peer) {}
  int peer() const override { return peer_; }
  Expected<Request> send(const void* data, size_t bytes, uint32_t tag) override;
  Expected<Request> recv(void* data, size_t bytes, uint32_t tag) override;
  Expected<Request> put(const void* data, size_t bytes, const MemRegion& local,
                        const RemoteRegion& remote, size_t remote_offset) override;
  Expected<Request> get(void* data, size_t bytes, const MemRegion& local,
                        const RemoteRegion& remote, size_t remote_offset) override;
  Expected<Request> flush() override;

 private:
  VerbsContext& context_;
  int peer_;
};

class VerbsContext final : public Context {
 public:
  // Collective: every rank opens together (QP numbers are allgathered, then a barrier makes
  // sure no rank sends to a QP that is not ready to receive).
  static Expected<std::unique_ptr<Context>> open(Bootstrap& bootstrap, const TransportOptions& options);
  ~VerbsContext() override = default;

  int rank() const override { return bootstrap_.rank(); }
  int size() const override { return bootstrap_.size(); }
  const TransportOptions& options() const override { return options_; }

  Expected<Endpoint*> connect(int peer) override;
  Expected<std::unique_ptr<MemRegion>> register_memory(MemorySpan memory) override;
  Expected<std::unique_ptr<RemoteRegion>> import_region(int peer, ByteSpan packed) override;

  Status progress() override;
  Expected<bool> test(Request& request) override;
  Status wait_for_activity(const Deadline& deadline) override;
  Status close() override;
  std::map<std::string, std::string> describe() const override;

 private:
  friend class VerbsEndpoint;

  // An arrived message no receive was posted for yet.
  struct Unexpected {
    uint32_t tag = 0;
    uint64_t size = 0;
    bool complete = false;
    bool discard = false;  // a receive found it too large: dropped when complete
    Op* claimed = nullptr; // a receive waiting for the rest of it
    Bytes data;
  };
  // The message now arriving from a peer (RC keeps one peer's SENDs in order).
  struct Incoming {
    bool active = false;
    uint32_t tag = 0;
    uint64_t size = 0;
    uint64_t received = 0;
    std::byte* target = nullptr;  // null: the payload is dropped (truncated receive)
    Op* recv = nullptr;
    Unexpected* stash = nullptr;
  };
  struct Peer {
    QpPtr qp;
    int sq_free = 0;
    std::deque<Op*> backlog;  // posted by the user, not yet (fully) on the send queue
    std::deque<Op*> posted_recvs;
    std::list<Unexpected> unexpected;
    Incoming incoming;
    std::unique_ptr<VerbsEndpoint> endpoint;
  };

  VerbsContext(Bootstrap& bootstrap, TransportOptions options, Settings settings, Selection selection);
  Status create_resources();
  Status connect_all();
  Status post_recv_slot(uint32_t slot);

  Expected<Request> submit(Op* op);
  Status pump(int peer);
  Status post_op(Peer& p, Op& op);
  Status post_send_chunk(Peer& p, Op& op);
  Status poll();
  Status handle_completion(const ibv_wc& wc);
  [[gnu::cold]] Status completion_error(const ibv_wc& wc);
  Status handle_chunk(int peer, const std::byte* data, size_t length);
  Expected<Request> post_recv(int peer, void* data, size_t bytes, uint32_t tag);
  Status check_usable() const;
  Status drain(const Deadline& deadline);
  Status barrier_while_progressing();

  Bootstrap& bootstrap_;
  TransportOptions options_;
  Settings settings_;
  Selection selection_;  // holds the device: declared before everything made from it
  int path_mtu_ = 0;     // enum ibv_mtu agreed with the peers
  CompChannelPtr channel_;
  CqPtr cq_;
  std::vector<std::byte> send_slots_memory_;
  std::vector<std::byte> recv_slots_memory_;
  MrPtr send_mr_;
  MrPtr recv_mr_;
  std::vector<uint32_t> free_send_slots_;
  std::vector<int> send_slot_peer_;
  std::vector<Peer> peers_;  // QPs: destroyed before the CQ and the MRs
  int peers_with_backlog_ = 0;
  Status failed_;  // the first fatal error: a QP in error state cannot be used again
  bool closed_ = false;
};

}  // namespace fb::verbs
