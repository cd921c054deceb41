#!/usr/bin/env python3
"""fabricbench started by real launchers, as users start it on a cluster.

  launch_e2e.py FABRICBENCH VALIDATOR SCHEMA SOURCE_DIR CASE [SLURM_STATE_DIR]

CASE is one of:
  mpirun         mpirun -np 2 fabricbench p2p over UCX: valid JSON, 2 ranks, bootstrap mpi
  mpirun-errors  what mpirun users get wrong (--np, a threads-only transport): one clear error
  slurm          a one-node Slurm (scripts/slurm-local.sh) in SLURM_STATE_DIR: srun -n 2
                 --mpi=pmix and sbatch --wait scripts/fabricbench.sbatch, JSON validated; the
                 cluster is torn down again, also on failure
  slurm-down     tears that cluster down if a killed run left it up

Exits 0 on success, 1 with the reason on failure, 77 (skip) when Slurm cannot be installed or
started here.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

FABRICBENCH, VALIDATOR, SCHEMA, SOURCE_DIR, CASE = sys.argv[1:6]
SLURM_STATE = sys.argv[6] if len(sys.argv) > 6 else None
SLURM_LOCAL = os.path.join(SOURCE_DIR, "scripts", "slurm-local.sh")
SBATCH_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "fabricbench.sbatch")
MPIRUN = os.environ.get("FABRICBENCH_MPIRUN", "mpirun")
SKIP = 77
# Debian's Open MPI refuses to start as root without both.
ROOT_OK = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


class Failure(Exception):
    pass


def fail(message):
    raise Failure(message)


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def clean_env(extra=None):
    # A launcher's variables from an enclosing job would make fabricbench see the wrong job.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_COMM_WORLD", "PMIX_", "PMI_", "SLURM_"))}
    env.update(ROOT_OK)
    env.update(extra or {})
    return env


def run(args, timeout=120, env=None):
    started = time.monotonic()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env or clean_env())
    except subprocess.TimeoutExpired as e:
        fail(f"{' '.join(args)} did not finish within {timeout} s:\n{e.stdout}\n{e.stderr}")
    print(f"$ {' '.join(args)}  -> exit {proc.returncode} in {time.monotonic() - started:.1f} s")
    print(proc.stdout[-4000:])
    print(proc.stderr[-4000:], file=sys.stderr)
    return proc


def validate(path, jsonl=False):
    proc = subprocess.run([sys.executable, VALIDATOR, SCHEMA, path] + (["--jsonl"] if jsonl else []),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"{path} does not validate: {proc.stdout}{proc.stderr}")


def check_result(path, sizes):
    validate(path)
    validate(path[:-5] + ".jsonl", jsonl=True)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc["outcome"] != "ok":
        fail(f"{path}: outcome {doc['outcome']}: {doc.get('error')}")
    if doc["plan"].get("bootstrap") != "mpi":
        fail(f"{path}: the plan says bootstrap {doc['plan'].get('bootstrap')!r}, not 'mpi'")
    got = [r["identity"]["bytes"] for r in doc["records"]]
    if got != sizes:
        fail(f"{path}: sizes {got}, expected {sizes}")
    for r in doc["records"]:
        if r["status"] != "ok" or r["identity"]["ranks"] != 2 or r["identity"]["transport"] != "ucx":
            fail(f"{path}: unexpected record {r['identity']} status {r['status']}")


def check_console(proc, path):
    # Only rank 0 reports: one header, one results line.
    if proc.stdout.count("# results: ") != 1 or f"# results: {path}" not in proc.stdout:
        fail("the console does not end with exactly one '# results:' line")
    if proc.stdout.count("# benchmark: p2p") != 1:
        fail("the console header is not printed exactly once")


def case_mpirun(tmp):
    out = os.path.join(tmp, "mpirun.json")
    proc = run([MPIRUN, "--oversubscribe", "-np", "2", FABRICBENCH, "p2p", "--transport", "ucx", "--test",
                "latency", "--sizes", "8:1K:x4", "--iters", "50", "--json", out])
    if proc.returncode != 0:
        fail("mpirun -np 2 fabricbench p2p failed")
    check_console(proc, out)
    check_result(out, [8, 32, 128, 512])


def case_mpirun_errors(tmp):
    out = os.path.join(tmp, "x.json")
    cases = [
        (["--np", "4"], "--np 4 does not apply under mpirun or srun, which started 2 ranks"),
        (["--transport", "loopback"], "cannot run one rank per process under mpirun or srun"),
        (["--rank", "1", "--size", "2"], "--rank and --size only apply to --bootstrap tcp"),
    ]
    for extra, needle in cases:
        proc = run([MPIRUN, "--oversubscribe", "-np", "2", FABRICBENCH, "p2p", "--test", "latency",
                    "--sizes", "8", "--iters", "5", "--json", out] + extra, timeout=60)
        if proc.returncode != 2:
            fail(f"{extra}: exit {proc.returncode}, expected 2 (bad input)")
        if proc.stderr.count(needle) != 1:
            fail(f"{extra}: the error '{needle}' is not printed exactly once")
    # A matching --np is harmless.
    proc = run([MPIRUN, "--oversubscribe", "-np", "2", FABRICBENCH, "p2p", "--test", "latency", "--sizes", "8",
                "--iters", "5", "--np", "2", "--quiet", "--json", out], timeout=60)
    if proc.returncode != 0:
        fail("--np equal to mpirun's -np was refused")


def check_collective(path, ranks, algorithms, mpi_skips=()):
    """Every fabricbench record ok with #wrong = 0; the MPI reference ok or skipped as listed."""
    validate(path)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc["outcome"] != "ok":
        fail(f"{path}: outcome {doc['outcome']}: {doc.get('error')}")
    if doc["plan"].get("bootstrap") != "mpi":
        fail(f"{path}: the plan says bootstrap {doc['plan'].get('bootstrap')!r}, not 'mpi'")
    seen = set()
    for r in doc["records"]:
        ident = r["identity"]
        seen.add(ident["algorithm"])
        if ident["ranks"] != ranks:
            fail(f"{path}: a record has {ident['ranks']} ranks, expected {ranks}")
        if ident["algorithm"] == "mpi" and ident.get("dtype") in mpi_skips:
            if r["status"] != "skipped" or "MPI has no" not in r.get("reason", ""):
                fail(f"{path}: mpi {ident['dtype']} should be skipped with the reason, got {r['status']}")
            continue
        if r["status"] != "ok" or r["collective"]["wrong"] != 0 or not r["collective"]["checked"]:
            fail(f"{path}: {ident['algorithm']} {ident.get('dtype')} {ident['bytes']} B: status {r['status']}, "
                 f"collective {r.get('collective')}")
        if ident["bytes"] > 0 and r["collective"]["busbw_gbytes_per_s"] <= 0:
            fail(f"{path}: {ident['algorithm']} {ident['bytes']} B has no bus bandwidth")
    missing = set(algorithms) - seen
    if missing:
        fail(f"{path}: no records for {sorted(missing)} (got {sorted(seen)})")


def case_mpirun_collective(tmp):
    out = os.path.join(tmp, "allreduce.json")
    proc = run([MPIRUN, "--oversubscribe", "-np", "3", FABRICBENCH, "allreduce", "--algo", "all,mpi",
                "--dtype", "fp32,bf16", "--op", "sum,max", "--sizes", "0,8,1001,64K,1M", "--iters", "5",
                "--json", out], timeout=240)
    if proc.returncode != 0:
        fail("mpirun -np 3 fabricbench allreduce --algo all,mpi failed")
    if proc.stdout.count("# results: ") != 1:
        fail("the console does not end with exactly one '# results:' line")
    check_collective(out, 3, ["ring", "recursive-doubling", "rabenseifner", "mpi"], mpi_skips=("bf16",))
    for command, algorithms in (("allgather", ["ring", "bruck", "recursive-doubling", "mpi"]),
                                ("reducescatter", ["ring", "mpi"]), ("alltoall", ["pairwise", "mpi"])):
        out = os.path.join(tmp, f"{command}.json")
        proc = run([MPIRUN, "--oversubscribe", "-np", "3", FABRICBENCH, command, "--algo", "all,mpi",
                    "--sizes", "8,4K,1M", "--iters", "5", "--json", out], timeout=240)
        if proc.returncode != 0:
            fail(f"mpirun -np 3 fabricbench {command} failed")
        check_collective(out, 3, algorithms)


def free_port_pair():
    # slurmctld listens on PORT, slurmd on PORT + 1.
    for port in range(16817, 17817, 2):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("0.0.0.0", port))
                b.bind(("0.0.0.0", port + 1))
            return port
        except OSError:
            continue
    skip("no free TCP port pair for slurmctld/slurmd between 16817 and 17817")


def slurm_down():
    proc = subprocess.run(["bash", SLURM_LOCAL, "down", "-d", SLURM_STATE], capture_output=True, text=True,
                          timeout=120)
    print(proc.stdout + proc.stderr)
    return proc.returncode


def slurm_up():
    if os.geteuid() != 0:
        skip("the one-node Slurm needs root (munged, slurmctld and slurmd run as root)")
    port = free_port_pair()
    try:
        proc = subprocess.run(["bash", SLURM_LOCAL, "up", "-L", "-d", SLURM_STATE, "-p", str(port)],
                              capture_output=True, text=True, timeout=420)
    except subprocess.TimeoutExpired:
        slurm_down()
        skip("scripts/slurm-local.sh up did not finish within 420 s")
    print(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        slurm_down()
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        skip(f"Slurm cannot be installed or started here: {last}")


def case_slurm(tmp):
    env = clean_env({"SLURM_CONF": os.path.join(SLURM_STATE, "slurm.conf")})

    out = os.path.join(tmp, "srun.json")
    proc = run(["srun", "-n", "2", "--mpi=pmix", FABRICBENCH, "p2p", "--transport", "ucx", "--test", "latency",
                "--sizes", "8", "--iters", "20", "--json", out], env=env)
    if proc.returncode != 0:
        fail("srun -n 2 --mpi=pmix fabricbench p2p failed")
    check_console(proc, out)
    check_result(out, [8])

    batch = os.path.join(tmp, "sbatch.json")
    job_out = os.path.join(tmp, "job.out")
    proc = run(["sbatch", "--wait", "-N", "1", "--ntasks-per-node=2", f"--output={job_out}", f"--chdir={tmp}",
                f"--export=ALL,FABRICBENCH={FABRICBENCH},FABRICBENCH_RESULT={batch}", SBATCH_SCRIPT,
                "--transport", "ucx", "--test", "latency", "--sizes", "8:64:x8", "--iters", "20"], env=env)
    if os.path.exists(job_out):
        with open(job_out, encoding="utf-8") as f:
            print(f"---- {job_out}\n{f.read()[-4000:]}")
    if proc.returncode != 0:
        fail("sbatch --wait scripts/fabricbench.sbatch failed")
    check_result(batch, [8, 64])

    out = os.path.join(tmp, "srun-allreduce.json")
    proc = run(["srun", "-n", "4", "--mpi=pmix", FABRICBENCH, "allreduce", "--algo", "auto,ring,mpi",
                "--sizes", "8,64K,1M", "--iters", "5", "--json", out], env=env, timeout=240)
    if proc.returncode != 0:
        fail("srun -n 4 --mpi=pmix fabricbench allreduce failed")
    check_collective(out, 4, ["ring", "mpi"])

    batch = os.path.join(tmp, "sbatch-allgather.json")
    proc = run(["sbatch", "--wait", "-N", "1", "--ntasks-per-node=4", f"--output={job_out}", f"--chdir={tmp}",
                f"--export=ALL,FABRICBENCH={FABRICBENCH},FABRICBENCH_RESULT={batch}", SBATCH_SCRIPT,
                "allgather", "--algo", "all", "--sizes", "1K,1M", "--iters", "5"], env=env, timeout=240)
    if os.path.exists(job_out):
        with open(job_out, encoding="utf-8") as f:
            print(f"---- {job_out}\n{f.read()[-4000:]}")
    if proc.returncode != 0:
        fail("sbatch --wait scripts/fabricbench.sbatch allgather failed")
    check_collective(batch, 4, ["ring", "bruck", "recursive-doubling"])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        if CASE == "slurm":
            # ctest ends a test that runs too long with SIGTERM before SIGKILL: tear down then too.
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
            slurm_up()
            try:
                case_slurm(tmp)
            finally:
                if slurm_down() != 0:
                    print("FAIL: scripts/slurm-local.sh down failed", file=sys.stderr)
                    sys.exit(1)
        elif CASE == "slurm-down":
            if os.path.exists(SLURM_STATE) and slurm_down() != 0:
                sys.exit(1)
        else:
            {"mpirun": case_mpirun, "mpirun-errors": case_mpirun_errors,
             "mpirun-collective": case_mpirun_collective}[CASE](tmp)
    print(f"PASS: {CASE}")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
