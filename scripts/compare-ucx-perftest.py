#!/usr/bin/python3
"""Compare fabricbench's point-to-point numbers with ucx_perftest on the same UCX transport.

Usage:
    /usr/bin/python3 scripts/compare-ucx-perftest.py                  # 5 reps, posix,self and tcp
    /usr/bin/python3 scripts/compare-ucx-perftest.py --reps 3 --json-out cmp.json
    /usr/bin/python3 scripts/compare-ucx-perftest.py --tls posix,self posix,cma,self tcp

For every UCX_TLS value in --tls it measures two metrics with both tools, interleaved
(fabricbench, ucx_perftest, fabricbench, ucx_perftest, ...; --reps of each), takes the median
of each tool's repetitions and prints a Markdown table of fabricbench / ucx_perftest:

    metric                   fabricbench                          ucx_perftest                   target
    8-byte tag latency p50   p2p --test latency --op send -s 8    -t tag_lat -s 8, -R 50 column  ratio <= 1.05
    1 MiB tag bandwidth      p2p --test bw --op send -s 1048576   -t tag_bw -s 1048576           ratio >= 0.97

The table, the load average and the exact commands go to stdout; progress goes to stderr.
--json-out saves every repetition's raw numbers. The exit status is 0 when every comparison
ran (whatever the verdicts), 1 when a run failed, 2 for bad arguments.

How the comparison is kept fair, and why
----------------------------------------
Same transport and environment. Both tools are started with the same environment, in which
only UCX_TLS is set by this script. fabricbench runs `--transport ucx` (UCP tag send/receive,
ucp_tag_send_nbx / ucp_tag_recv_nbx), which is what ucx_perftest's tag_lat and tag_bw use.
fabricbench reports the UCP lanes and tag protocol thresholds it got; they are kept in
--json-out and printed under the table, so a different wire path shows up.
One difference remains: fabricbench's UCP context asks for the TAG and RMA features,
ucx_perftest's tag tests for TAG only.

Shared memory and cma. With UCX_TLS=posix,self a 1 MiB message works without cma: UCX 1.13
falls back to a rendezvous over active messages, copying the message through the posix
FIFO in fragments (the lanes read "posix/memory.0[am am_bw]", no rma_bw lane). That is
markedly slower than the zero-copy rendezvous that `posix,cma,self` enables (one
process_vm_readv per message; about twice the bandwidth on a quiet 2-core VM). So cma is not
needed for large messages to work, only for them to be fast; add `posix,cma,self` to --tls
to measure that case too.

Same CPU pinning. fabricbench `--bind core` pins rank i to the i-th CPU this process may
run on (sched_getaffinity). ucx_perftest gets the same two CPUs with -c, assigned by role
so that the process doing the same work sits on the same core:
  * latency: fabricbench rank 0 sends the first ping. In ucx_perftest the server has group
    index 0, and index 0 sends first in tag_lat, so server -c CPU0, client -c CPU1.
  * bandwidth: fabricbench rank 0 is the sender. In ucx_perftest tag_bw index 0 (the server)
    receives and index 1 (the client) sends, so client -c CPU0, server -c CPU1.
Both tools busy-poll (fabricbench --progress poll, ucx_perftest -E poll), so two CPUs that
nothing else is pinned to are needed; the script refuses to run with fewer.

Latency: same definition. fabricbench's latency samples are round trip / 2 per iteration and
the table uses records[].latency_us.p50. ucx_perftest tag_lat is a PINGPONG test: its
libperf divides each timed iteration by 2 (ucx_perf_calc_result, factor 2 for
UCX_PERF_TEST_TYPE_PINGPONG), and the "-R 50" percentile column is that one-way time's
median. Both are one-way times in microseconds. One difference remains: ucx_perftest takes
the percentile over its ring of the last 2048 iterations (TIMING_QUEUE_SIZE), fabricbench
over all of them; for a steady run of --iters-lat iterations the two medians agree.

Bandwidth: same units. fabricbench's bandwidth.gbytes_per_s is 1e9 bytes/s. ucx_perftest
prints MB/s as 2^20 bytes/s (result / (1024 * 1024)), so its "overall_bw" (total bytes over
total time, not the last-interval "avg_bw") is converted: GB/s = MB/s * 1048576 / 1e9.
Both count payload bytes only, measured on the sending side (fabricbench takes the slower of
sender and receiver, which also waits for a final receipt; ucx_perftest waits for its sends
and a worker flush).

Bandwidth: same outstanding messages. fabricbench keeps --window messages in flight: the
receiver pre-posts a window of receives, the sender posts a window of sends, both wait for
the whole window, then the next. ucx_perftest -O bounds the in-flight sends, and in UCX 1.13
its receiver also keeps up to -O receives posted; both slide (a new operation as soon as one
completes). -O is set to --window, so both tools have at most the same number of messages in
flight. ucx_perftest never drains between windows, fabricbench does once per window; that
pipeline bubble (about one message time per window of 64) is part of what is measured.

Same message counts. fabricbench's --iters for bw counts windows, ucx_perftest's -n counts
messages, so ucx_perftest gets -n = iters * window (and -w = warmup * window). For latency
both count ping-pong round trips. Total bytes moved are therefore equal.

Same warm-up, as far as ucx_perftest allows. Both get the same warm-up count. ucx_perftest
1.13 treats -w as an upper bound: it warms up in passes of 1, 2, 4, ... iterations and stops
after the pass that reaches -w, or earlier when its warm-up time budget runs out, so it runs
2^k - 1 warm-up iterations (e.g. -w 10000 gives 16383 on a quiet machine, fewer under load).
fabricbench runs exactly --warmup. Neither tool times its warm-up, so this only changes how
warm the caches and connections are when timing starts, which is settled after a few
thousand iterations either way.

Interleaving and medians. Running the tools alternately spreads slow drifts (other load,
thermal or frequency changes) over both instead of one; the median of the repetitions
ignores a single disturbed run. Numbers from a loaded machine are still noisy: the load
average at the start and the end is printed with the table.

Port for ucx_perftest's out-of-band exchange: a free TCP port is picked for every run, and the
client is started only once /proc/net/tcp shows the server listening on it (probing with a
connect() would be taken by the server as its client).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LATENCY_BYTES = 8
BANDWIDTH_BYTES = 1 << 20
MIB = 1 << 20  # ucx_perftest's "MB"
LATENCY_TARGET = 1.05  # fabricbench latency <= 1.05 x ucx_perftest
BANDWIDTH_TARGET = 0.97  # fabricbench bandwidth >= 0.97 x ucx_perftest
TCP_LISTEN_STATE = "0A"  # the "st" column of /proc/net/tcp for a listening socket
LISTEN_WAIT_S = 15.0
PORT_ATTEMPTS = 3


class RunError(RuntimeError):
    """A tool failed, hung or printed nothing usable."""


@dataclass
class Settings:
    fabricbench: str
    ucx_perftest: str
    reps: int
    iters_lat: int
    warmup_lat: int
    iters_bw: int
    warmup_bw: int
    window: int
    tls: list[str]
    timeout_s: float
    cpus: tuple[int, int]


@dataclass
class Metric:
    key: str  # "latency" or "bandwidth"
    label: str
    unit: str
    higher_is_better: bool
    target: float


METRICS = [
    Metric("latency", f"{LATENCY_BYTES} B tag latency p50", "us", False, LATENCY_TARGET),
    Metric("bandwidth", "1 MiB tag bandwidth", "GB/s", True, BANDWIDTH_TARGET),
]


@dataclass
class Sample:
    value: float
    command: list[str]
    raw: dict = field(default_factory=dict)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- commands ------------------------------------------------------------------------------


def fabricbench_command(s: Settings, metric: Metric, json_path: str) -> list[str]:
    common = [s.fabricbench, "p2p", "--transport", "ucx", "--np", "2", "--bind", "core",
              "--progress", "poll", "--op", "send", "--json", json_path, "--quiet"]
    if metric.key == "latency":
        return common + ["--test", "latency", "--sizes", str(LATENCY_BYTES),
                         "--iters", str(s.iters_lat), "--warmup", str(s.warmup_lat)]
    return common + ["--test", "bw", "--sizes", str(BANDWIDTH_BYTES), "--window", str(s.window),
                     "--iters", str(s.iters_bw), "--warmup", str(s.warmup_bw)]


def perftest_test_args(s: Settings, metric: Metric) -> list[str]:
    # -f: only the final numbers; -v: as CSV with a header line, parsed by column name.
    if metric.key == "latency":
        return ["-t", "tag_lat", "-s", str(LATENCY_BYTES), "-n", str(s.iters_lat),
                "-w", str(s.warmup_lat), "-R", "50", "-E", "poll", "-f", "-v"]
    # -n and -w count messages; fabricbench's bw --iters and --warmup count windows.
    return ["-t", "tag_bw", "-s", str(BANDWIDTH_BYTES), "-n", str(s.iters_bw * s.window),
            "-w", str(s.warmup_bw * s.window), "-O", str(s.window), "-E", "poll", "-f", "-v"]


def perftest_cpus(s: Settings, metric: Metric) -> tuple[int, int]:
    """(server CPU, client CPU): the process doing fabricbench rank 0's work gets CPU0."""
    first, second = s.cpus
    if metric.key == "latency":
        return first, second  # the server (index 0) sends the first ping, like rank 0
    return second, first  # the client (index 1) is the sender, like rank 0


def perftest_commands(s: Settings, metric: Metric, port: int) -> tuple[list[str], list[str]]:
    server_cpu, client_cpu = perftest_cpus(s, metric)
    args = perftest_test_args(s, metric)
    server = [s.ucx_perftest, *args, "-p", str(port), "-c", str(server_cpu)]
    client = [s.ucx_perftest, "localhost", *args, "-p", str(port), "-c", str(client_cpu)]
    return server, client


def shell_line(tls: str, command: list[str]) -> str:
    return f"UCX_TLS={shlex.quote(tls)} " + shlex.join(command)


def tool_env(tls: str) -> dict[str, str]:
    env = dict(os.environ)
    env["UCX_TLS"] = tls
    return env


# --- fabricbench -----------------------------------------------------------------------------


def read_fabricbench_record(json_path: str) -> dict:
    with open(json_path, encoding="utf-8") as f:
        document = json.load(f)
    records = document.get("records") or []
    if len(records) != 1:
        raise RunError(f"fabricbench wrote {len(records)} records, expected 1")
    record = records[0]
    if record.get("status") != "ok":
        raise RunError(f"fabricbench record is {record.get('status')}: {record.get('reason')}")
    return record


def run_fabricbench(s: Settings, tls: str, metric: Metric, workdir: str) -> Sample:
    json_path = os.path.join(workdir, f"fabricbench-{metric.key}.json")
    if os.path.exists(json_path):
        os.unlink(json_path)  # a stale file must not pass for this run's result
    command = fabricbench_command(s, metric, json_path)
    result = subprocess.run(command, env=tool_env(tls), capture_output=True, text=True,
                            timeout=s.timeout_s, check=False)
    if result.returncode != 0:
        raise RunError(f"fabricbench exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    record = read_fabricbench_record(json_path)
    if metric.key == "latency":
        value = float(record["latency_us"]["p50"])
    else:
        value = float(record["bandwidth"]["gbytes_per_s"])
    raw = {
        "latency_us": record.get("latency_us"),
        "bandwidth": record.get("bandwidth"),
        "iterations": record.get("iterations"),
        "warmup": record.get("warmup"),
        "window": record.get("window"),
        "transport_options": record.get("identity", {}).get("transport_options", {}),
    }
    return Sample(value, command, raw)


# --- ucx_perftest ----------------------------------------------------------------------------


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def listening_ports() -> set[int]:
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f, None)  # header
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == TCP_LISTEN_STATE:
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


def wait_until_listening(server: subprocess.Popen, port: int) -> bool:
    """True once the server listens on `port`; False if it exited first."""
    deadline = time.monotonic() + LISTEN_WAIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        if port in listening_ports():
            return True
        time.sleep(0.02)
    raise RunError(f"ucx_perftest server did not listen on port {port} within {LISTEN_WAIT_S:.0f} s")


def parse_perftest_csv(text: str) -> dict[str, float]:
    """The final result row of `ucx_perftest -f -v`, keyed by its CSV header names.

    The header looks like "iterations,50.0_percentile_lat,avg_lat,overall_lat,avg_bw,
    overall_bw,avg_mr,overall_mr"; the row under it holds the numbers. Lines that are not
    CSV (connection messages, warnings) are skipped, and the last header/row pair wins.
    """
    header: list[str] | None = None
    result: dict[str, float] | None = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().split(",")]
        if len(cells) < 2:
            continue
        if cells[0] == "iterations":
            header = cells
            continue
        if header is None or len(cells) != len(header):
            continue
        try:
            result = dict(zip(header, (float(c) for c in cells)))
        except ValueError:
            continue
    if result is None:
        raise RunError("no CSV result row in ucx_perftest's output:\n" + text.strip()[-2000:])
    return result


def percentile_column(row: dict[str, float]) -> str:
    for name in row:
        if name.endswith("_percentile_lat"):
            return name
    raise RunError(f"ucx_perftest's CSV has no percentile latency column: {sorted(row)}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def run_perftest_once(s: Settings, tls: str, metric: Metric, port: int,
                      workdir: str) -> tuple[str, list[str], list[str]] | None:
    """Client output and both commands, or None when the server could not listen on `port`."""
    server_cmd, client_cmd = perftest_commands(s, metric, port)
    env = tool_env(tls)
    server_log_path = os.path.join(workdir, "ucx_perftest-server.log")
    with open(server_log_path, "w+", encoding="utf-8", errors="replace") as server_log:
        server = subprocess.Popen(server_cmd, env=env, stdout=server_log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        try:
            if not wait_until_listening(server, port):
                server_log.seek(0)
                log(f"  ucx_perftest server exited before listening on {port}: "
                    f"{server_log.read().strip()[-300:]}")
                return None
            client = subprocess.run(client_cmd, env=env, capture_output=True, text=True,
                                    timeout=s.timeout_s, check=False)
            server_rc = server.wait(timeout=s.timeout_s)
        finally:
            stop(server)
        server_log.seek(0)
        server_text = server_log.read()
    if client.returncode != 0 or server_rc != 0:
        raise RunError(f"ucx_perftest failed (client {client.returncode}, server {server_rc}):\n"
                       f"{(client.stdout + client.stderr).strip()[-1500:]}\n"
                       f"server: {server_text.strip()[-1500:]}")
    return client.stdout + "\n" + client.stderr, server_cmd, client_cmd


def run_perftest(s: Settings, tls: str, metric: Metric, workdir: str) -> Sample:
    for _ in range(PORT_ATTEMPTS):  # another process may take the port between pick and bind
        outcome = run_perftest_once(s, tls, metric, free_tcp_port(), workdir)
        if outcome is not None:
            break
    else:
        raise RunError(f"ucx_perftest server could not listen after {PORT_ATTEMPTS} ports")
    output, server_cmd, client_cmd = outcome
    row = parse_perftest_csv(output)
    if metric.key == "latency":
        value = row[percentile_column(row)]
    else:
        value = row["overall_bw"] * MIB / 1e9  # 2^20 bytes/s -> 1e9 bytes/s
    return Sample(value, client_cmd, {"csv": row, "server_command": server_cmd})


# --- comparison ------------------------------------------------------------------------------


@dataclass
class Comparison:
    tls: str
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
        """Median of the per-repetition ratios. Each pair ran back to back, so a machine that
        changes speed between repetitions (a VM whose vCPUs move) affects both sides of a pair
        alike; this is the steadier figure when the medians straddle such a change."""
        ratios = [a.value / b.value for a, b in zip(self.fabricbench, self.perftest) if b.value > 0]
        return statistics.median(ratios) if ratios else float("inf")

    def passed(self) -> bool:
        ratio = self.ratio()
        return ratio >= self.metric.target if self.metric.higher_is_better else ratio <= self.metric.target


def run_comparison(s: Settings, tls: str, metric: Metric, workdir: str) -> Comparison:
    comparison = Comparison(tls, metric)
    for rep in range(1, s.reps + 1):
        # Alternate the tools so that a drift in machine load touches both equally.
        ours = run_fabricbench(s, tls, metric, workdir)
        comparison.fabricbench.append(ours)
        theirs = run_perftest(s, tls, metric, workdir)
        comparison.perftest.append(theirs)
        log(f"  [{tls}] {metric.key} rep {rep}/{s.reps}: fabricbench {ours.value:.3f} {metric.unit}, "
            f"ucx_perftest {theirs.value:.3f} {metric.unit}")
    return comparison


# --- output ----------------------------------------------------------------------------------


def markdown_table(comparisons: list[Comparison]) -> str:
    lines = ["| transport | metric | fabricbench median | ucx_perftest median | ratio | paired ratio | target | verdict |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for c in comparisons:
        ours, theirs = c.medians()
        sign = ">=" if c.metric.higher_is_better else "<="
        lines.append(f"| UCX_TLS={c.tls} | {c.metric.label} | {ours:.3f} {c.metric.unit} | "
                     f"{theirs:.3f} {c.metric.unit} | {c.ratio():.3f} | {c.paired_ratio():.3f} | {sign} {c.metric.target:.2f} | "
                     f"{'PASS' if c.passed() else 'FAIL'} |")
    return "\n".join(lines)


def lanes_notes(comparisons: list[Comparison]) -> list[str]:
    """The UCP lanes and tag protocol thresholds fabricbench reported, one line per transport."""
    notes = []
    for c in comparisons:
        if c.metric.key != "bandwidth" or not c.fabricbench:
            continue
        options = c.fabricbench[0].raw.get("transport_options", {})
        notes.append(f"- UCX_TLS={c.tls}: lanes `{options.get('endpoint.lanes', '?')}`, "
                     f"tag_send `{options.get('endpoint.tag_send', '?')}`")
    return notes


def commands_block(comparisons: list[Comparison]) -> str:
    lines = []
    for c in comparisons:
        tls = c.tls
        lines.append(f"# UCX_TLS={tls}, {c.metric.label} (ucx_perftest's -p port is picked per run)")
        lines.append(shell_line(tls, c.fabricbench[0].command))
        lines.append(shell_line(tls, c.perftest[0].raw["server_command"]) + " &")
        lines.append(shell_line(tls, c.perftest[0].command))
    return "```\n" + "\n".join(lines) + "\n```"


def loadavg_text(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


def print_report(s: Settings, comparisons: list[Comparison], load_start, load_end) -> None:
    print(markdown_table(comparisons))
    print()
    print(f"Medians of {s.reps} interleaved repetitions per tool. Ratio = fabricbench / ucx_perftest of the medians; paired ratio = median of the per-repetition ratios. "
          f"Latency is one-way (round trip / 2) in microseconds; bandwidth is 1e9 bytes/s.")
    print(f"Load average (1, 5, 15 min): {loadavg_text(load_start)} at the start, "
          f"{loadavg_text(load_end)} at the end; CPUs {s.cpus[0]} and {s.cpus[1]}.")
    notes = lanes_notes(comparisons)
    if notes:
        print()
        print("UCP lanes fabricbench used:")
        print("\n".join(notes))
    print()
    print("Commands (one repetition):")
    print(commands_block(comparisons))


def json_report(s: Settings, comparisons: list[Comparison], load_start, load_end) -> dict:
    def samples(values: list[Sample]) -> list[dict]:
        return [{"value": x.value, "command": x.command, "raw": x.raw} for x in values]

    return {
        "settings": {k: v for k, v in vars(s).items()},
        "loadavg_start": list(load_start),
        "loadavg_end": list(load_end),
        "comparisons": [
            {
                "tls": c.tls,
                "metric": c.metric.key,
                "unit": c.metric.unit,
                "fabricbench_median": c.medians()[0],
                "ucx_perftest_median": c.medians()[1],
                "paired_ratio": c.paired_ratio(),
                "ratio": c.ratio(),
                "target": c.metric.target,
                "higher_is_better": c.metric.higher_is_better,
                "verdict": "PASS" if c.passed() else "FAIL",
                "fabricbench": samples(c.fabricbench),
                "ucx_perftest": samples(c.perftest),
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


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare fabricbench p2p latency and bandwidth with ucx_perftest "
                    "(see the module docstring for the fairness choices).")
    parser.add_argument("--fabricbench", default=str(REPO_ROOT / "build/bench/fabricbench"),
                        help="fabricbench binary (default: %(default)s)")
    parser.add_argument("--ucx-perftest", default="ucx_perftest",
                        help="ucx_perftest binary (default: %(default)s from PATH)")
    parser.add_argument("--reps", type=positive_int, default=5,
                        help="repetitions of each tool per comparison (default: %(default)s)")
    parser.add_argument("--iters-lat", type=positive_int, default=100_000,
                        help="latency round trips timed (default: %(default)s)")
    parser.add_argument("--warmup-lat", type=non_negative_int, default=10_000,
                        help="latency round trips before timing (default: %(default)s)")
    parser.add_argument("--iters-bw", type=positive_int, default=200,
                        help="bandwidth windows timed; ucx_perftest gets iters x window messages "
                             "(default: %(default)s)")
    parser.add_argument("--warmup-bw", type=non_negative_int, default=10,
                        help="bandwidth windows before timing (default: %(default)s)")
    parser.add_argument("--window", type=positive_int, default=64,
                        help="messages in flight: fabricbench --window and ucx_perftest -O "
                             "(default: %(default)s)")
    parser.add_argument("--tls", nargs="+", default=["posix,self", "tcp"], metavar="UCX_TLS",
                        help="UCX_TLS values to compare on (default: posix,self tcp)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds before one tool run is declared hung (default: %(default)s)")
    parser.add_argument("--json-out", metavar="PATH", help="save every repetition's raw numbers here")
    return parser.parse_args(argv)


def pick_cpus() -> tuple[int, int]:
    """The first two CPUs this process may use: the ones fabricbench --bind core gives ranks 0, 1."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        raise SystemExit(f"error: both tools busy-poll with one process per CPU; "
                         f"this process may use only CPUs {allowed}")
    return allowed[0], allowed[1]


def resolve_binary(path: str, what: str) -> str:
    if os.sep in path:
        if not os.access(path, os.X_OK):
            raise SystemExit(f"error: {what} not found or not executable: {path}")
        return os.path.abspath(path)
    found = shutil.which(path)
    if not found:
        raise SystemExit(f"error: {what} not found on PATH: {path}")
    return found


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        fabricbench=resolve_binary(args.fabricbench, "fabricbench"),
        ucx_perftest=resolve_binary(args.ucx_perftest, "ucx_perftest"),
        reps=args.reps, iters_lat=args.iters_lat, warmup_lat=args.warmup_lat,
        iters_bw=args.iters_bw, warmup_bw=args.warmup_bw, window=args.window,
        tls=args.tls, timeout_s=args.timeout, cpus=pick_cpus())


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    s = settings_from(args)
    load_start = os.getloadavg()
    log(f"comparing on UCX_TLS in {s.tls}, {s.reps} reps each, CPUs {s.cpus}, "
        f"load average {loadavg_text(load_start)}")
    comparisons = []
    try:
        with tempfile.TemporaryDirectory(prefix="fabricbench-vs-perftest-") as workdir:
            for tls in s.tls:
                for metric in METRICS:
                    log(f"[{tls}] {metric.label}")
                    comparisons.append(run_comparison(s, tls, metric, workdir))
    except (RunError, subprocess.TimeoutExpired) as e:
        log(f"error: {e}")
        return 1
    load_end = os.getloadavg()
    print_report(s, comparisons, load_start, load_end)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(json_report(s, comparisons, load_start, load_end), f, indent=2)
            f.write("\n")
        log(f"raw numbers written to {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
