// The bootstrap of a job started by mpirun or srun: MPI numbers the ranks and carries the
// out-of-band exchanges (addresses, keys, plans, results); no measurement goes through MPI.
//
// MPI collectives have no deadline, so Bootstrap::timeout() cannot bound an exchange here. A
// rank that dies is detected by the MPI runtime instead: mpirun, or srun with PMIx, ends the
// whole job. A rank that returns while others are still inside an exchange waits at most
// timeout() for them at the end, then aborts the job rather than hanging in MPI_Finalize.
// Built only when CMake found MPI (FABRICBENCH_HAVE_MPI_BOOTSTRAP).
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "bootstrap/bootstrap_config.h"
#include "fabricbench/transport/bootstrap.h"
#include "fabricbench/transport/status.h"

namespace fb {

// Not thread-safe: MPI is initialised with MPI_THREAD_FUNNELED, so every call must come from
// the thread that created it. After a failed exchange every later one fails the same way.
class MpiBootstrap final : public Bootstrap {
 public:
  // Initialises MPI unless the program already has. A config from resolve_bootstrap_config
  // carries the rank and size the launcher announced; when MPI disagrees, the MPI library
  // did not reach the launcher (srun without --mpi=pmix) and this fails instead of running
  // every process as a job of one.
  static Expected<std::unique_ptr<MpiBootstrap>> create(const BootstrapConfig& config);
  // Finalises MPI if create() initialised it (see the top of this file).
  ~MpiBootstrap() override;

  MpiBootstrap(const MpiBootstrap&) = delete;
  MpiBootstrap& operator=(const MpiBootstrap&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string kind() const override { return "mpi"; }
  Expected<std::vector<Bytes>> allgather(ByteSpan mine) override;
  Status barrier() override;

 private:
  MpiBootstrap() = default;
  Status init_numbers();
  Expected<std::vector<Bytes>> exchange(ByteSpan mine);
  bool everyone_reached_the_end();

  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
  bool owns_mpi_ = false;
  // A private copy of MPI_COMM_WORLD for the final wait, so it never meets an exchange that a
  // stuck rank is still inside.
  MPI_Comm exit_comm_ = MPI_COMM_NULL;
  Status failure_;
};

// Joins the MPI job a resolved "mpi" configuration describes.
Expected<std::unique_ptr<Bootstrap>> connect_mpi_bootstrap(const BootstrapConfig& config);

}  // namespace fb
