// The mpi bootstrap as the ranks of a real mpirun job see it. Every rank runs the checks and
// reports its own failures; the exit code is the verdict.
//
//   mpirun -np 3 mpi_bootstrap_check            exchanges, numbers, barrier, limits
//   mpirun -np 2 mpi_bootstrap_check straggler  rank 0 returns while the others are still in an
//                                               exchange: it must end the job, not hang
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bootstrap/bootstrap_config.h"
#include "bootstrap/frame.h"
#include "bootstrap/mpi_bootstrap.h"

namespace fb {
namespace {

int failures = 0;
int my_rank = -1;

void expect(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "rank %d: FAIL: %s\n", my_rank, what.c_str());
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : -1;
}

std::byte pattern(int rank, size_t i) { return static_cast<std::byte>((rank * 31 + i) & 0xff); }

// Rank r contributes r * 1000 + 1 bytes, except rank 1, which contributes nothing.
size_t contribution_size(int rank) { return rank == 1 ? 0 : static_cast<size_t>(rank) * 1000 + 1; }

void check_numbers(const Bootstrap& b) {
  expect(b.kind() == "mpi", "kind is '" + b.kind() + "'");
  expect(b.rank() == env_int("OMPI_COMM_WORLD_RANK"), "rank " + std::to_string(b.rank()));
  expect(b.size() == env_int("OMPI_COMM_WORLD_SIZE"), "size " + std::to_string(b.size()));
  // One host: the ranks on it are all of them.
  expect(b.local_rank() == env_int("OMPI_COMM_WORLD_LOCAL_RANK"),
         "local_rank " + std::to_string(b.local_rank()));
  expect(b.local_size() == b.size(), "local_size " + std::to_string(b.local_size()));
}

void check_varying_sizes(Bootstrap& b) {
  Bytes mine(contribution_size(b.rank()));
  for (size_t i = 0; i < mine.size(); ++i) mine[i] = pattern(b.rank(), i);
  auto all = b.allgather(mine);
  expect(all.ok(), "allgather: " + all.status().to_string());
  if (!all.ok()) return;
  expect(static_cast<int>(all->size()) == b.size(), "allgather returned " + std::to_string(all->size()));
  for (int r = 0; r < static_cast<int>(all->size()); ++r) {
    const Bytes& got = (*all)[r];
    expect(got.size() == contribution_size(r),
           "rank " + std::to_string(r) + "'s part has " + std::to_string(got.size()) + " bytes");
    for (size_t i = 0; i < got.size(); ++i)
      if (got[i] != pattern(r, i)) {
        expect(false, "rank " + std::to_string(r) + "'s part differs at byte " + std::to_string(i));
        break;
      }
  }
}

void check_many_and_large(Bootstrap& b) {
  for (int round = 0; round < 200; ++round) {
    auto values = allgather_value(b, b.rank() * 1000 + round);
    if (!values.ok()) {
      expect(false, "round " + std::to_string(round) + ": " + values.status().to_string());
      return;
    }
    for (int r = 0; r < b.size(); ++r)
      if ((*values)[r] != r * 1000 + round) {
        expect(false, "round " + std::to_string(round) + ": wrong value from rank " + std::to_string(r));
        return;
      }
  }
  // 4 MiB from rank 0 only: bigger than any eager protocol, beside empty parts.
  constexpr size_t kBig = size_t{4} << 20;
  const Bytes big(b.rank() == 0 ? kBig : 0, std::byte{0x5a});
  auto all = b.allgather(big);
  expect(all.ok() && (*all)[0].size() == kBig && (*all)[0].back() == std::byte{0x5a} &&
             (*all)[b.size() - 1].empty(),
         "4 MiB allgather: " + (all.ok() ? std::string("wrong parts") : all.status().to_string()));
  expect(b.barrier().ok(), "barrier");
}

// Every rank must refuse the exchange and name the rank at fault, and none may be left inside
// MPI waiting for the others. The span is never read: the size alone is refused.
void check_oversized_contribution(Bootstrap& b) {
  static const std::byte anything{};
  const ByteSpan mine = b.rank() == 1 ? ByteSpan(&anything, kMaxFrameBytes + 1) : ByteSpan();
  auto all = b.allgather(mine);
  expect(!all.ok() && all.status().code() == StatusCode::kInvalidArgument &&
             all.status().message().find("rank 1: bootstrap contribution of") != std::string::npos,
         "an oversized contribution gave: " + all.status().to_string());
  expect(!b.barrier().ok(), "a failed bootstrap must stay failed");
}

int run(std::string_view mode) {
  BootstrapFlags flags;
  flags.timeout = std::chrono::seconds(mode == "straggler" ? 2 : 60);
  auto config = resolve_bootstrap_config(flags, [](const char* name) { return std::getenv(name); });
  if (!config.ok() || config->kind != "mpi" || config->detected_by != "OMPI_COMM_WORLD_RANK") {
    std::fprintf(stderr, "FAIL: mpirun was not detected: %s\n",
                 config.ok() ? config->kind.c_str() : config.status().to_string().c_str());
    return 1;
  }
  auto bootstrap = MpiBootstrap::create(*config);
  if (!bootstrap.ok()) {
    std::fprintf(stderr, "FAIL: %s\n", bootstrap.status().to_string().c_str());
    return 1;
  }
  Bootstrap& b = **bootstrap;
  my_rank = b.rank();
  if (mode == "straggler") {
    if (b.rank() == 0) return 0;  // its destructor must end the job
    (void)b.allgather({});
    std::fprintf(stderr, "rank %d: FAIL: an allgather completed without rank 0\n", b.rank());
    return 1;
  }
  check_numbers(b);
  if (b.size() >= 3) {
    check_varying_sizes(b);
  } else {
    expect(false, "run this with 3 or more ranks");
  }
  check_many_and_large(b);
  check_oversized_contribution(b);
  if (failures == 0 && b.rank() == 0) std::printf("PASS: mpi bootstrap with %d ranks\n", b.size());
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace fb

int main(int argc, char** argv) { return fb::run(argc > 1 ? argv[1] : "exchange"); }
