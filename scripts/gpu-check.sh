#!/bin/bash
# Runs fabricbench's GPU tests and GPU measurements on a host with a GPU, from binaries built
# elsewhere: scripts/gpu-check.sh BIN_DIR OUT_DIR (results/reference/ came from it). BIN_DIR holds fabricbench, the gpu test
# binaries and cuda_reduce_micro (and, optionally, lib/ with shared libraries the host lacks).
# Every step has its own time limit and log; a failing step does not stop the others. Results
# (JSON documents, google/benchmark JSON, logs) land in OUT_DIR.
set -uo pipefail
bin=${1:?usage: scripts/gpu-check.sh BIN_DIR OUT_DIR}
out=${2:?usage: scripts/gpu-check.sh BIN_DIR OUT_DIR}
mkdir -p "$out"
[ -d "$bin/lib" ] && export LD_LIBRARY_PATH="$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
failures=0

step() {  # step NAME SECONDS EXPECTED_EXIT COMMAND...
  local name=$1 limit=$2 expected=$3
  shift 3
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local verdict=ok
  [ "$rc" -eq "$expected" ] || { verdict=FAILED; failures=$((failures + 1)); }
  echo "$verdict $name: exit $rc (expected $expected) in $((SECONDS - start)) s"
}

nvidia-smi --query-gpu=index,name,pci.bus_id,memory.total,driver_version --format=csv > "$out/gpus.csv" 2>&1
nvidia-smi topo -m > "$out/gpu-topology.txt" 2>&1
cat "$out/gpus.csv"

step gpu_memory_reduce_tests 60 0 "$bin/gpu_memory_reduce_tests" --gtest_brief=1
step gpu_values_tests 60 0 "$bin/gpu_values_tests" --gtest_brief=1
step gpu_cuda_ipc_tests 120 0 "$bin/gpu_cuda_ipc_tests" --gtest_brief=1
step cuda_reduce_micro 90 0 "$bin/cuda_reduce_micro" --benchmark_out="$out/cuda_reduce_micro.json" \
  --benchmark_out_format=json

fb="$bin/fabricbench"
common=(--memory cuda --iters 10 --warmup 2 --quiet)
for np in 2 4; do
  for collective in allreduce allgather; do
    step "cuda-ipc-$collective-np$np" 60 0 "$fb" "$collective" --transport cuda-ipc --np "$np" --algo all \
      --sizes 1M:256M:x4 "${common[@]}" --json "$out/cuda-ipc-$collective-np$np.json"
  done
done
# The staged path's limit is pinned host <-> device copy bandwidth (cuda_reduce_micro's
# memcpy_{h2d,d2h}_pinned above, same run), and the same runs on host memory, with the chunk
# device memory gets by default, show what UCX itself moves between the processes.
for collective in allreduce allgather; do
  step "staged-$collective-np2" 60 0 "$fb" "$collective" --transport ucx --np 2 --algo ring --sizes 1M:256M:x4 \
    "${common[@]}" --json "$out/staged-$collective-np2.json"
  step "ucx-host-$collective-np2" 60 0 "$fb" "$collective" --transport ucx --np 2 --algo ring --sizes 1M:256M:x4 \
    --chunk 16M --iters 10 --warmup 2 --quiet --json "$out/ucx-host-$collective-np2.json"
done
step cuda-ipc-every-type 60 0 "$fb" allreduce --transport cuda-ipc --np 4 --algo all --memory cuda \
  --dtype fp32,fp64,fp16,bf16,int32 --op sum,max,min --sizes 0,1001,1M --iters 2 --warmup 1 --quiet \
  --json "$out/cuda-ipc-every-type.json"
# The collectives that only move data, and reduce-scatter, on device memory in every type the
# CLI takes (the gpu tests cover the same matrix from inside; this is what an operator runs).
every_type=(--transport cuda-ipc --np 4 --algo all --memory cuda --dtype fp32,fp64,fp16,bf16,int32 --sizes 0,1001,1M
  --iters 2 --warmup 1 --quiet)
step cuda-ipc-reducescatter-every-type 60 0 "$fb" reducescatter "${every_type[@]}" --op sum,max,min \
  --json "$out/cuda-ipc-reducescatter-every-type.json"
for collective in allgather alltoall; do
  step "cuda-ipc-$collective-every-type" 60 0 "$fb" "$collective" "${every_type[@]}" \
    --json "$out/cuda-ipc-$collective-every-type.json"
done
for collective in allreduce allgather reducescatter alltoall; do
  step "staged-$collective-checked" 60 0 "$fb" "$collective" --transport ucx --np 4 --algo all --memory cuda \
    --dtype fp32,bf16 --sizes 0,1001,1M --iters 2 --warmup 1 --quiet --json "$out/staged-$collective-checked.json"
done
step cuda-ipc-corruption 30 1 "$fb" reducescatter --transport cuda-ipc --np 3 --memory cuda --algo ring \
  --sizes 1K --iters 2 --inject-corruption 1:5 --json "$out/cuda-ipc-corruption.json"
# Message latency between two processes on the GPU, then the cuda-ipc runs again under MPS (one
# shared GPU context for every process) where the host has it: with several processes on one GPU
# and no MPS, the GPU switches between their contexts at every hand-over, and the difference
# between the two runs is that cost.
p2p=(p2p --transport cuda-ipc --np 2 --memory cuda --test latency,bw --sizes 8,64K,1M,16M --iters 50 --warmup 5)
step cuda-ipc-p2p 60 0 "$fb" "${p2p[@]}" --quiet --json "$out/cuda-ipc-p2p.json"
if command -v nvidia-cuda-mps-control > /dev/null; then
  export CUDA_MPS_PIPE_DIRECTORY=$(mktemp -d) CUDA_MPS_LOG_DIRECTORY=$(mktemp -d)
  if nvidia-cuda-mps-control -d; then
    echo "MPS daemon started (pipes in $CUDA_MPS_PIPE_DIRECTORY)"
    step cuda-ipc-p2p-mps 60 0 "$fb" "${p2p[@]}" --quiet --json "$out/cuda-ipc-p2p-mps.json"
    for np in 2 4; do
      for collective in allreduce allgather; do
        step "cuda-ipc-$collective-np$np-mps" 60 0 "$fb" "$collective" --transport cuda-ipc --np "$np" --algo all \
          --sizes 1M:256M:x4 "${common[@]}" --json "$out/cuda-ipc-$collective-np$np-mps.json"
      done
    done
    echo quit | nvidia-cuda-mps-control
    sleep 1
    cp "$CUDA_MPS_LOG_DIRECTORY"/control.log "$out/mps-control.log" 2> /dev/null
  else
    echo "MPS daemon did not start: the MPS comparison is skipped"
  fi
  unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
else
  echo "no nvidia-cuda-mps-control on this host: the MPS comparison is skipped"
fi
echo "failed steps: $failures"
exit $((failures > 0))
