#include "collective/mpi_reference.h"

#include <climits>

#if FABRICBENCH_HAVE_MPI_BOOTSTRAP
#include <mpi.h>
#endif

namespace fb {

#if FABRICBENCH_HAVE_MPI_BOOTSTRAP
namespace {

bool reduces(CollectiveKind kind) {
  return kind == CollectiveKind::kAllReduce || kind == CollectiveKind::kReduceScatter;
}

// fp16 and bf16 only travel as 16-bit words: MPI has no reduction for them.
MPI_Datatype mpi_type(DataType type) {
  switch (type) {
    case DataType::kFloat32: return MPI_FLOAT;
    case DataType::kFloat64: return MPI_DOUBLE;
    case DataType::kInt32: return MPI_INT32_T;
    case DataType::kFloat16:
    case DataType::kBFloat16: return MPI_UINT16_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_OP_NULL;
}

Status check(int rc, std::string_view call) {
  if (rc == MPI_SUCCESS) return ok_status();
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(rc, text, &length);
  return Status::native("mpi", rc, std::string(text, static_cast<size_t>(length)), call, FB_HERE);
}

}  // namespace

std::string mpi_reference_unsupported(const CollectiveShape& shape, MemoryKind memory, const Bootstrap& bootstrap) {
  if (bootstrap.kind() != "mpi")
    return "the mpi reference runs only in a job started by mpirun or srun (this one uses the " +
           bootstrap.kind() + " bootstrap)";
  if (memory != MemoryKind::kHost) return "the mpi reference takes host memory only";
  if (reduces(shape.kind) && (shape.dtype == DataType::kFloat16 || shape.dtype == DataType::kBFloat16))
    return "MPI has no " + std::string(to_string(shape.dtype)) + " reduction";
  if (shape.count > static_cast<size_t>(INT_MAX)) return "more elements than an MPI count holds";
  return {};
}

Status run_mpi_reference(const CollectiveShape& shape, const CollectiveBuffers& buffers) {
  if (shape.count == 0) return ok_status();
  const MPI_Datatype type = mpi_type(shape.dtype);
  const int block = static_cast<int>(shape.block());
  void* in = const_cast<std::byte*>(buffers.input.data());  // MPI-3 takes const; older headers not
  void* out = buffers.output.data();
  switch (shape.kind) {
    case CollectiveKind::kAllReduce:
      return check(MPI_Allreduce(in, out, static_cast<int>(shape.count), type, mpi_op(shape.op), MPI_COMM_WORLD),
                   "MPI_Allreduce");
    case CollectiveKind::kAllGather:
      return check(MPI_Allgather(in, block, type, out, block, type, MPI_COMM_WORLD), "MPI_Allgather");
    case CollectiveKind::kReduceScatter:
      return check(MPI_Reduce_scatter_block(in, out, block, type, mpi_op(shape.op), MPI_COMM_WORLD),
                   "MPI_Reduce_scatter_block");
    case CollectiveKind::kAllToAll:
      return check(MPI_Alltoall(in, block, type, out, block, type, MPI_COMM_WORLD), "MPI_Alltoall");
  }
  return Status::error(StatusCode::kInternal, "unknown collective", FB_HERE);
}

#else

std::string mpi_reference_unsupported(const CollectiveShape&, MemoryKind, const Bootstrap&) {
  return "this build has no MPI (install libopenmpi-dev: scripts/install-deps.sh, then rebuild)";
}

Status run_mpi_reference(const CollectiveShape&, const CollectiveBuffers&) {
  return Status::error(StatusCode::kUnsupported, "this build has no MPI", FB_HERE);
}

#endif

}  // namespace fb
