# Detects the optional parts and records, for `fabricbench list`, why a part was left out.
# A missing optional part is a message, never a configure failure (unless asked for with ON).

set(FABRICBENCH_NOT_BUILT "")
set(FABRICBENCH_PARTS_SUMMARY "")

function(fabricbench_optional_part name mode found reason_if_missing)
  string(TOUPPER "${mode}" mode)
  if(mode STREQUAL "OFF")
    set(enabled FALSE)
    set(reason "disabled at configure time (-DFABRICBENCH_WITH_${name}=OFF)")
  elseif(${found})
    set(enabled TRUE)
    set(reason "")
  elseif(mode STREQUAL "ON")
    message(FATAL_ERROR "FABRICBENCH_WITH_${name}=ON but ${reason_if_missing}")
  else()
    set(enabled FALSE)
    set(reason "${reason_if_missing}")
  endif()
  set(FABRICBENCH_HAVE_${name} ${enabled} PARENT_SCOPE)
  if(enabled)
    set(FABRICBENCH_PARTS_SUMMARY "${FABRICBENCH_PARTS_SUMMARY};${name}: yes" PARENT_SCOPE)
  else()
    set(FABRICBENCH_PARTS_SUMMARY "${FABRICBENCH_PARTS_SUMMARY};${name}: no (${reason})" PARENT_SCOPE)
    set(FABRICBENCH_NOT_BUILT "${FABRICBENCH_NOT_BUILT};${name}|${reason}" PARENT_SCOPE)
  endif()
endfunction()

# UCX
pkg_check_modules(UCX QUIET IMPORTED_TARGET ucx)
fabricbench_optional_part(UCX "${FABRICBENCH_WITH_UCX}" UCX_FOUND
  "UCX development files not found (install libucx-dev: scripts/install-deps.sh)")

# RDMA verbs
find_path(IBVERBS_INCLUDE_DIR infiniband/verbs.h)
find_library(IBVERBS_LIBRARY ibverbs)
# librdmacm (rdma-core, beside libibverbs) connects the QPs with --rdma-cm.
find_path(RDMACM_INCLUDE_DIR rdma/rdma_cma.h)
find_library(RDMACM_LIBRARY rdmacm)
if(IBVERBS_INCLUDE_DIR AND IBVERBS_LIBRARY AND RDMACM_INCLUDE_DIR AND RDMACM_LIBRARY)
  set(IBVERBS_FOUND TRUE)
  # The version is only recorded in results; rdma-core's pkg-config file carries it.
  pkg_check_modules(IBVERBS_PC QUIET libibverbs)
  if(IBVERBS_PC_FOUND)
    set(IBVERBS_VERSION "${IBVERBS_PC_VERSION}")
  endif()
endif()
fabricbench_optional_part(VERBS "${FABRICBENCH_WITH_VERBS}" IBVERBS_FOUND
  "libibverbs or librdmacm development files not found (install libibverbs-dev librdmacm-dev: scripts/install-deps.sh)")

# CUDA: not a Debian package; look where the toolkit is usually installed.
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
find_package(CUDAToolkit QUIET)
fabricbench_optional_part(CUDA "${FABRICBENCH_WITH_CUDA}" CUDAToolkit_FOUND
  "CUDA toolkit not found (install it under /usr/local/cuda or set CUDAToolkit_ROOT)")

# MPI
find_package(MPI QUIET COMPONENTS CXX)
fabricbench_optional_part(MPI "${FABRICBENCH_WITH_MPI}" MPI_CXX_FOUND
  "MPI not found (install libopenmpi-dev: scripts/install-deps.sh)")

function(fabricbench_report_optional_parts)
  message(STATUS "fabricbench optional parts:")
  foreach(line IN LISTS FABRICBENCH_PARTS_SUMMARY)
    if(line)
      message(STATUS "  ${line}")
    endif()
  endforeach()
endfunction()
