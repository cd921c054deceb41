#!/usr/bin/python3
"""Compare fabricbench's verbs numbers with perftest in one boot of the soft-RoCE VM.

Usage:
    /usr/bin/python3 scripts/compare-perftest.py                     # 5 reps, build/bench/fabricbench
    /usr/bin/python3 scripts/compare-perftest.py --reps 3 --json-out cmp.json
    /usr/bin/python3 scripts/compare-perftest.py --fb-arg=--inline --fb-arg=220

It boots scripts/rdma-lab.sh once (soft-RoCE, rxe0, root needed) and, inside, runs three
comparisons, each tool alternately (fabricbench, perftest, fabricbench, perftest, ...; --reps
of each), then takes the median of each tool's repetitions and prints a Markdown table:

    metric                 fabricbench                                  perftest                    target
    8 B RDMA WRITE latency  p2p --test latency --op put -s 8, p50       ib_write_lat -s 8, typical  ratio <= 1.10
    8 B SEND latency        p2p --test latency --op send -s 8, p50      ib_send_lat -s 8, typical   ratio <= 1.10
    64 KiB RDMA WRITE bw    p2p --test bw --op put --window 128         ib_write_bw -t 128          ratio >= 0.90

The table, the VM's CPU count and the exact commands go to stdout; progress (the guest's
output) goes to stderr. --json-out saves every repetition's raw numbers. The exit status is 0
when every comparison ran (whatever the verdicts), 1 when a run failed, 2 for bad arguments,
77 when the VM cannot be had here (the reason is on stderr).

Soft-RoCE is emulated (qemu TCG, rdma_rxe): absolute numbers say nothing about hardware,
only the ratio of the two tools measured in the same boot does.

How the comparison is kept fair, and why
----------------------------------------
Same device, GID and QP type. Both tools use rxe0, the RoCEv2 IPv4 GID index the VM found
($RXE_GID), one RC QP per direction, two processes in the same guest (loopback through the
one rxe device). perftest's out-of-band exchange runs over TCP on 127.0.0.1, fabricbench's
through its local bootstrap; neither is timed.

Same CPU pinning. fabricbench --bind core pins rank 0 (the side that sends first in latency,
the writer in bandwidth) to the guest's CPU 0 and rank 1 to CPU 1. perftest's client is the
side that sends first in ib_*_lat and the writer in ib_write_bw, so it runs under taskset -c 0
and the server under taskset -c 1. Both tools busy-poll (fabricbench --progress poll)
where they have work; see Bandwidth for the side that has none.

Latency: same definition. perftest's t_typical is the median of (iteration time / 2) over
all iterations; fabricbench's records[].latency_us.p50 is the median of round trip / 2.
ib_write_lat is a ping-pong of RDMA WRITEs where each side polls the last byte of its buffer
and waits for its own write's completion before the next; fabricbench p2p --op put latency
does the same. ib_send_lat pre-posts receives and answers each SEND with a SEND; fabricbench
--op send is its tag send/receive (on verbs: a SEND through a registered bounce buffer with a
16-byte header, copied out on arrival). Neither tool warms up for latency (--warmup 0).

Inline. perftest sends small latency messages inline when the device allows it; its header
line "Max inline data" says how much, and the report lists it beside fabricbench's
qp.max_inline (off unless --inline N). With rdma_rxe perftest 4.5 reports 0 B, like fabricbench's
default; on a NIC where perftest inlines, --fb-arg=--inline --fb-arg=N asks fabricbench for the
same.

Bandwidth: same messages in flight and same counts. perftest ib_write_bw keeps up to its TX
depth (-t, default 128) WRITEs posted, sliding; fabricbench --window keeps as many in flight,
reposting each slot as its previous WRITE completes. perftest's -n counts messages,
fabricbench's --iters windows, so fabricbench gets --iters = messages / window. fabricbench asks
for a completion of every WRITE; perftest by its "CQ Moderation" (the report lists it; 1, i.e.
every WRITE, on rdma_rxe). While the writer works, perftest's server sleeps in a TCP read and
fabricbench's passive rank sleeps on the verbs completion channel until the final control
message (it does so under any --progress: a spinning passive rank would take the CPU the
transfer needs; see the README's Performance section). perftest --perform_warm_up posts one TX depth of WRITEs untimed,
fabricbench gets --warmup 1 (one window). perftest's "BW average" counts payload from the first
post to the last completion; fabricbench's gbytes_per_s counts payload over the slower rank's
interval, which ends with a zero-length READ (flush) and a control message. Units: perftest
--report_gbits gives 1e9 bits/s, converted to 1e9 bytes/s (/ 8), fabricbench's unit.

Interleaving and medians. Alternating the tools spreads drifts (other load on the host, vCPUs
moved by the host scheduler) over both; the median ignores a single disturbed run. The paired
ratio (median of per-repetition ratios) is printed too: each pair ran back to back.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LATENCY_TARGET = 1.10  # fabricbench p50 <= 1.10 x perftest typical
BANDWIDTH_TARGET = 0.90  # fabricbench bandwidth >= 0.90 x perftest
SKIP = 77


class RunError(RuntimeError):
    """A tool failed, hung or printed nothing usable."""


@dataclass
class Metric:
    key: str  # file name stem in the guest
    label: str
    unit: str
    higher_is_better: bool
    target: float
    fabricbench_args: list[str]
    perftest_tool: str
    perftest_args: list[str]


@dataclass
class Settings:
    fabricbench: str
    vm: str
    reps: int
    lat_bytes: int
    lat_iters: int
    bw_bytes: int
    bw_messages: int
    window: int
    fb_args: list[str]
    vm_args: list[str]
    timeout_s: int


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def size_label(n: int) -> str:
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} B"


def metrics(s: Settings) -> list[Metric]:
    lat = ["--test", "latency", "--sizes", str(s.lat_bytes), "--iters", str(s.lat_iters), "--warmup", "0"]
    lat_pt = ["-s", str(s.lat_bytes), "-n", str(s.lat_iters)]
    return [
        Metric("write_lat", f"{size_label(s.lat_bytes)} RDMA WRITE latency", "us", False, LATENCY_TARGET,
               lat + ["--op", "put"], "ib_write_lat", lat_pt),
        Metric("send_lat", f"{size_label(s.lat_bytes)} SEND latency", "us", False, LATENCY_TARGET,
               lat + ["--op", "send"], "ib_send_lat", lat_pt),
        Metric("write_bw", f"{size_label(s.bw_bytes)} RDMA WRITE bandwidth", "GB/s", True, BANDWIDTH_TARGET,
               ["--test", "bw", "--op", "put", "--sizes", str(s.bw_bytes), "--window", str(s.window),
                "--iters", str(s.bw_messages // s.window), "--warmup", "1"],
               "ib_write_bw", ["-s", str(s.bw_bytes), "-n", str(s.bw_messages), "-t", str(s.window),
                               "--report_gbits", "--perform_warm_up"]),
    ]


# --- the guest script ------------------------------------------------------------------------

# Runs inside the VM (bash, as root). $W is the shared work folder; every run leaves its output
# there and one "STATUS <file> <rc>" line in $W/status, so the host sees what failed and why.
GUEST_PRELUDE = r"""
set -u
W=%(workdir)s
FB=%(fabricbench)s
: >"$W/status"
echo "=== guest: $(uname -r), $(nproc) vCPUs, $RXE_DEV GID index $RXE_GID ($RXE_IP)"
nproc >"$W/cpus"
echo "$RXE_GID" >"$W/gid"
# perftest's server listens on TCP 18515 (0x4853); start the client only once it does
listening() { grep -q ':4853 00000000:0000 0A' /proc/net/tcp; }
fb() {  # fb OUT ARGS...: one fabricbench run, its JSON in $W/OUT.json
  local out=$1 rc=0; shift
  rm -f "$W/$out.json"
  timeout %(timeout)d "$FB" p2p --transport verbs --ib-dev "$RXE_DEV" --gid-index "$RXE_GID" \
    --np 2 --bind core --progress poll --json "$W/$out.json" --quiet "$@" >"$W/$out.log" 2>&1 || rc=$?
  echo "STATUS $out $rc" >>"$W/status"
  echo "  $out: fabricbench rc=$rc"
}
pt_once() {  # pt_once OUT TOOL ARGS...: server on CPU 1, client on CPU 0, client output in $W/OUT.txt
  local out=$1 tool=$2 rc=0 s i; shift 2
  for i in $(seq 100); do listening || break; sleep 0.1; done  # the previous server is gone
  taskset -c 1 timeout %(timeout)d $tool -d "$RXE_DEV" -x "$RXE_GID" -F "$@" >"$W/$out.server" 2>&1 &
  s=$!
  for i in $(seq 100); do listening && break; kill -0 $s 2>/dev/null || break; sleep 0.1; done
  taskset -c 0 timeout %(timeout)d $tool -d "$RXE_DEV" -x "$RXE_GID" -F "$@" 127.0.0.1 >"$W/$out.txt" 2>&1 || rc=$?
  wait $s || rc=$((rc ? rc : $?))
  return $rc
}
# perftest converts cycles to microseconds with a CPU clock rate it estimates at start; under
# emulation the estimate sometimes fails ("Correlation coefficient r^2 ... < 0.9") and the
# latency columns read inf/nan: such a run is repeated, up to 3 attempts, and counted.
pt() {  # pt OUT TOOL ARGS...
  local out=$1 rc=0 attempt; shift
  for attempt in 1 2 3; do
    rc=0; pt_once "$out" "$@" || rc=$?
    [ $rc = 0 ] && ! grep -qiE '^ *[0-9]+ +[0-9]+ .*(inf|nan)' "$W/$out.txt" && break
    cp "$W/$out.txt" "$W/$out.attempt$attempt"
  done
  echo "STATUS $out $rc" >>"$W/status"
  echo "ATTEMPTS $out $attempt" >>"$W/status"
  echo "  $out: perftest rc=$rc (attempt $attempt)"
}
"""


def guest_script(s: Settings, workdir: str) -> str:
    lines = [GUEST_PRELUDE % {"workdir": shlex.quote(workdir), "fabricbench": shlex.quote(s.fabricbench),
                              "timeout": s.timeout_s}]
    for rep in range(1, s.reps + 1):
        for m in metrics(s):
            lines.append(f'echo "=== {m.key} rep {rep}/{s.reps}"')
            lines.append(shlex.join(["fb", f"fb-{m.key}-{rep}", *m.fabricbench_args, *s.fb_args]))
            lines.append(shlex.join(["pt", f"pt-{m.key}-{rep}", m.perftest_tool, *m.perftest_args]))
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


# --- reading the results ---------------------------------------------------------------------


@dataclass
class Sample:
    value: float
    raw: dict = field(default_factory=dict)


def read_fabricbench(path: Path, metric: Metric) -> Sample:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RunError(f"no fabricbench result in {path.name}: {e}") from e
    records = document.get("records") or []
    if len(records) != 1:
        raise RunError(f"{path.name}: fabricbench wrote {len(records)} records, expected 1")
    record = records[0]
    if record.get("status") != "ok":
        raise RunError(f"{path.name}: record is {record.get('status')}: {record.get('reason')}")
    if metric.higher_is_better:
        value = float(record["bandwidth"]["gbytes_per_s"])
    else:
        value = float(record["latency_us"]["p50"])
    raw = {
        "latency_us": record.get("latency_us"),
        "bandwidth": record.get("bandwidth"),
        "iterations": record.get("iterations"),
        "warmup": record.get("warmup"),
        "window": record.get("window"),
        "transport_options": record.get("identity", {}).get("transport_options", {}),
    }
    return Sample(value, raw)


# perftest's result row: "#bytes #iterations" then the numbers, e.g.
#   ib_*_lat: 8 1000 t_min t_max t_typical t_avg t_stdev 99% 99.9%   (usec)
#   ib_write_bw --report_gbits: 65536 2000 BW_peak BW_average MsgRate   (Gb/s, Mpps)
ROW = re.compile(r"^\s*(\d+)\s+(\d+)((?:\s+[-+0-9.eE]+)+)\s*$")
LAT_COLUMNS = ["t_min", "t_max", "t_typical", "t_avg", "t_stdev", "p99", "p99_9"]
BW_COLUMNS = ["bw_peak_gbit", "bw_avg_gbit", "msg_rate_mpps"]
HEADER_FIELDS = re.compile(r"^\s*(Max inline data|TX depth|CQ Moderation|Mtu|Link type|Data ex\. method)\s*:\s*(.+?)\s*$")


def parse_perftest(text: str, metric: Metric, expected_bytes: int) -> dict:
    row = None
    header = {}
    for line in text.splitlines():
        if match := HEADER_FIELDS.match(line):
            header.setdefault(match.group(1), match.group(2))
        match = ROW.match(line)
        if match and int(match.group(1)) == expected_bytes:
            row = [float(x) for x in match.group(3).split()]
    if row is None:
        raise RunError("no result row in perftest's output:\n" + text.strip()[-1500:])
    columns = BW_COLUMNS if metric.higher_is_better else LAT_COLUMNS
    if len(row) < len(columns):
        raise RunError(f"perftest's result row has {len(row)} numbers, expected {len(columns)}: {row}")
    parsed = dict(zip(columns, row))
    if not all(math.isfinite(v) for v in parsed.values()):
        raise RunError("perftest printed non-finite numbers (its CPU clock estimate failed):\n" + text.strip()[-800:])
    parsed["header"] = header
    return parsed


def read_perftest(path: Path, metric: Metric, expected_bytes: int) -> Sample:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise RunError(f"no perftest output {path.name}: {e}") from e
    parsed = parse_perftest(text, metric, expected_bytes)
    value = parsed["bw_avg_gbit"] / 8 if metric.higher_is_better else parsed["t_typical"]
    return Sample(value, parsed)


# --- comparison ------------------------------------------------------------------------------


@dataclass
class Comparison:
    metric: Metric
    fabricbench: list[Sample] = field(default_factory=list)
    perftest: list[Sample] = field(default_factory=list)

    def medians(self) -> tuple[float, float]:
        return (statistics.median(x.value for x in self.fabricbench),
                statistics.median(x.value for x in self.perftest))

    def ratio(self) -> float:
        ours, theirs = self.medians()
        return ours / theirs if theirs > 0 else float("inf")

    def paired_ratio(self) -> float:
        ratios = [a.value / b.value for a, b in zip(self.fabricbench, self.perftest) if b.value > 0]
        return statistics.median(ratios) if ratios else float("inf")

    def passed(self) -> bool:
        ratio = self.ratio()
        return ratio >= self.metric.target if self.metric.higher_is_better else ratio <= self.metric.target


def read_statuses(workdir: Path, kind: str = "STATUS") -> dict[str, int]:
    """STATUS: each run's exit status; ATTEMPTS: how many tries a perftest run took."""
    statuses = {}
    for line in (workdir / "status").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == kind:
            statuses[parts[1]] = int(parts[2])
    return statuses


def collect(s: Settings, workdir: Path) -> list[Comparison]:
    statuses = read_statuses(workdir)
    attempts = read_statuses(workdir, "ATTEMPTS")
    comparisons = []
    for m in metrics(s):
        c = Comparison(m)
        expected = s.bw_bytes if m.higher_is_better else s.lat_bytes
        for rep in range(1, s.reps + 1):
            for tool in ("fb", "pt"):
                name = f"{tool}-{m.key}-{rep}"
                rc = statuses.get(name)
                if rc != 0:
                    detail = ""
                    for suffix in (".log", ".txt", ".server"):
                        p = workdir / (name + suffix)
                        if p.exists():
                            detail += f"\n{p.name}: {p.read_text(errors='replace').strip()[-1500:]}"
                    raise RunError(f"{name} {'did not run' if rc is None else f'exited {rc}'}{detail}")
            c.fabricbench.append(read_fabricbench(workdir / f"fb-{m.key}-{rep}.json", m))
            theirs = read_perftest(workdir / f"pt-{m.key}-{rep}.txt", m, expected)
            theirs.raw["attempts"] = attempts.get(f"pt-{m.key}-{rep}", 1)
            c.perftest.append(theirs)
        comparisons.append(c)
    return comparisons


# --- output ----------------------------------------------------------------------------------


def markdown_table(comparisons: list[Comparison]) -> str:
    lines = ["| metric | fabricbench median | perftest median | ratio | paired ratio | target | verdict |",
             "|---|---:|---:|---:|---:|---|---|"]
    for c in comparisons:
        ours, theirs = c.medians()
        sign = ">=" if c.metric.higher_is_better else "<="
        # emulated speeds are small and wide-ranging: significant digits, not decimals
        lines.append(f"| {c.metric.label} | {ours:.4g} {c.metric.unit} | {theirs:.4g} {c.metric.unit} | "
                     f"{c.ratio():.3f} | {c.paired_ratio():.3f} | {sign} {c.metric.target:.2f} | "
                     f"{'PASS' if c.passed() else 'FAIL'} |")
    return "\n".join(lines)


def commands_block(s: Settings, comparisons: list[Comparison]) -> str:
    lines = ["# inside scripts/rdma-lab.sh; perftest server under taskset -c 1, client under taskset -c 0"]
    for c in comparisons:
        m = c.metric
        lines.append(shlex.join(["fabricbench", "p2p", "--transport", "verbs", "--ib-dev", "$RXE_DEV",
                                 "--gid-index", "$RXE_GID", "--np", "2", "--bind", "core", "--progress", "poll",
                                 *m.fabricbench_args, *s.fb_args]).replace("'$RXE_DEV'", "$RXE_DEV")
                     .replace("'$RXE_GID'", "$RXE_GID"))
        pt = shlex.join([m.perftest_tool, "-d", "X", "-x", "Y", "-F", *m.perftest_args])
        pt = pt.replace("-d X -x Y", "-d $RXE_DEV -x $RXE_GID")
        lines.append(f"{pt} &  {pt} 127.0.0.1")
    return "```\n" + "\n".join(lines) + "\n```"


def perftest_notes(comparisons: list[Comparison]) -> list[str]:
    notes = []
    for c in comparisons:
        if not c.perftest:
            continue
        header = c.perftest[0].raw.get("header", {})
        fields = ", ".join(f"{k} {v}" for k, v in header.items() if k in ("Max inline data", "TX depth", "CQ Moderation", "Mtu"))
        options = c.fabricbench[0].raw.get("transport_options", {}) if c.fabricbench else {}
        fb = ", ".join(f"{k}={options[k]}" for k in sorted(options) if any(w in k for w in ("inline", "depth", "mtu")))
        notes.append(f"- {c.metric.perftest_tool}: {fields}" + (f"; fabricbench: {fb}" if fb else ""))
    return notes


def print_report(s: Settings, comparisons: list[Comparison], cpus: str) -> None:
    print(markdown_table(comparisons))
    print()
    print(f"soft-RoCE (rdma_rxe in a qemu VM, {cpus} vCPUs): emulated speed, only the ratio counts. "
          f"Medians of {s.reps} interleaved repetitions per tool, all in one VM boot. "
          "Ratio = fabricbench / perftest of the medians (latency: fabricbench p50 / perftest typical); "
          "paired ratio = median of the per-repetition ratios. Latency is one-way (round trip / 2) in "
          "microseconds; bandwidth is 1e9 bytes/s.")
    retried = sum(x.raw.get("attempts", 1) - 1 for c in comparisons for x in c.perftest)
    if retried:
        print(f"perftest runs repeated because its clock estimate failed (inf/nan): {retried}.")
    notes = perftest_notes(comparisons)
    if notes:
        print()
        print("Settings the tools reported:")
        print("\n".join(notes))
    print()
    print("Commands (one repetition):")
    print(commands_block(s, comparisons))


def json_report(s: Settings, comparisons: list[Comparison], cpus: str) -> dict:
    def samples(values: list[Sample]) -> list[dict]:
        return [{"value": x.value, "raw": x.raw} for x in values]

    return {
        "settings": dict(vars(s)),
        "guest_cpus": cpus,
        "comparisons": [
            {
                "metric": c.metric.key,
                "label": c.metric.label,
                "unit": c.metric.unit,
                "fabricbench_args": c.metric.fabricbench_args + s.fb_args,
                "perftest": [c.metric.perftest_tool, *c.metric.perftest_args],
                "fabricbench_median": c.medians()[0],
                "perftest_median": c.medians()[1],
                "ratio": c.ratio(),
                "paired_ratio": c.paired_ratio(),
                "target": c.metric.target,
                "higher_is_better": c.metric.higher_is_better,
                "verdict": "PASS" if c.passed() else "FAIL",
                "fabricbench_samples": samples(c.fabricbench),
                "perftest_samples": samples(c.perftest),
            }
            for c in comparisons
        ],
    }


# --- arguments -------------------------------------------------------------------------------


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare fabricbench's verbs p2p numbers with perftest in one soft-RoCE VM boot "
                    "(see the module docstring for the fairness choices).")
    parser.add_argument("--fabricbench", default=str(REPO_ROOT / "build/bench/fabricbench"),
                        help="fabricbench binary, built with verbs (default: %(default)s)")
    parser.add_argument("--vm", default=str(REPO_ROOT / "scripts/rdma-lab.sh"),
                        help="the soft-RoCE VM script (default: %(default)s)")
    parser.add_argument("--reps", type=positive_int, default=5,
                        help="repetitions of each tool per comparison (default: %(default)s)")
    parser.add_argument("--lat-bytes", type=positive_int, default=8, help="latency message size (default: %(default)s)")
    parser.add_argument("--lat-iters", type=positive_int, default=1000,
                        help="latency round trips, both tools (default: %(default)s)")
    parser.add_argument("--bw-bytes", type=positive_int, default=65536,
                        help="bandwidth message size (default: %(default)s)")
    parser.add_argument("--bw-messages", type=positive_int, default=1024,
                        help="bandwidth messages: perftest -n; fabricbench --iters = this / window "
                             "(default: %(default)s)")
    parser.add_argument("--window", type=positive_int, default=128,
                        help="WRITEs in flight: perftest -t (its default TX depth), fabricbench --window "
                             "(default: %(default)s)")
    parser.add_argument("--fb-arg", action="append", default=[], metavar="ARG",
                        help="extra fabricbench argument, repeatable, e.g. --fb-arg=--inline --fb-arg=220")
    parser.add_argument("--vm-arg", action="append", default=[], metavar="ARG",
                        help="extra scripts/rdma-lab.sh argument, repeatable, e.g. --vm-arg=--accel --vm-arg=tcg")
    parser.add_argument("--timeout", type=positive_int, default=120,
                        help="seconds before one tool run is declared hung (default: %(default)s)")
    parser.add_argument("--json-out", metavar="PATH", help="save every repetition's raw numbers here")
    args = parser.parse_args(argv)
    if args.bw_messages % args.window != 0 or args.bw_messages < args.window:
        parser.error(f"--bw-messages ({args.bw_messages}) must be a multiple of --window ({args.window}): "
                     "fabricbench counts whole windows")
    if args.window > 128:
        parser.error("--window above 128 exceeds fabricbench's default verbs send queue (add --fb-arg=--tx-depth ...)")
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    fabricbench = os.path.abspath(args.fabricbench)
    if not os.access(fabricbench, os.X_OK):
        raise SystemExit(f"error: fabricbench not found or not executable: {fabricbench} (build it, or pass --fabricbench)")
    vm = os.path.abspath(args.vm)
    if not os.access(vm, os.X_OK):
        raise SystemExit(f"error: VM script not found or not executable: {vm}")
    return Settings(fabricbench=fabricbench, vm=vm, reps=args.reps, lat_bytes=args.lat_bytes,
                    lat_iters=args.lat_iters, bw_bytes=args.bw_bytes, bw_messages=args.bw_messages,
                    window=args.window, fb_args=args.fb_arg, vm_args=args.vm_arg, timeout_s=args.timeout)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    s = settings_from(args)
    runs = 2 * 3 * s.reps
    vm_timeout = 120 + runs * (s.timeout_s + 5)
    with tempfile.TemporaryDirectory(prefix="fabricbench-vs-perftest-") as tmp:
        workdir = Path(tmp)
        command = [s.vm, *s.vm_args, "--timeout", str(vm_timeout), "-b", s.fabricbench, "-s", str(workdir),
                   guest_script(s, str(workdir))]
        log(f"booting the soft-RoCE VM: {shlex.join(command[:-1])} '<guest script>'")
        vm = subprocess.run(command, stdout=sys.stderr, check=False)
        if vm.returncode == SKIP:
            return SKIP
        if vm.returncode != 0:
            log(f"error: the VM run failed (rdma-lab.sh exit {vm.returncode})")
            return 1
        cpus = (workdir / "cpus").read_text().strip() if (workdir / "cpus").exists() else "?"
        try:
            comparisons = collect(s, workdir)
        except (RunError, OSError) as e:
            log(f"error: {e}")
            return 1
    print_report(s, comparisons, cpus)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(json_report(s, comparisons, cpus), f, indent=2)
            f.write("\n")
        log(f"raw numbers written to {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
