// A rank's verbs context: one device, one CQ with a completion channel (armed only to sleep), and
// `qps` RC QPs ("lanes") per peer rank (itself included: those QPs are connected to
// themselves), all connected while the context opens. Two-sided messages travel through
// registered bounce buffers on lane 0 only: a message's chunks and same-tag messages must
// arrive in order, which one RC QP guarantees and several do not. The sender copies into a
// send slot and posts SENDs, the receiver keeps receives posted into its own slots and copies
// out when a message matches. One-sided operations go straight between the users' registered
// regions (RDMA WRITE / READ), round-robin over the lanes; flush covers every lane. With
// cq_mod N only every Nth send WR asks for a completion: a completion retires every older WR
// of its QP. The context is single-threaded.
#pragma once

#include <deque>
#include <list>
#include <memory>
#include <vector>

#include "fabricbench/transport/transport.h"
#include "verbs_async.h"
#include "verbs_cm.h"
#include "verbs_config.h"
#include "verbs_device.h"

namespace fb::verbs {

class VerbsContext;

// A posted operation; Request::handle points at one.
struct Op {
  enum class Kind : uint8_t { kSend, kRecv, kPut, kGet, kFlush, kPutImm, kRecvImm };
  Kind kind;
  int peer;
  uint32_t tag = 0;
  int lane = 0;               // the lane (QP) it goes on; a flush goes on all of them
  int wrs_posted = 0;         // its work requests on send queues so far
  int wrs_pending = 0;        // posted and not yet retired by a completion
  bool done = false;
  bool started = false;       // a send whose header went out
  const std::byte* source = nullptr;
  std::byte* target = nullptr;
  uint64_t size = 0;
  uint64_t copied = 0;        // send: bytes copied into send slots
  uint64_t remote_address = 0;
  uint32_t rkey = 0;
  uint32_t lkey = 0;
  uint32_t imm = 0;           // put_imm: the value the target receives
  uint32_t* imm_out = nullptr;  // recv_imm: where the arrived value goes
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
  Expected<Request> put_imm(const void* data, size_t bytes, const MemRegion& local, const RemoteRegion& remote,
                            size_t remote_offset, uint32_t imm) override;
  Expected<Request> recv_imm(uint32_t* imm) override;

 private:
  Expected<Op*> one_sided(Op::Kind kind, void* data, size_t bytes, const MemRegion& local,
                          const RemoteRegion& remote, size_t remote_offset);
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
  // A send-queue work request until a completion retires it: an Op (kWrOp) or a send slot.
  struct Inflight {
    uint64_t what = 0;
    bool signaled = false;
  };
  // One RC QP to a peer.
  struct Lane {
    QpPtr qp;
    int peer = 0;
    int sq_free = 0;
    int unsignaled = 0;              // WRs posted since the last signaled one
    std::deque<Inflight> inflight;   // oldest first: completions arrive in this order
  };
  struct Peer {
    int next_lane = 0;        // round-robin cursor for one-sided operations
    std::deque<Op*> backlog;  // posted by the user, not yet (fully) on the send queue
    std::deque<Op*> posted_recvs;
    std::deque<uint32_t> imms;      // put_imm notifications no recv_imm took yet
    std::deque<Op*> imm_recvs;      // recv_imm requests waiting for a notification
    bool probing = false;           // a liveness probe is on lane 0's send queue
    std::list<Unexpected> unexpected;
    Incoming incoming;
    std::unique_ptr<VerbsEndpoint> endpoint;
  };

  VerbsContext(Bootstrap& bootstrap, TransportOptions options, Settings settings, Selection selection);
  Status create_resources();
  Status connect_all();
  Status connect_with_cm(const std::vector<ConnectionInfo>& infos);
  void choose_gids(const std::vector<ConnectionInfo>& infos);
  std::string gid_summary() const;
  Status post_recv_slot(uint32_t slot);

  Expected<Request> submit(Op* op);
  Status pump(int peer);
  Lane& lane(int peer, int index) { return lanes_[static_cast<size_t>(peer * settings_.qps + index)]; }
  bool take_signal(Lane& l);
  Status post_wr(Lane& l, ibv_send_wr& wr, uint64_t what, const std::string& what_text);
  Status post_op(Op& op);
  Status post_send_chunk(Op& op);
  Status signal_tail(Lane& l);
  Status signal_all();
  void retire(Lane& l, bool through_signaled);
  void check_async_events();
  Status probe_silent_peers();
  bool waits_for(const Peer& p) const;
  Status poll();
  Status handle_completion(const ibv_wc& wc);
  [[gnu::cold]] Status completion_error(const ibv_wc& wc);
  Status handle_chunk(int peer, const std::byte* data, size_t length);
  Expected<Request> post_recv(int peer, void* data, size_t bytes, uint32_t tag);
  Expected<Request> post_recv_imm(int peer, uint32_t* imm);
  Status check_usable();
  Status drain(const Deadline& deadline);
  Status barrier_while_progressing();

  Bootstrap& bootstrap_;
  TransportOptions options_;
  Settings settings_;
  Selection selection_;  // holds the device: declared before everything made from it
  int path_mtu_ = 0;     // enum ibv_mtu agreed with the peers
  // The GIDs each peer's QPs route with (index = peer rank).
  struct PeerGid {
    GidEntry local;
    std::array<uint8_t, 16> remote{};
    bool by_route = false;
  };
  std::vector<PeerGid> peer_gids_;
  std::string gid_choice_;  // how they were chosen, for describe()
  CompChannelPtr channel_;
  CqPtr cq_;
  std::vector<std::byte> send_slots_memory_;
  std::vector<std::byte> recv_slots_memory_;
  MrPtr send_mr_;
  MrPtr recv_mr_;
  std::vector<uint32_t> free_send_slots_;
  std::vector<Lane> lanes_;  // QPs, peer * qps + lane: destroyed before the CQ and the MRs
  std::vector<Peer> peers_;
  std::unique_ptr<CmConnector> cm_;  // rdma_cm: the listener and the connections' ids
  std::unique_ptr<AsyncEvents> events_;  // after the QPs: its thread stops before they go
  // Liveness probes: a poll that finds nothing counts; every 4096th looks at the clock.
  uint32_t idle_polls_ = 0;
  bool active_since_check_ = true;
  Clock::time_point last_check_{};
  int peers_with_backlog_ = 0;
  Status failed_;  // the first fatal error: a QP in error state cannot be used again
  bool closed_ = false;
};

}  // namespace fb::verbs
