// Rendezvous at rank 0 over TCP, for hosts without MPI: every rank is started by hand (or by
// a scheduler) with the same tcp://HOST:PORT, job size and token. Rank 0 listens there,
// admits exactly one connection per rank, and then serves every exchange as the hub of a
// star; a rank that leaves makes the others fail with its name.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bootstrap/bootstrap_config.h"
#include "bootstrap/unique_fd.h"
#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/status.h"

namespace fb {

class StarHub;

struct TcpBootstrapOptions {
  std::string host;  // rank 0's host name or address
  uint16_t port = 0;
  int rank = -1;
  int size = -1;
  std::string token;
  // Bounds joining the job and each exchange.
  std::chrono::milliseconds timeout = kDefaultBootstrapTimeout;
  // This rank's host, which groups ranks for local_rank(); empty means gethostname().
  std::string hostname;
  // Where rank 0 reports connections it turned away; unset means stderr.
  std::function<void(const std::string&)> log;
};

// Not thread-safe: one exchange at a time. After a failed exchange every later one fails
// the same way: the job is over.
class TcpBootstrap final : public Bootstrap {
 public:
  // Returns once all options.size ranks have joined (or the timeout passed).
  static Expected<std::unique_ptr<TcpBootstrap>> connect(const TcpBootstrapOptions& options);
  ~TcpBootstrap() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string kind() const override { return "tcp"; }
  Expected<std::vector<Bytes>> allgather(ByteSpan mine) override;

  // Every rank's host as it reported it when joining, indexed by rank.
  const std::vector<std::string>& hostnames() const { return hostnames_; }

 private:
  TcpBootstrap(const TcpBootstrapOptions& options, std::vector<std::string> hostnames);
  Expected<std::vector<Bytes>> allgather_as_hub(ByteSpan mine);
  void end_job_for_members();

  int rank_;
  int size_;
  int local_rank_ = 0;
  int local_size_ = 1;
  std::string address_;  // "HOST:PORT", for messages
  std::vector<std::string> hostnames_;
  UniqueFd root_;                  // members: the connection to rank 0
  std::vector<UniqueFd> members_;  // rank 0: one connection per rank (none for itself)
  std::unique_ptr<StarHub> hub_;   // rank 0
  Status failure_;
};

// Joins the job a resolved "tcp" configuration describes.
Expected<std::unique_ptr<Bootstrap>> connect_tcp_bootstrap(const BootstrapConfig& config);

}  // namespace fb
