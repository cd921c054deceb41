#include "bootstrap/mpi_bootstrap.h"

#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "bootstrap/frame.h"

namespace fb {
namespace {

// The runner's exit code for a failed run; MPI_Abort makes it the job's.
constexpr int kAbortExitCode = 1;

Status mpi_status(int code, std::string_view operation, SourcePlace where) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  const std::string_view said = length > 0 ? std::string_view(text, length) : "unknown MPI error";
  return Status::native("mpi", code, said, operation, where);
}

Status check(int code, std::string_view operation, SourcePlace where) {
  return code == MPI_SUCCESS ? ok_status() : mpi_status(code, operation, where);
}

std::string ranks_text(int n) { return std::to_string(n) + (n == 1 ? " rank" : " ranks"); }

}  // namespace

Expected<std::unique_ptr<MpiBootstrap>> MpiBootstrap::create(const BootstrapConfig& config) {
  int initialized = 0;
  int finalized = 0;
  FB_TRY(check(MPI_Initialized(&initialized), "MPI_Initialized", FB_HERE));
  FB_TRY(check(MPI_Finalized(&finalized), "MPI_Finalized", FB_HERE));
  if (finalized)
    return Status::error(StatusCode::kUnavailable,
                         "MPI was already finalised in this process; it cannot be started again",
                         FB_HERE);
  std::unique_ptr<MpiBootstrap> b(new MpiBootstrap());
  b->set_timeout(config.timeout);
  if (!initialized) {
    // Only the thread that runs the rank talks to MPI; transports keep their own threads.
    int provided = 0;
    FB_TRY(check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided),
                 "MPI_Init_thread", FB_HERE));
    b->owns_mpi_ = true;  // from here on the destructor finalises, also on the errors below
  }
  // Errors become values; the default handler would abort the whole job from inside a call.
  FB_TRY(check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN),
               "MPI_Comm_set_errhandler", FB_HERE));
  FB_TRY(b->init_numbers());
  if (config.size > 0 && config.size != b->size_)
    return Status::error(
        StatusCode::kUnavailable,
        "this process was started as one of " + ranks_text(config.size) + " (" + config.detected_by +
            "), but MPI sees a job of " + ranks_text(b->size_) +
            ": the MPI library did not reach the launcher's process manager; with srun use "
            "--mpi=pmix ('srun --mpi=list' shows what this Slurm offers)",
        FB_HERE);
  if (b->owns_mpi_)
    FB_TRY(check(MPI_Comm_dup(MPI_COMM_WORLD, &b->exit_comm_), "MPI_Comm_dup", FB_HERE));
  return b;
}

Status MpiBootstrap::init_numbers() {
  FB_TRY(check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank", FB_HERE));
  FB_TRY(check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size", FB_HERE));
  // The ranks that share memory with this one are the ranks on this host.
  MPI_Comm node = MPI_COMM_NULL;
  FB_TRY(check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
               "MPI_Comm_split_type", FB_HERE));
  Status numbers = check(MPI_Comm_rank(node, &local_rank_), "MPI_Comm_rank", FB_HERE);
  if (numbers.ok()) numbers = check(MPI_Comm_size(node, &local_size_), "MPI_Comm_size", FB_HERE);
  const Status freed = check(MPI_Comm_free(&node), "MPI_Comm_free", FB_HERE);
  return numbers.ok() ? freed : numbers;
}

MpiBootstrap::~MpiBootstrap() {
  if (!owns_mpi_) return;
  int finalized = 0;
  if (MPI_Finalized(&finalized) != MPI_SUCCESS || finalized) return;
  // MPI_Finalize waits for every rank; one stuck in an exchange would make it wait forever.
  if (!everyone_reached_the_end()) {
    std::fprintf(stderr,
                 "fabricbench: rank %d: not every rank finished within %lld s of this one; "
                 "aborting the MPI job\n",
                 rank_, static_cast<long long>(timeout().count() / 1000));
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, kAbortExitCode);
  }
  if (exit_comm_ != MPI_COMM_NULL) MPI_Comm_free(&exit_comm_);
  MPI_Finalize();
}

bool MpiBootstrap::everyone_reached_the_end() {
  if (exit_comm_ == MPI_COMM_NULL) return true;  // create() failed before any exchange
  MPI_Request request = MPI_REQUEST_NULL;
  if (MPI_Ibarrier(exit_comm_, &request) != MPI_SUCCESS) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout();
  for (;;) {
    int done = 0;
    if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return false;
    if (done) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Expected<std::vector<Bytes>> MpiBootstrap::allgather(ByteSpan mine) {
  if (!failure_.ok()) return failure_;
  Expected<std::vector<Bytes>> all = exchange(mine);
  if (!all.ok()) failure_ = all.status();
  return all;
}

Expected<std::vector<Bytes>> MpiBootstrap::exchange(ByteSpan mine) {
  // Sizes first, so every rank can check every contribution and all fail alike on a bad one
  // instead of leaving the others inside the second collective.
  const int64_t my_size = static_cast<int64_t>(mine.size());
  std::vector<int64_t> sizes(size_);
  FB_TRY(check(MPI_Allgather(&my_size, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, MPI_COMM_WORLD),
               "MPI_Allgather", FB_HERE));
  std::vector<int> counts(size_);
  std::vector<int> offsets(size_);
  int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    if (sizes[r] < 0 || static_cast<uint64_t>(sizes[r]) > kMaxFrameBytes)
      return Status::error(StatusCode::kInvalidArgument,
                           "rank " + std::to_string(r) + ": bootstrap contribution of " +
                               std::to_string(sizes[r]) + " bytes exceeds the " +
                               std::to_string(kMaxFrameBytes >> 20) + " MiB limit",
                           FB_HERE);
    counts[r] = static_cast<int>(sizes[r]);
    offsets[r] = static_cast<int>(total);
    total += sizes[r];
    // MPI_Allgatherv counts and places bytes with int.
    if (total > INT_MAX)
      return Status::error(StatusCode::kInvalidArgument,
                           "a bootstrap exchange over " + ranks_text(size_) +
                               " totals more than 2 GiB, MPI's limit for one collective",
                           FB_HERE);
  }
  Bytes gathered(static_cast<size_t>(total));
  FB_TRY(check(MPI_Allgatherv(mine.data(), counts[rank_], MPI_BYTE, gathered.data(), counts.data(),
                              offsets.data(), MPI_BYTE, MPI_COMM_WORLD),
               "MPI_Allgatherv", FB_HERE));
  std::vector<Bytes> all(size_);
  for (int r = 0; r < size_; ++r)
    all[r].assign(gathered.begin() + offsets[r], gathered.begin() + offsets[r] + counts[r]);
  return all;
}

Status MpiBootstrap::barrier() {
  if (!failure_.ok()) return failure_;
  failure_ = check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", FB_HERE);
  return failure_;
}

Expected<std::unique_ptr<Bootstrap>> connect_mpi_bootstrap(const BootstrapConfig& config) {
  FB_TRY_ASSIGN(std::unique_ptr<MpiBootstrap> bootstrap, MpiBootstrap::create(config));
  return std::unique_ptr<Bootstrap>(std::move(bootstrap));
}

}  // namespace fb
