#!/usr/bin/env bash
# The rdma-vm test: boots the soft-RoCE lab VM once and runs, inside it, the verbs transport
# tests (conformance suite, with the verbs queue-pair knobs, + device tests), p2p runs over
# verbs (send, with the records' rxe0 counters checked; put with immediate; put/get over
# several QPs with moderated completions), an allreduce, allgather, reducescatter and
# alltoall with 4 ranks (every algorithm, checked), the same with the QPs connected by
# librdmacm (--rdma-cm, and ranks that disagree on it), perftest's matching tools as the
# peer numbers for the same boot, and last the port-down test (it takes the device's network
# interface down and up again).
# Usage: rdma_vm_test.sh RDMA_VM_SCRIPT TRANSPORT_TESTS DEVICE_TESTS FABRICBENCH
# Exit status: 0 pass, 77 skipped (the lab cannot run here; reason on stderr), else failure.
set -euo pipefail
vm=$1 transport_tests=$2 device_tests=$3 fabricbench=$4

# Skip early, with the reason, when the lab cannot be set up on this host.
"$vm" --check || exit $?

read -r -d '' guest <<GUEST || true
set -e
echo "=== rdma link"; rdma link show
echo "=== verbs device tests"
$device_tests
echo "=== transport conformance suite on verbs"
$transport_tests --gtest_filter='*/verbs'
echo "=== fabricbench p2p over verbs"
$fabricbench p2p --transport verbs --test latency,bw --sizes 8:64K:x8 --json p2p-verbs.json
echo "=== the records carry rxe0's hw counters (rxe has no ports/1/counters: no rdma-port block)"
grep -q '"source": "rdma-hw"' p2p-verbs.json
grep -q '"device": "rxe0"' p2p-verbs.json
if grep -q '"source": "rdma-port"' p2p-verbs.json; then echo "rxe0 has no port counters, yet a block"; exit 1; fi
echo "=== fabricbench p2p: put latency polling the last byte, then with immediate (waits for the notification)"
$fabricbench p2p --transport verbs --test latency --op put --sizes 8,4K -n 500
$fabricbench p2p --transport verbs --test latency,bw --op put --imm --sizes 8,4K -n 500
echo "=== fabricbench p2p: put and get bw, 1 QP, then 4 QPs per peer with a completion every 16th WR"
$fabricbench p2p --transport verbs --test bw --op put --sizes 64K -n 10
$fabricbench p2p --transport verbs --test bw --op put --qps 4 --cq-mod 16 --sizes 8,64K -n 10
$fabricbench p2p --transport verbs --test bw --op get --qps 4 --cq-mod 16 --sizes 64K -n 10
echo "=== fabricbench allreduce over verbs"
$fabricbench allreduce --transport verbs --np 2 --sizes 8,64K --algo all
echo "=== the other collectives over verbs, 4 ranks, every algorithm, checked"
for collective in allgather reducescatter alltoall; do
  $fabricbench \$collective --transport verbs --np 4 --sizes 4K --algo all -n 5
done
echo "=== --rdma-cm: QPs connected by librdmacm (p2p send and put, a 3-rank allreduce), and ranks that disagree"
$fabricbench p2p --transport verbs --rdma-cm --test latency,bw --op put --sizes 8,64K -n 10 --json p2p-cm.json
grep -q '"qp.connect": "rdma_cm"' p2p-cm.json
$fabricbench p2p --transport verbs --rdma-cm --test latency --sizes 8,4K -n 200
$fabricbench allreduce --transport verbs --rdma-cm --np 3 --sizes 8,64K --algo ring
$fabricbench p2p --transport verbs --bootstrap tcp://127.0.0.1:29517 --rank 0 --size 2 --rdma-cm -n 5 >cm0.log 2>&1 &
if $fabricbench p2p --transport verbs --bootstrap tcp://127.0.0.1:29517 --rank 1 --size 2 -n 5 >cm1.log 2>&1; then
  echo "a rank without --rdma-cm ran with one that had it"; exit 1; fi
wait \$! || true
grep -q 'give every rank the same --rdma-cm' cm1.log
echo "=== perftest in the same boot (peer numbers)"
pt() {
  t=\$1; shift
  \$t -d \$RXE_DEV -x \$RXE_GID -F "\$@" >/tmp/srv.log 2>&1 &
  s=\$!; sleep 1
  \$t -d \$RXE_DEV -x \$RXE_GID -F "\$@" 127.0.0.1 | grep -E '^ *[0-9]+ +[0-9]+' || true
  wait \$s || true
}
echo "ib_write_lat 8 B (bytes iters t_min t_max t_typical t_avg t_stdev 99% 99.9%)"; pt ib_write_lat -s 8 -n 1000
echo "ib_send_lat 8 B"; pt ib_send_lat -s 8 -n 1000
echo "ib_write_bw 64 KiB (bytes iters BW_peak BW_avg Gb/s msg_rate)"; pt ib_write_bw --report_gbits -s 65536 -n 1000
echo "=== port down: the async event reaches the next operation"
FABRICBENCH_PORT_DOWN_TEST=1 $device_tests --gtest_filter='*PortDown*'
GUEST

exec "$vm" --timeout 540 -b "$transport_tests" -b "$device_tests" -b "$fabricbench" "$guest"
