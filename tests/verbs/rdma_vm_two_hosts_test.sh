#!/usr/bin/env bash
# The rdma-vm two-hosts test: boots the soft-RoCE lab with two devices on two "hosts" joined
# by a veth link (scripts/rdma-lab.sh --two-hosts) and runs one p2p job whose two local ranks
# each take one device (--ib-dev rxe0,rxe1) with no GID given: each must choose, by route,
# its own device's RoCEv2 IPv4 GID, and the traffic must cross the link. Also runs put with
# immediate and several QPs with moderated completions across the link, and connects the QPs
# with librdmacm (--rdma-cm) for p2p and a checked all-reduce across it.
# Usage: rdma_vm_two_hosts_test.sh RDMA_VM_SCRIPT FABRICBENCH
# Exit status: 0 pass, 77 skipped (the lab cannot run here; reason on stderr), else failure.
set -euo pipefail
vm=$1 fabricbench=$2

"$vm" --check || exit $?

read -r -d '' guest <<GUEST || true
set -e
echo "=== GID choice by route: rank 0 on \$RXE_DEV_A, rank 1 on \$RXE_DEV_B"
before=\$(cat /sys/class/net/\$RXE_NETDEV_A/statistics/tx_bytes)
$fabricbench p2p --transport verbs --ib-dev \$RXE_DEV_A,\$RXE_DEV_B --test latency,bw --sizes 8,64K -n 20 \
  --qps 2 --cq-mod 8 2>&1 | tee /root/p2p.log
after=\$(cat /sys/class/net/\$RXE_NETDEV_A/statistics/tx_bytes)
want_a="verbs rank 0: \$RXE_DEV_A port 1 GID \$RXE_GID_A ::ffff:\$RXE_IP_A RoCEv2 on \$RXE_NETDEV_A to ranks 0,1 (by route to each peer)"
want_b="verbs rank 1: \$RXE_DEV_B port 1 GID \$RXE_GID_B ::ffff:\$RXE_IP_B RoCEv2 on \$RXE_NETDEV_B to ranks 0,1 (by route to each peer)"
grep -qF "\$want_a" /root/p2p.log || { echo "FAIL: expected '\$want_a'"; exit 1; }
grep -qF "\$want_b" /root/p2p.log || { echo "FAIL: expected '\$want_b'"; exit 1; }
echo "link \$RXE_NETDEV_A sent \$((after - before)) bytes during the run"
[ \$((after - before)) -gt 1000000 ] || { echo "FAIL: the traffic did not cross the link"; exit 1; }
echo "=== put with immediate across the link"
$fabricbench p2p --transport verbs --ib-dev \$RXE_DEV_A,\$RXE_DEV_B --test latency --op put --imm --sizes 8,4K -n 200
echo "=== --rdma-cm across the link: p2p, then every all-reduce algorithm, checked"
before=\$(cat /sys/class/net/\$RXE_NETDEV_A/statistics/tx_bytes)
$fabricbench p2p --transport verbs --ib-dev \$RXE_DEV_A,\$RXE_DEV_B --rdma-cm --test latency,bw --sizes 8,64K -n 20 \
  2>&1 | tee /root/cm.log
after=\$(cat /sys/class/net/\$RXE_NETDEV_A/statistics/tx_bytes)
grep -q "qp.connect=rdma_cm" /root/cm.log || { echo "FAIL: the QPs were not connected by rdma_cm"; exit 1; }
[ \$((after - before)) -gt 1000000 ] || { echo "FAIL: the rdma_cm traffic did not cross the link"; exit 1; }
$fabricbench allreduce --transport verbs --ib-dev \$RXE_DEV_A,\$RXE_DEV_B --rdma-cm --np 2 --algo all --sizes 1K,1M -n 5
echo "PASS: each rank chose its own device's IPv4 GID by route; rdma_cm connected across the link"
GUEST

exec "$vm" --two-hosts --timeout 420 -b "$fabricbench" "$guest"
