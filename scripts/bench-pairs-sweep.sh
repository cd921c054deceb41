#!/usr/bin/env bash
# bench-pairs-sweep.sh - how long a full `fabricbench pairs` sweep takes as the fabric grows:
# for each host count, a fabric lab (scripts/fabric-lab.sh) of that many hosts, one rank per
# host, one sweep; then a table of the rounds and where the time went. A benchmark, not a test:
# it asserts nothing and prints what it measured.
#
#   scripts/bench-pairs-sweep.sh [-b FABRICBENCH] [-n "2 4 8"] [-r RATE] [-p PREFIX] [-- PAIRS_FLAGS...]
#
#   -b FABRICBENCH  the binary (default build/bench/fabricbench)
#   -n "LIST"       host counts (default "2 4 8")
#   -r RATE         every host link's rate in the lab (default 200mbit)
#   -p PREFIX       the lab's namespace prefix (default flsweep)
#   PAIRS_FLAGS     passed to every rank's `fabricbench pairs` (default: --test bw --sizes 1M --window 4 -n 4 -w 1)
#
# Columns:
#   hosts       ranks, one per lab host
#   rounds      rounds of disjoint pairs the sweep ran (the document's fabric.rounds)
#   total_s     the sweep as the document times it (fabric.elapsed_s: barriers included)
#   s/round     total_s / rounds
#   measure_s   time spent measuring: per round, the longest pair's elapsed time (records'
#               per_rank elapsed_s), summed over the rounds; a round's pairs run at once
#   warmup_s    the same for the untimed warm-up iterations (estimated at the timed pace)
#   overhead/r  (total_s - measure_s - warmup_s) / rounds: what a round costs beyond moving
#               data: barriers, endpoint setup, collecting the results
#   wall_s      first rank started to last rank exited (bootstrap and transport setup too)
# Rounds grow as 2(n-1) for a one-directional test (every ordered pair once, in disjoint
# rounds), so s/round stays flat and total_s grows linearly with n when the sweep scales.
#
# Needs root (network namespaces); exit 77 with the reason where the lab cannot run.
set -euo pipefail

PROG=bench-pairs-sweep
here=$(cd "$(dirname "$0")" && pwd)
LAB=$here/fabric-lab.sh
FABRICBENCH=$here/../build/bench/fabricbench
COUNTS="2 4 8"
RATE=200mbit
PREFIX=flsweep
PORT=29500
RUN_TIMEOUT=600
PAIRS_FLAGS=(--test bw --sizes 1M --window 4 -n 4 -w 1)

die() { echo "$PROG: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    -b) FABRICBENCH=$2; shift 2 ;;
    -n) COUNTS=$2; shift 2 ;;
    -r) RATE=$2; shift 2 ;;
    -p) PREFIX=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    --) shift; PAIRS_FLAGS=("$@"); break ;;
    *) die "unknown argument '$1' (--help)" ;;
  esac
done
[ -x "$FABRICBENCH" ] || die "no fabricbench at '$FABRICBENCH' (build it, or give -b PATH)"
for n in $COUNTS; do
  if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 2 ]; then die "-n: host counts must be 2 or more, got '$n'"; fi
done

work=$(mktemp -d /tmp/bench-pairs-sweep.XXXXXX)
trap '"$LAB" down -p "$PREFIX" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

rows=()
for n in $COUNTS; do
  status=0
  "$LAB" up -p "$PREFIX" -n "$n" -r "$RATE" >/dev/null || status=$?
  [ "$status" -eq 0 ] || exit "$status"
  echo "$PROG: $n hosts at $RATE: fabricbench pairs ${PAIRS_FLAGS[*]}" >&2
  start=$(date +%s.%N)
  pids=()
  for ((i = 0; i < n; i++)); do
    timeout -k 5 "$RUN_TIMEOUT" "$LAB" exec -p "$PREFIX" "$i" \
      env UCX_TLS=tcp,self UCX_NET_DEVICES=eth0 \
      "$FABRICBENCH" pairs "${PAIRS_FLAGS[@]}" --label "h$i" --quiet \
        --transport ucx --progress event --no-retest \
        --bootstrap "tcp://10.77.0.1:$PORT" --rank "$i" --size "$n" --token "sweep$$" \
        --json "$work/n$n-rank$i.json" >"$work/n$n-rank$i.log" 2>&1 &
    pids+=("$!")
  done
  failed=0
  for ((i = 0; i < n; i++)); do
    wait "${pids[i]}" || { echo "$PROG: rank $i of $n failed:" >&2; cat "$work/n$n-rank$i.log" >&2; failed=1; }
  done
  wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
  [ "$failed" -eq 0 ] || exit 1
  "$LAB" down -p "$PREFIX" >/dev/null
  rows+=("$(/usr/bin/python3 - "$work/n$n-rank0.json" "$n" "$wall" <<'PY'
import json, sys

doc = json.load(open(sys.argv[1]))
n, wall = int(sys.argv[2]), float(sys.argv[3])
fabric = doc["fabric"]
pairs = [r for r in doc["records"] if r["identity"].get("benchmark") == "pairs" and r.get("status") == "ok"]

# Rounds from the records' order: a round is a run of records whose hosts are disjoint (the
# sweep measures a round's pairs at once and writes them together). Warm-up is not in a
# record's elapsed time; it is estimated at the timed iterations' pace.
measure = warmup = 0.0
hosts_in_round, longest, longest_warmup = set(), 0.0, 0.0
for r in pairs:
    pair = r["identity"]["pair"]
    ends = {pair["from"], pair["to"]}
    if hosts_in_round & ends:
        measure, warmup = measure + longest, warmup + longest_warmup
        hosts_in_round, longest, longest_warmup = set(), 0.0, 0.0
    hosts_in_round |= ends
    elapsed = max(p["elapsed_s"] for p in r["per_rank"])
    if elapsed > longest:
        longest = elapsed
        longest_warmup = elapsed * r.get("warmup", 0) / max(r["iterations"], 1)
measure, warmup = measure + longest, warmup + longest_warmup

rounds = fabric["rounds"]
total = fabric["elapsed_s"]
overhead = (total - measure - warmup) / rounds
print(f"{n} {rounds} {total:.2f} {total / rounds:.3f} {measure:.2f} {warmup:.2f} {overhead:.3f} {wall:.2f}")
PY
)")
done

printf '%-6s %-7s %-9s %-8s %-10s %-9s %-11s %s\n' hosts rounds total_s s/round measure_s warmup_s overhead/r wall_s
for row in "${rows[@]}"; do
  # shellcheck disable=SC2086
  printf '%-6s %-7s %-9s %-8s %-10s %-9s %-11s %s\n' $row
done
