#!/usr/bin/python3
"""Compare fabricbench's collectives with Open MPI's on this host, and justify `--algo auto`.

Usage:
    /usr/bin/python3 scripts/compare-collectives.py                    # 5 reps, 2 and 4 ranks
    /usr/bin/python3 scripts/compare-collectives.py --reps 3 --ranks 2 --json-out cmp.json
    /usr/bin/python3 scripts/compare-collectives.py --collectives allreduce --sizes 8:64M:x8

What runs. For every repetition, rank count and collective, one job:

    mpirun --oversubscribe -np N fabricbench COLLECTIVE --transport ucx --algo auto,all,mpi
           --sizes SIZES --json ...              (UCX_TLS=posix,self: UCX shared memory)

so fabricbench's algorithms (each one, and the one auto picks) and the MPI library's own
collective (MPI_Allreduce, MPI_Allgather: the `mpi` reference) run in the same processes,
case after case, interleaved per size, through the same harness: same buffers, same exact
data check, same timing (barrier, back-to-back iterations, the slowest rank's mean). Jobs
alternate between rank counts and collectives, and repetitions are whole passes, so a slow
patch of the machine hits every contender alike. Medians over the repetitions are compared.

Printed per (collective, ranks, size): the busbw of auto, of the best algorithm and of MPI,
a ratio where >= 1 means fabricbench is at least as fast (auto busbw / MPI busbw from 256 KiB
up; MPI time / auto time below, where time is what matters), and which algorithm was
fastest, which is how the table in bench/collective/algorithm_choice.cc is chosen. Targets: at >= 256 KiB with 2 ranks, auto busbw >= 1.0x Open MPI; at 8 B, auto
time <= 1.5x Open MPI's time. The host's memory copy bandwidth (libc memmove of 256 MiB,
bytes copied per second, best of 5) is measured in the same run and printed beside them: on
one host every byte of a collective is copied through memory at least once, so that is the
physical limit.

The exit status is 0 when every job ran (whatever the verdicts), 1 when one failed, 2 for
bad arguments. The table goes to stdout, progress to stderr; --json-out keeps the medians
and every repetition's numbers.
"""
import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--fabricbench", default=os.path.join(ROOT, "build", "bench", "fabricbench"))
    p.add_argument("--mpirun", default=shutil.which("mpirun") or "mpirun")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--ranks", type=int, nargs="+", default=[2, 4])
    p.add_argument("--collectives", nargs="+", default=["allreduce", "allgather"])
    p.add_argument("--sizes", default="8,64,512,4K,32K,256K,2M,16M,64M")
    p.add_argument("--tls", default="posix,self")
    p.add_argument("--json-out")
    args = p.parse_args()
    if args.reps < 1 or not os.access(args.fabricbench, os.X_OK):
        p.error(f"need --reps >= 1 and an executable --fabricbench (build first: scripts/build.sh)")
    return args


def copy_bandwidth_gbs(size=256 << 20, reps=5):
    src = (ctypes.c_char * size)()
    dst = (ctypes.c_char * size)()
    ctypes.memmove(dst, src, size)  # fault the pages in before timing
    best = 0.0
    for _ in range(reps):
        start = time.perf_counter()
        ctypes.memmove(dst, src, size)
        best = max(best, size / (time.perf_counter() - start) / 1e9)
    return best


def run_job(args, collective, ranks, out):
    env = dict(os.environ, UCX_TLS=args.tls, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [args.mpirun, "--oversubscribe", "-np", str(ranks), args.fabricbench, collective, "--transport", "ucx",
           "--algo", "auto,all,mpi", "--sizes", args.sizes, "--quiet", "--json", out]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        print(f"FAILED ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}",
              file=sys.stderr)
        return None, cmd
    with open(out, encoding="utf-8") as f:
        return json.load(f), cmd


def collect(doc, samples, collective, ranks):
    for r in doc["records"]:
        if r["status"] != "ok":
            continue
        ident, c = r["identity"], r["collective"]
        key = (collective, ranks, ident["bytes"], ident["algorithm"])
        samples.setdefault(key, []).append((c["time_us"], c["busbw_gbytes_per_s"]))


def fmt_size(n):
    for unit, div in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def main():
    args = parse_args()
    copy_gbs = [copy_bandwidth_gbs()]
    samples, commands, failed = {}, [], False
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for ranks in args.ranks:
                for collective in args.collectives:
                    print(f"[rep {rep + 1}/{args.reps}] {collective} {ranks} ranks", file=sys.stderr)
                    doc, cmd = run_job(args, collective, ranks, os.path.join(tmp, f"{collective}-{ranks}.json"))
                    commands.append(" ".join(cmd))
                    if doc is None:
                        failed = True
                        continue
                    collect(doc, samples, collective, ranks)
            copy_gbs.append(copy_bandwidth_gbs())

    median = {k: (statistics.median(t for t, _ in v), statistics.median(b for _, b in v)) for k, v in samples.items()}
    copy = statistics.median(copy_gbs)
    load = os.getloadavg()
    print(f"# host memory copy bandwidth (memmove 256 MiB): {copy:.2f} GB/s, median of {len(copy_gbs)}")
    print(f"# {args.reps} repetitions, UCX_TLS={args.tls}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("# busbw in GB/s (medians); ratio = auto / mpi busbw (time mpi / auto below 256 KiB, i.e. >= 1 is faster)")
    print()
    print("| collective | ranks | size | auto (choice) | best algorithm | mpi | auto/mpi | target | auto time us | mpi time us |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for (collective, ranks) in [(c, n) for n in args.ranks for c in args.collectives]:
        sizes = sorted({k[2] for k in median if k[0] == collective and k[1] == ranks})
        for size in sizes:
            algos = {k[3]: v for k, v in median.items() if k[:3] == (collective, ranks, size)}
            auto = next(((a, v) for a, v in algos.items() if a.startswith("auto:")), None)
            mpi = algos.get("mpi")
            own = {a: v for a, v in algos.items() if a != "mpi" and not a.startswith("auto:")}
            if not auto or not mpi or not own:
                continue
            best = min(own.items(), key=lambda kv: kv[1][0])
            large = size >= 256 << 10
            ratio = (auto[1][1] / mpi[1] if mpi[1] > 0 else float("nan")) if large else mpi[0] / auto[1][0]
            target = ""
            if large and ranks == 2:
                target = "met" if ratio >= 1.0 else "MISSED (>= 1.0)"
            elif size == 8:
                target = "met" if auto[1][0] <= 1.5 * mpi[0] else "MISSED (time <= 1.5x)"
            print(f"| {collective} | {ranks} | {fmt_size(size)} | {auto[1][1]:.3f} ({auto[0][5:]}) | "
                  f"{best[1][1]:.3f} ({best[0]}) | {mpi[1]:.3f} | {ratio:.2f} | {target} | {auto[1][0]:.2f} | {mpi[0]:.2f} |")
            rows.append({"collective": collective, "ranks": ranks, "bytes": size, "auto": auto[0],
                         "auto_busbw": auto[1][1], "auto_time_us": auto[1][0], "best": best[0],
                         "best_busbw": best[1][1], "mpi_busbw": mpi[1], "mpi_time_us": mpi[0], "ratio": ratio,
                         "algorithms": {a: {"time_us": v[0], "busbw": v[1]} for a, v in own.items()}})
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"copy_gbytes_per_s": copy_gbs, "rows": rows, "commands": commands,
                       "samples": {"|".join(map(str, k)): v for k, v in samples.items()}}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
