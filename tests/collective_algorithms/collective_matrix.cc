#include "collective_matrix.h"

#include <algorithm>

#include "fabricbench/collectives/element_access.h"
#include "fabricbench/collectives/reduce_values.h"
#include "harness.h"

namespace fb::collective_tests {
namespace {

constexpr std::byte kGuard{0x5a};
constexpr size_t kGuardBytes = 64;  // a multiple of every element size, so alignment holds
constexpr size_t kMaxReported = 4;  // failure messages per rank

// Values for the collectives that only move data (all-gather, all-to-all): small integers in
// [-15, 15], pseudo-random in (rank, index) so that a shifted, swapped or stale block shows.
// (The reductions use ReduceValues, whose results are exact in closed form.)
double moved_value(int rank, size_t index) {
  uint64_t x = static_cast<uint64_t>(rank) * 0x9e3779b97f4a7c15ull + index * 0xbf58476d1ce4e5b9ull + 7;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<double>(static_cast<int>(x % 31) - 15);
}

// Every input and expected output of one case, with one input element optionally corrupted.
class CaseValues {
 public:
  CaseValues(const Case& c, const std::optional<Corruption>& corruption, const ReduceValues& reduce)
      : c_(c), corruption_(corruption), reduce_(reduce) {}

  double input(int rank, size_t index) const {
    const double value = reduces(c_.algorithm->kind) ? reduce_.input(rank, index) : moved_value(rank, index);
    if (!corruption_ || corruption_->rank != rank || corruption_->index != index) return value;
    // Still exact, and it changes every result it goes into: the sums' inputs are >= 0 and
    // their totals within the exact range, so one less stays exact; the largest exact
    // integer is above every max input and its negation below every min input.
    const auto limit = static_cast<double>(exact_integer_limit(c_.dtype));
    if (!reduces(c_.algorithm->kind) || c_.op == ReduceOp::kSum) return value - 1;
    return c_.op == ReduceOp::kMax ? limit : -limit;
  }

  // Output element j of `rank` without the corruption, by the definition of the collective.
  double expected(int rank, size_t j) const {
    const size_t b = c_.block;
    const auto r = static_cast<size_t>(rank);
    switch (c_.algorithm->kind) {
      case CollectiveKind::kAllReduce: return reduce_.expected(j);
      case CollectiveKind::kReduceScatter: return reduce_.expected(r * b + j);
      case CollectiveKind::kAllGather: return moved_value(static_cast<int>(j / b), j % b);
      case CollectiveKind::kAllToAll: return moved_value(static_cast<int>(j / b), r * b + j % b);
    }
    return 0;
  }

 private:
  const Case& c_;
  const std::optional<Corruption>& corruption_;
  const ReduceValues& reduce_;
};

bool guards_intact(const std::vector<std::byte>& store, size_t used_from, size_t used_bytes) {
  for (size_t i = 0; i < store.size(); ++i)
    if ((i < used_from || i >= used_from + used_bytes) && store[i] != kGuard) return false;
  return true;
}

std::string format_value(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

bool can_run_in_place(CollectiveKind kind) {
  return kind == CollectiveKind::kAllReduce || kind == CollectiveKind::kAllGather;
}

bool reduces(CollectiveKind kind) {
  return kind == CollectiveKind::kAllReduce || kind == CollectiveKind::kReduceScatter;
}

// Built with append: GCC 12 warns falsely (-Wrestrict) on `"literal" + std::to_string(...)`.
std::string describe(const Case& c, int ranks) {
  std::string s(to_string(c.algorithm->kind));
  s.append("/").append(c.algorithm->name).append(" ").append(to_string(c.dtype));
  if (reduces(c.algorithm->kind)) s.append(" ").append(to_string(c.op));
  s.append(" count ").append(std::to_string(c.block * static_cast<size_t>(ranks)));
  s.append(" on ").append(std::to_string(ranks)).append(" ranks");
  if (c.in_place) s.append(" in place");
  return s;
}

std::string join(const std::vector<size_t>& indices) {
  std::string s;
  for (size_t i : indices) s.append(" ").append(std::to_string(i));
  return s;
}

std::vector<size_t> elements_changed_by(const Case& c, int rank, const Corruption& corruption) {
  const size_t b = c.block;
  const size_t e = corruption.index;
  const auto r = static_cast<size_t>(rank);
  const auto from = static_cast<size_t>(corruption.rank);
  switch (c.algorithm->kind) {
    case CollectiveKind::kAllReduce: return {e};                 // the same element everywhere
    case CollectiveKind::kAllGather: return {from * b + e};      // the corrupted rank's block
    case CollectiveKind::kReduceScatter:                         // one element of one rank
      return e / b == r ? std::vector<size_t>{e % b} : std::vector<size_t>{};
    case CollectiveKind::kAllToAll:                              // block `from` of rank e / b
      return e / b == r ? std::vector<size_t>{from * b + e % b} : std::vector<size_t>{};
  }
  return {};
}

RankBuffers::RankBuffers(size_t max_count, size_t max_scratch)
    : input_(max_count * 8 + 2 * kGuardBytes),
      output_(max_count * 8 + 2 * kGuardBytes),
      scratch_(max_scratch + 2 * kGuardBytes) {}

Status RankBuffers::run(const Communicator& comm, const Case& c, const std::optional<Corruption>& corruption,
                        std::vector<std::string>& failures, std::vector<size_t>* wrong_elements) {
  const int ranks = comm.size();
  const int rank = comm.rank();
  const CollectiveShape shape{c.algorithm->kind, c.dtype, c.op, ranks, c.block * static_cast<size_t>(ranks)};
  const size_t scratch_bytes = c.algorithm->scratch_bytes(shape);
  if (scratch_bytes + 2 * kGuardBytes > scratch_.size())
    return Status::error(StatusCode::kInternal, "test scratch too small for " + describe(c, ranks), FB_HERE);
  std::fill(input_.begin(), input_.end(), kGuard);
  std::fill(output_.begin(), output_.end(), kGuard);
  std::fill(scratch_.begin(), scratch_.end(), kGuard);

  FB_TRY_ASSIGN(const ReduceValues reduce, ReduceValues::make(c.dtype, c.op, ranks));
  const CaseValues values(c, corruption, reduce);
  // Elements the collective does not write keep a value no case expects: exact in every type
  // and above every ReduceValues result for 8 ranks (< 1600) and every moved value.
  constexpr double kUnwritten = 2000;
  std::byte* output = output_.data() + kGuardBytes;
  for (size_t j = 0; j < shape.output_count(); ++j) store_value(output, j, c.dtype, kUnwritten);
  // In place, the input lives in the output: all of it (all-reduce) or block `rank` (all-gather).
  std::byte* input = input_.data() + kGuardBytes;
  if (c.in_place)
    input = output + (shape.kind == CollectiveKind::kAllGather
                          ? static_cast<size_t>(rank) * shape.input_bytes() : 0);
  for (size_t i = 0; i < shape.input_count(); ++i) store_value(input, i, c.dtype, values.input(rank, i));

  const CollectiveBuffers buffers{{input, shape.input_bytes()},
                                  {output, shape.output_bytes()},
                                  {scratch_.data() + kGuardBytes, scratch_bytes}};
  Status ran = c.algorithm->run(comm, shape, buffers);
  if (!ran.ok()) return ran.with_context(describe(c, ranks));

  std::vector<std::string> problems;
  size_t wrong = 0;
  std::string first_wrong;
  for (size_t j = 0; j < shape.output_count(); ++j) {
    const double got = load_value(output, j, c.dtype);
    const double want = values.expected(rank, j);
    if (got == want) continue;
    if (wrong_elements) wrong_elements->push_back(j);
    if (wrong++ == 0)
      first_wrong = "the first is element " + std::to_string(j) + ": " + format_value(got) + " where " +
                    format_value(want) + " was expected";
  }
  // With wrong_elements the caller judges them; everything else is reported either way.
  if (wrong > 0 && !wrong_elements)
    problems.push_back(std::to_string(wrong) + " of " + std::to_string(shape.output_count()) +
                       " output elements wrong, " + first_wrong);
  if (!guards_intact(output_, kGuardBytes, shape.output_bytes()))
    problems.push_back("wrote outside the output");
  if (!c.in_place) {
    if (!guards_intact(input_, kGuardBytes, shape.input_bytes())) problems.push_back("wrote outside the input");
    for (size_t i = 0; i < shape.input_count(); ++i)
      if (load_value(input, i, c.dtype) != values.input(rank, i)) {
        problems.push_back("changed input element " + std::to_string(i));
        break;
      }
  }
  if (!guards_intact(scratch_, kGuardBytes, scratch_bytes))
    problems.push_back("wrote outside the " + std::to_string(scratch_bytes) + "-byte scratch buffer");
  if (!problems.empty() && failures.size() < kMaxReported) {
    std::string message = describe(c, ranks) + ", rank " + std::to_string(rank) + ":";
    for (const auto& p : problems) message += " " + p + ";";
    failures.push_back(message);
  }
  return {};
}

CommunicatorOptions test_options(size_t window, size_t chunk_bytes) {
  CommunicatorOptions options;
  options.chunk_bytes = chunk_bytes;
  options.window = window;
  options.timeout = std::chrono::milliseconds(10'000);
  return options;
}

Status run_matrix(Context& context, const Matrix& matrix, std::vector<std::string>& failures, size_t& cases) {
  const int ranks = context.size();
  const size_t max_block = *std::max_element(matrix.block_sizes.begin(), matrix.block_sizes.end());
  const size_t max_count = max_block * static_cast<size_t>(ranks);
  size_t max_scratch = 0;
  for (const Algorithm* algorithm : AlgorithmRegistry::instance().all())
    max_scratch = std::max(max_scratch, algorithm->scratch_bytes({algorithm->kind, DataType::kFloat64,
                                                                  ReduceOp::kSum, ranks, max_count}));
  RankBuffers buffers(max_count, max_scratch);
  for (size_t window : matrix.windows) {
    FB_TRY_ASSIGN(auto comm,
                  Communicator::create(context, MemoryKind::kHost, test_options(window, matrix.chunk_bytes)));
    for (const Algorithm* algorithm : AlgorithmRegistry::instance().all()) {
      const bool reducing = reduces(algorithm->kind);
      for (DataType dtype : matrix.dtypes)
        for (ReduceOp op : reducing ? matrix.ops : std::vector<ReduceOp>{ReduceOp::kSum})
          for (size_t block : matrix.block_sizes)
            for (int in_place = 0; in_place < (matrix.in_place && can_run_in_place(algorithm->kind) ? 2 : 1);
                 ++in_place) {
              FB_TRY(buffers.run(comm, {algorithm, dtype, op, block, in_place == 1}, std::nullopt, failures));
              ++cases;
            }
    }
  }
  return {};
}

}  // namespace fb::collective_tests
