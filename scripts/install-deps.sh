#!/usr/bin/env bash
# Installs everything fabricbench needs to build, test and compare against its peer tools,
# from Debian 12 packages only. Idempotent: packages already present are left alone.
# slurm-wlm, munge and libpmix-dev are for the one-node Slurm of the mpi tests
# (scripts/slurm-local.sh, which runs its own daemons and leaves any system ones alone;
# Slurm's PMIx plugin loads libpmix.so, which only libpmix-dev provides).
# qemu-system-x86 .. perftest are for the soft-RoCE VM of the rdma-vm tests (scripts/rdma-lab.sh, the
# same list it installs itself) and perftest for scripts/compare-perftest.py, run in that VM.
# iproute2 (ip netns, tc) and iptables are for the fabric lab (scripts/fabric-lab.sh).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ccache
  libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libucx-dev ucx-utils
  libibverbs-dev librdmacm-dev rdma-core ibverbs-utils
  qemu-system-x86 busybox-static kmod cpio xz-utils iproute2 ibverbs-providers rdmacm-utils perftest
  libhwloc-dev hwloc
  libopenmpi-dev openmpi-bin
  slurm-wlm munge libpmix-dev
  iptables
  python3 python3-jsonschema
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
