#!/usr/bin/env bash
# The rdma-vm two-host test: boots the soft-RoCE lab VM once with --two-hosts (rxe0 on
# 10.99.0.1 and rxe1 on 10.99.0.2, joined by a veth link that rxe-link shapes) and checks
# that fabricbench over verbs behaves like it would between two RoCE hosts:
#  1. devices and GIDs: with --ib-dev rxe0,rxe1 rank 0 uses rxe0 and rank 1 rxe1 (and the
#     reverse list the reverse), each on its own RoCEv2 IPv4 GID chosen without --gid-index,
#     and the traffic crosses the link (both devices and both link ends count packets);
#     the records name rank 0's device and GID, the counters show the other rank's;
#  2. bandwidth follows a tbf-shaped link: 10mbit gives about twice what 5mbit gives (rates
#     far below what the emulation reaches even on a loaded host, so the shaper decides; best
#     of two runs per rate, and the passive rank sleeps (--progress event) so that it leaves
#     the emulated CPUs to the sender);
#  3. loss: with netem loss 1% an allreduce with --check still passes with no wrong element
#     and the RC retransmission counters moved; on the clean link with a long ACK timeout
#     (the default 67 ms one fires spuriously under TCG) none of them moved.
# The guest only runs the tools and saves their JSON and the rxe/link counters into a shared
# folder; the checks run here on the host.
# Usage: rdma_two_host_test.sh RDMA_VM_SCRIPT FABRICBENCH
# Exit status: 0 pass, 77 skipped (the lab cannot run here; reason on stderr), else failure.
set -euo pipefail
vm=$(readlink -f "$1") fabricbench=$(readlink -f "$2")

# Skip early, with the reason, when the lab cannot be set up on this host.
"$vm" --check || exit $?

work=$(mktemp -d "${TMPDIR:-/tmp}/fabricbench-two-host.XXXXXX")
trap 'rm -rf "$work"' EXIT

read -r -d '' guest <<GUEST || true
set -u
W=$work FB=$fabricbench
env | grep '^RXE_' >"\$W/env"
step() { echo "\$1 \$(cut -d' ' -f1 /proc/uptime)" >>"\$W/steps"; echo "=== \$1"; }
run() {  # run NAME ARGS...: one fabricbench run, JSON in \$W/NAME.json, exit status in \$W/NAME.rc
  local name=\$1 rc=0 t0; shift
  t0=\$(cut -d' ' -f1 /proc/uptime)
  timeout 120 "\$FB" "\$@" --quiet --json "\$W/\$name.json" >"\$W/\$name.log" 2>&1 || rc=\$?
  echo \$rc >"\$W/\$name.rc"
  echo "  \$name: exit \$rc after \$(awk -v a=\$t0 '{ printf "%.1f", \$1 - a }' /proc/uptime)s"
}
pair=(--transport verbs --np 2 --ib-dev rxe0,rxe1)

step devices
run devices-ba p2p --transport verbs --np 2 --ib-dev rxe1,rxe0 --test latency --op send --sizes 8 --iters 20 --warmup 0

step bandwidth
# best of two per rate, alternating: the shaper caps from above, emulation noise only lowers
for rate in 10mbit 5mbit 10mbit 5mbit; do
  rxe-link --rate \$rate >"\$W/bw-\$rate.link"
  i=1; [ -e "\$W/bw-\$rate-1.rc" ] && i=2
  run bw-\$rate-\$i p2p "\${pair[@]}" --gid-index \$RXE_GID_A --test bw --op put --sizes 64K --window 16 --iters 1 \\
      --warmup 1 --progress event --transport-opt timeout=20
  tc -s qdisc show dev \$RXE_NETDEV_A >>"\$W/bw-\$rate.link"
done

step clean
# also the devices check for rxe0,rxe1: its GID is chosen without --gid-index
rxe-link >/dev/null
rxe-counters >"\$W/c1"
run clean allreduce "\${pair[@]}" --sizes 256K --iters 3 --warmup 1 --check on --transport-opt timeout=22
rxe-counters "\$W/c1" >"\$W/clean.counters"

step lossy
rxe-link --loss 1% >"\$W/lossy.link"
rxe-counters >"\$W/c2"
run lossy allreduce "\${pair[@]}" --gid-index \$RXE_GID_A --sizes 256K --iters 3 --warmup 1 --check on --transport-opt timeout=10
rxe-counters "\$W/c2" >"\$W/lossy.counters"
tc -s qdisc show dev \$RXE_NETDEV_A >>"\$W/lossy.link"
step end
GUEST

rc=0
"$vm" --two-hosts --timeout 300 -b "$fabricbench" -s "$work" "$guest" || rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "two-host: the VM run failed (rdma-lab.sh exit $rc)" >&2; exit 1; }

exec /usr/bin/python3 - "$work" <<'CHECK'
import json, sys
from pathlib import Path

work = Path(sys.argv[1])
env = dict(line.split("=", 1) for line in (work / "env").read_text().split())
failures = []
RETRANSMISSION = ("completer_retry_err", "rcvd_seq_err", "out_of_seq_request", "duplicate_request")


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def records(name):
    rc = (work / f"{name}.rc").read_text().strip() if (work / f"{name}.rc").exists() else "missing"
    log = (work / f"{name}.log").read_text(errors="replace").strip() if (work / f"{name}.log").exists() else ""
    check(rc == "0", f"{name}: fabricbench exit status {rc}" + (f"\n{log[-1500:]}" if rc != "0" else ""))
    try:
        document = json.loads((work / f"{name}.json").read_text())
    except (OSError, ValueError) as e:
        check(False, f"{name}: no result file ({e})")
        return []
    result = document.get("records", [])
    for r in result:
        check(r.get("status") == "ok", f"{name}: record {r.get('identity', {}).get('bytes', '?')} B is {r.get('status')}"
              + (f" ({r.get('reason')})" if r.get("status") != "ok" else ""))
    return result


def counter_deltas(name):
    """{'rxe0.sent_pkts': delta, ...} from rxe-counters' diff output (only moved counters)."""
    out = {}
    for line in (work / f"{name}.counters").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = int(float(parts[1]))
    return out


def record_counters(recs):
    """{'rxe0.name': delta} from the records' NIC counters (rank 0's host reads its device), or
    None when records carry none."""
    out, seen = {}, False
    for r in recs:
        for c in r.get("counters", []) or []:
            if c.get("source") != "rdma-hw":
                continue
            seen = True
            for key, value in (c.get("deltas") or {}).items():
                out[f"{c.get('device')}.{key}"] = out.get(f"{c.get('device')}.{key}", 0) + int(value)
    return out if seen else None


def options(rec):
    return rec.get("identity", {}).get("transport_options", {})


# 1. each rank its own device and its own RoCEv2 IPv4 GID, chosen without --gid-index
for name, dev, ip, gid_index in (("clean", "rxe0", env["RXE_IP_A"], env["RXE_GID_A"]),
                                 ("devices-ba", "rxe1", env["RXE_IP_B"], env["RXE_GID_B"])):
    recs = records(name)
    if not recs:
        continue
    o = options(recs[0])
    check(o.get("device") == dev, f"{name}: rank 0 used {o.get('device')}, expected {dev}")
    check(o.get("gid") == f"::ffff:{ip}" and o.get("gid.type") == "RoCEv2" and o.get("gid.index") == gid_index,
          f"{name}: rank 0 chose GID {o.get('gid.index')} {o.get('gid')} {o.get('gid.type')}, "
          f"expected {gid_index} ::ffff:{ip} RoCEv2 (the lab's)")
moved = counter_deltas("clean")
for dev, netdev in (("rxe0", "rxenet0"), ("rxe1", "rxenet1")):
    sent = moved.get(f"{dev}.sent_pkts", 0)
    check(sent >= 100, f"clean: {dev} sent {sent} packets (each rank's device carries its traffic)")
    check(moved.get(f"{netdev}.tx_packets", 0) >= sent > 0,
          f"clean: link end {netdev} sent {moved.get(f'{netdev}.tx_packets', 0)} packets, {dev} {sent} "
          "(the traffic crossed the link instead of looping back inside one device)")

# 2. bandwidth follows the shaper
bw = {}
for rate, bits in (("10mbit", 10e6), ("5mbit", 5e6)):
    runs = []
    for i in (1, 2):
        recs = records(f"bw-{rate}-{i}")
        if recs:
            runs.append(float(recs[0]["bandwidth"]["gbytes_per_s"]) * 8e9)
    if not runs:
        continue
    bw[rate] = max(runs)
    qdisc = " ".join(line.strip() for line in (work / f"bw-{rate}.link").read_text().splitlines() if "Sent" in line)
    # tbf's rate counts headers too (goodput ~94%); its 32 KiB burst can add a little
    check(0.5 * bits <= bw[rate] <= 1.05 * bits,
          f"bw-{rate}: best {bw[rate] / 1e6:.2f} Mbit/s payload on a {bits / 1e6:.0f} Mbit/s link "
          f"(runs: {', '.join(f'{x / 1e6:.2f}' for x in runs)}; qdisc: {qdisc})")
if len(bw) == 2:
    ratio = bw["10mbit"] / bw["5mbit"]
    check(1.5 <= ratio <= 2.5, f"bandwidth 10mbit / 5mbit = {ratio:.2f} (expected about 2)")

# 3. loss: the collective still checks out, and retransmissions happened (and none without loss)
for name, lossy in (("clean", False), ("lossy", True)):
    recs = records(name)
    for r in recs:
        c = r.get("collective", {})
        check(c.get("checked") is True and c.get("wrong") == 0,
              f"{name}: {r.get('identity', {}).get('bytes', '?')} B checked={c.get('checked')} "
              f"#wrong={c.get('wrong')}")
    if not recs:
        continue  # the failure is recorded; counters around a run that did not happen prove nothing
    deltas = record_counters(recs)
    check(deltas is not None, f"{name}: the records carry the device's rdma-hw counter deltas")
    deltas = deltas or {}
    source = "the records' NIC counters"
    retrans = {k: v for k, v in deltas.items() if k.split(".", 1)[-1] in RETRANSMISSION and v}
    if lossy:
        check(sum(retrans.values()) > 0, f"{name}: retransmission counters moved ({source}): {retrans or 'none'}")
    else:
        check(not retrans, f"{name}: no retransmission counter moved ({source}): {retrans or 'none'}")

steps = [line.split() for line in (work / "steps").read_text().splitlines()]
print("guest time per step: " + ", ".join(f"{a[0]} {float(b[1]) - float(a[1]):.1f}s" for a, b in zip(steps, steps[1:])))
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all two-host checks passed")
CHECK
