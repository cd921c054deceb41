#!/usr/bin/env python3
"""End-to-end checks of fabricbench's collective commands as a user runs them.

  e2e_collective.py FABRICBENCH VALIDATOR SCHEMA CASE

CASE is one of:
  allreduce   every algorithm, data type and op, 4 local ranks over UCX, odd sizes and 0;
              the table has nccl-tests' columns and the JSON validates with #wrong = 0
  commands    allgather, reducescatter and alltoall with every algorithm, 3 ranks
  loopback    the same harness with ranks as threads (loopback transport), 5 ranks
  corruption  one corrupted input element: #wrong = 1 (reduce-scatter, all-to-all; one per rank
              in all-reduce), the record and the run fail (exit 1), and every case is
              still measured and in the JSON
  bad-input   wrong flags are usage errors (exit 2) that say what to do
  no-gpu      --memory cuda where no GPU is visible: every record skipped with the reason
              (run only where no GPU is visible)
"""
import json
import os
import subprocess
import sys
import tempfile

FABRICBENCH, VALIDATOR, SCHEMA, CASE = sys.argv[1:5]
PYTHON = sys.executable


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run(args, timeout=300):
    proc = subprocess.run([FABRICBENCH] + args, capture_output=True, text=True, timeout=timeout)
    print(f"$ fabricbench {' '.join(args)}  -> exit {proc.returncode}")
    print(proc.stdout[-6000:])
    print(proc.stderr[-3000:], file=sys.stderr)
    return proc


def load_valid(path):
    proc = subprocess.run([PYTHON, VALIDATOR, SCHEMA, path], capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"{path} does not validate: {proc.stdout}{proc.stderr}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check_all_right(doc, ranks, algorithms):
    seen = set()
    for r in doc["records"]:
        ident, coll = r["identity"], r.get("collective")
        seen.add(ident["algorithm"])
        if r["status"] != "ok" or coll is None or not coll["checked"] or coll["wrong"] != 0:
            fail(f"{ident}: status {r['status']} {r.get('reason', '')} collective {coll}")
        if ident["ranks"] != ranks:
            fail(f"{ident}: {ident['ranks']} ranks, expected {ranks}")
        elem = {"fp32": 4, "fp64": 8, "fp16": 2, "bf16": 2, "int32": 4}[ident["dtype"]]
        if ident["bytes"] != coll["count"] * elem or coll["count"] % ranks != 0:
            fail(f"{ident}: bytes {ident['bytes']} is not count {coll['count']} x {elem} in whole blocks")
        if ident["bytes"] > coll["bytes_requested"]:
            fail(f"{ident}: more bytes moved than requested")
        if ident["bytes"] > 0 and not coll["busbw_gbytes_per_s"] > 0:
            fail(f"{ident}: no bus bandwidth")
    if set(algorithms) - seen:
        fail(f"no records for {sorted(set(algorithms) - seen)} (got {sorted(seen)})")


def case_allreduce(tmp):
    out = os.path.join(tmp, "allreduce.json")
    proc = run(["allreduce", "--np", "4", "--algo", "all", "--dtype", "fp32,fp64,fp16,bf16,int32",
                "--op", "sum,max,min", "--sizes", "0,4,1001,64K", "--iters", "3", "--warmup", "1",
                "--json", out])
    if proc.returncode != 0:
        fail("allreduce failed")
    for column in ("count", "type", "redop", "time[us]", "algbw[GB/s]", "busbw[GB/s]", "#wrong"):
        if column not in proc.stdout:
            fail(f"the table lacks nccl-tests' column {column}")
    doc = load_valid(out)
    check_all_right(doc, 4, ["ring", "recursive-doubling", "rabenseifner"])
    if len(doc["records"]) != 3 * 5 * 3 * 4:
        fail(f"{len(doc['records'])} records, expected 180")


def case_commands(tmp):
    for command, algorithms in (("allgather", ["ring", "recursive-doubling", "bruck"]),
                                ("reducescatter", ["ring"]), ("alltoall", ["pairwise"])):
        out = os.path.join(tmp, f"{command}.json")
        proc = run([command, "--np", "3", "--algo", "all", "--dtype", "fp16,int32", "--sizes", "0,7,3000,1M",
                    "--iters", "3", "--json", out])
        if proc.returncode != 0:
            fail(f"{command} failed")
        check_all_right(load_valid(out), 3, algorithms)


def case_loopback(tmp):
    out = os.path.join(tmp, "loopback.json")
    proc = run(["allreduce", "--transport", "loopback", "--np", "5", "--algo", "auto,ring,rabenseifner",
                "--sizes", "8,100K", "--iters", "3", "--json", out])
    if proc.returncode != 0:
        fail("allreduce over loopback failed")
    doc = load_valid(out)
    check_all_right(doc, 5, ["ring", "rabenseifner"])
    # Every rank is on this host, so lo is among the netdevs read around each case.
    if os.path.exists("/sys/class/net/lo/statistics/rx_bytes"):
        for r in doc["records"]:
            if not any(b["device"] == "lo" and b["source"] == "netdev" for b in r.get("counters", [])):
                fail(f"record without lo counters: {r['identity']} note {r.get('counters_note')!r}")
    if not any(r["identity"]["algorithm"].startswith("auto:") for r in doc["records"]):
        fail("auto does not say which algorithm it chose")


def corrupted_run(tmp, command, algorithms, expected_wrong):
    out = os.path.join(tmp, f"corrupt-{command}.json")
    proc = run([command, "--np", "3", "--algo", algorithms, "--sizes", "1K", "--dtype", "fp32,bf16",
                "--iters", "2", "--inject-corruption", "1:5", "--json", out])
    if proc.returncode != 1:
        fail(f"{command}: a wrong element must fail the run with exit 1, got {proc.returncode}")
    noun = "element" if expected_wrong == 1 else "elements"
    if f"FAILED: {expected_wrong} wrong {noun}" not in proc.stdout:
        fail(f"{command}: the console does not show {expected_wrong} wrong {noun}")
    doc = load_valid(out)
    if doc["outcome"] != "failed":
        fail(f"{command}: outcome {doc['outcome']}, expected failed")
    records = doc["records"]
    if len(records) != 2 * len(algorithms.split(",")):
        fail(f"{command}: {len(records)} records; every case must still be measured")
    for r in records:
        if r["status"] != "failed" or r["collective"]["wrong"] != expected_wrong or "wrong element" not in r["reason"]:
            fail(f"{command} {r['identity']['algorithm']}: status {r['status']}, wrong {r['collective']['wrong']}")


def case_corruption(tmp):
    # Element 5 of rank 1's input feeds exactly one output element in reduce-scatter (on rank 0)
    # and in all-to-all; in all-reduce every rank holds a copy of the wrong sum, and #wrong counts
    # wrong elements over all ranks, as nccl-tests does.
    corrupted_run(tmp, "reducescatter", "ring", 1)
    corrupted_run(tmp, "alltoall", "pairwise", 1)
    corrupted_run(tmp, "allreduce", "ring,recursive-doubling", 3)


def case_no_gpu(tmp):
    # Without a GPU (or without the CUDA part) a --memory cuda run measures nothing and says why
    # in every record: skipped, never a number, and the run itself succeeds.
    out = os.path.join(tmp, "cuda.json")
    proc = run(["allreduce", "--np", "2", "--memory", "cuda", "--sizes", "8,1M", "--json", out])
    if proc.returncode != 0:
        fail(f"a run that cannot reach a GPU must skip, not fail (exit {proc.returncode})")
    doc = load_valid(out)
    if not doc["records"]:
        fail("no records")
    for r in doc["records"]:
        if r["status"] != "skipped" or "cuda" not in r.get("reason", "") or "collective" in r:
            fail(f"expected a skipped record naming cuda, got {r['status']}: {r.get('reason')}")
    if "skipped: " not in proc.stdout:
        fail("the console does not show the skip and its reason")


def case_bad_input(tmp):
    for args, needle in (
        (["allreduce", "--algo", "tree"], "unknown allreduce algorithm 'tree' (use auto, all, mpi or one of"),
        (["allgather", "--dtype", "fp8"], "unknown data type 'fp8'"),
        (["reducescatter", "--op", "prod"], "unknown reduce op 'prod'"),
        (["alltoall", "--check", "sometimes"], "--check must be on or off"),
        (["allreduce", "--transport", "nosuch"], "unknown transport 'nosuch'"),
    ):
        proc = run(args + ["--json", os.path.join(tmp, "x.json")], timeout=60)
        if proc.returncode != 2 or needle not in proc.stderr:
            fail(f"{args}: exit {proc.returncode}, expected 2 and '{needle}'")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        {"allreduce": case_allreduce, "commands": case_commands, "loopback": case_loopback,
         "corruption": case_corruption, "bad-input": case_bad_input, "no-gpu": case_no_gpu}[CASE](tmp)
    print(f"PASS: {CASE}")


if __name__ == "__main__":
    main()
