// A rank's UCX context: one UCP context and one worker (single-threaded), the peers' worker
// addresses from the bootstrap, and endpoints created when a peer is first connected.
#pragma once

#include <memory>
#include <vector>

#include "fabricbench/transport/transport.h"
#include "ucx_endpoint.h"
#include "ucx_handles.h"

namespace fb::ucx {

class UcxContext final : public Context {
 public:
  // Collective: every rank of `bootstrap` opens together (worker addresses are allgathered).
  static Expected<std::unique_ptr<Context>> open(Bootstrap& bootstrap, const TransportOptions& options);
  // Without close(), endpoints are closed with a short bounded wait; peers are not involved.
  ~UcxContext() override;

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
  UcxContext(Bootstrap& bootstrap, TransportOptions options, std::shared_ptr<WorkerState> state,
             std::vector<Bytes> addresses, int event_fd);

  Expected<UcxEndpoint*> endpoint(int peer);
  [[gnu::cold]] Status request_failed(Request& request, ucs_status_t status);
  Status flush_worker(const Deadline& deadline);
  Status barrier_while_progressing();
  Status close_endpoints(const Deadline& deadline);

  Bootstrap& bootstrap_;
  TransportOptions options_;
  std::shared_ptr<WorkerState> state_;  // before endpoints_: destroyed after them
  ucp_worker_h worker_;                 // state_->worker, read on every test()
  std::vector<Bytes> addresses_;        // worker address of every rank
  std::vector<std::unique_ptr<UcxEndpoint>> endpoints_;  // by peer; null until connected
  int event_fd_;                        // -1 unless ProgressMode::kEvent
  bool closed_ = false;
};

}  // namespace fb::ucx
