// The MPI library's own collectives (MPI_Allreduce, MPI_Allgather, MPI_Reduce_scatter_block,
// MPI_Alltoall) run through the same harness as fabricbench's algorithms, under the algorithm
// name "mpi", so both appear side by side in one table and one result document. It needs a
// job started by mpirun or srun (the mpi bootstrap) and host memory.
#pragma once

#include <string>
#include <string_view>

#include "fabricbench/collectives/algorithm.h"
#include "fabricbench/transport/bootstrap.h"

namespace fb {

inline constexpr std::string_view kMpiReference = "mpi";

// Why the reference cannot run this case here, or an empty string.
std::string mpi_reference_unsupported(const CollectiveShape& shape, MemoryKind memory, const Bootstrap& bootstrap);

Status run_mpi_reference(const CollectiveShape& shape, const CollectiveBuffers& buffers);

}  // namespace fb
