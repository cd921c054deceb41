#!/bin/bash
# Runs fabricbench's GPU tests and GPU measurements on a host with a GPU, from binaries built
# elsewhere: scripts/gpu-check.sh BIN_DIR OUT_DIR (results/reference/h200/ came from it). BIN_DIR holds fabricbench, the gpu test
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
      --sizes 1M:256M:x4 --chunk 4M "${common[@]}" --json "$out/cuda-ipc-$collective-np$np.json"
  done
done
step staged-allreduce-np2 60 0 "$fb" allreduce --transport ucx --np 2 --algo ring --sizes 1M:256M:x4 --chunk 4M \
  "${common[@]}" --json "$out/staged-allreduce-np2.json"
step cuda-ipc-every-type 60 0 "$fb" allreduce --transport cuda-ipc --np 4 --algo all --memory cuda \
  --dtype fp32,fp64,fp16,bf16,int32 --op sum,max,min --sizes 0,1001,1M --iters 2 --warmup 1 --quiet \
  --json "$out/cuda-ipc-every-type.json"
step cuda-ipc-corruption 30 1 "$fb" reducescatter --transport cuda-ipc --np 3 --memory cuda --algo ring \
  --sizes 1K --iters 2 --inject-corruption 1:5 --json "$out/cuda-ipc-corruption.json"
echo "failed steps: $failures"
exit $((failures > 0))
