#!/usr/bin/env python3
"""End-to-end checks of the fabricbench binary as a user runs it.

  e2e_p2p.py FABRICBENCH VALIDATOR SCHEMA CASE

CASE is one of: main, counters, latency-json, bad-input, dead-rank, tcp, list, version, info. Each case runs the
binary the way the README shows, then checks exit codes, the console, and the JSON results
(validated against the schema with VALIDATOR). Exits non-zero with the reason on failure.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

FABRICBENCH, VALIDATOR, SCHEMA, CASE = sys.argv[1:5]
PYTHON = sys.executable


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run(args, timeout=300, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([FABRICBENCH] + args, capture_output=True, text=True, timeout=timeout, env=full_env)
    print(f"$ fabricbench {' '.join(args)}  -> exit {proc.returncode}")
    print(proc.stdout[-3000:])
    print(proc.stderr[-3000:], file=sys.stderr)
    return proc


def validate(path, jsonl=False):
    args = [PYTHON, VALIDATOR, SCHEMA, path] + (["--jsonl"] if jsonl else [])
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"{path} does not validate: {proc.stdout}{proc.stderr}")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def case_main(tmp):
    # The README's main job, in a quick mode: latency + bandwidth over UCX, 2 local ranks.
    out = os.path.join(tmp, "main.json")
    proc = run(["p2p", "--sizes", "8:64K:x8", "--iters", "50", "--json", out])
    if proc.returncode != 0:
        fail("main job failed")
    if f"# results: {out}" not in proc.stdout:
        fail("the result path is not printed at the end")
    for column in ("bytes", "p50", "GB/s"):
        if column not in proc.stdout:
            fail(f"console table lacks column {column}")
    validate(out)
    validate(out[:-5] + ".jsonl", jsonl=True)
    doc = load(out)
    tests = {r["identity"]["test"] for r in doc["records"]}
    if tests != {"latency", "bw"}:
        fail(f"expected latency and bw records, got {tests}")
    if len(doc["records"]) != 2 * 5:  # 8, 64, 512, 4K, 32K for each test
        fail(f"expected 10 records, got {len(doc['records'])}")
    for r in doc["records"]:
        if r["status"] != "ok":
            fail(f"record not ok: {r}")
        if r["identity"]["transport"] != "ucx" or r["identity"]["ranks"] != 2:
            fail(f"wrong identity {r['identity']}")


def case_latency_json(tmp):
    out = os.path.join(tmp, "out.json")
    proc = run(["p2p", "--transport", "ucx", "--test", "latency", "--sizes", "8:4K:x2", "--json", out])
    if proc.returncode != 0:
        fail("latency run failed")
    validate(out)
    doc = load(out)
    sizes = [r["identity"]["bytes"] for r in doc["records"]]
    if sizes != [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]:
        fail(f"unexpected sizes {sizes}")
    for r in doc["records"]:
        lat = r["latency_us"]
        if not (0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"]):
            fail(f"latency percentiles out of order: {lat}")
    if doc["outcome"] != "ok" or not doc["hosts"]:
        fail("document lacks outcome ok or hosts")


def case_bad_input(tmp):
    cases = [
        (["p2p", "--sizes", "1M:8"], "first size"),
        (["p2p", "--transport", "nosuch"], "unknown transport"),
        (["p2p", "--np", "3"], "even"),
        (["p2p", "--test", "fast"], "--test"),
        (["p2p", "--json", "/nonexistent-dir/x.json", "--iters", "1"], "choose another --json path"),
        (["p2p", "--bootstrap", "tcp://127.0.0.1:1", "--rank", "1", "--size", "2", "--timeout", "2",
          "--json", os.path.join(tmp, "x.json")], "rank 0"),
    ]
    for args, needle in cases:
        proc = run(args, timeout=60)
        if proc.returncode == 0:
            fail(f"{args} succeeded")
        if needle not in proc.stderr:
            fail(f"{args}: error does not mention '{needle}'")
        if "Traceback" in proc.stderr or "terminate called" in proc.stderr:
            fail(f"{args}: crashed instead of reporting")


def case_dead_rank(tmp):
    # Kill rank 1 midway: the run must fail naming it, and what was measured must stay valid.
    out = os.path.join(tmp, "dead.json")
    stream = out[:-5] + ".jsonl"
    proc = subprocess.Popen([FABRICBENCH, "p2p", "--test", "latency", "--sizes", "8:1K:x2", "--duration", "0.3",
                             "--timeout", "5", "--json", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if os.path.exists(stream) and sum(1 for _ in open(stream)) >= 2:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        fail("no records appeared")
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    if len(children) != 2:
        proc.kill()
        fail(f"expected 2 rank processes, found {children}")
    os.kill(int(sorted(children, key=int)[1]), signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=60)
    print(stdout[-2000:])
    print(stderr[-2000:], file=sys.stderr)
    if proc.returncode == 0:
        fail("run succeeded although rank 1 was killed")
    if "rank 1" not in stderr:
        fail("the error does not name rank 1")
    validate(stream, jsonl=True)
    validate(out)
    doc = load(out)
    if doc["outcome"] != "failed" or not doc.get("error"):
        fail("final document does not say the run failed")
    if not any(r["status"] == "ok" for r in doc["records"]):
        fail("records measured before the failure were lost")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def case_tcp(tmp):
    # Two processes meet at rank 0's rendezvous; a stranger with the wrong token is refused
    # without disturbing them. Rank 1 takes its settings from the environment.
    out = os.path.join(tmp, "tcp.json")
    uri = f"tcp://127.0.0.1:{free_port()}"
    common = ["p2p", "--test", "latency", "--sizes", "8:64:x8", "--iters", "50"]
    rank0 = subprocess.Popen([FABRICBENCH] + common + ["--bootstrap", uri, "--rank", "0", "--size", "2",
                              "--token", "job42", "--timeout", "30", "--json", out], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    stranger = run(common + ["--bootstrap", uri, "--rank", "1", "--size", "2", "--token", "wrong",
                             "--timeout", "10", "--json", os.path.join(tmp, "stranger.json")], timeout=60)
    if stranger.returncode == 0 or "token" not in stranger.stderr:
        rank0.kill()
        fail("a rank with the wrong token was not refused with a message about the token")
    env = {"FABRICBENCH_BOOTSTRAP": uri, "FABRICBENCH_RANK": "1", "FABRICBENCH_SIZE": "2",
           "FABRICBENCH_TOKEN": "job42"}
    rank1 = run(common + ["--timeout", "30", "--json", os.path.join(tmp, "rank1.json")], timeout=120, env=env)
    stdout, stderr = rank0.communicate(timeout=120)
    print(stdout[-2000:])
    print(stderr[-2000:], file=sys.stderr)
    if rank0.returncode != 0 or rank1.returncode != 0:
        fail(f"tcp job failed: rank 0 exit {rank0.returncode}, rank 1 exit {rank1.returncode}")
    validate(out)
    doc = load(out)
    if len(doc["records"]) != 2 or any(r["status"] != "ok" or r["identity"]["ranks"] != 2 for r in doc["records"]):
        fail(f"unexpected records {doc['records']}")


def case_list(tmp):
    proc = run(["list"])
    if proc.returncode != 0 or "loopback" not in proc.stdout or "ucx" not in proc.stdout:
        fail("list does not show loopback and ucx")
    proc = run(["list", "--json"])
    entries = json.loads(proc.stdout)
    if not any(e["name"] == "ucx" and e["usable"] for e in entries):
        fail("ucx not usable per list --json")


def case_version(tmp):
    proc = run(["--version"])
    if proc.returncode != 0 or "fabricbench" not in proc.stdout or "git" not in proc.stdout:
        fail("--version lacks version or git sha")
    proc = run(["p2p", "--help"])
    if proc.returncode != 0 or "Examples:" not in proc.stdout:
        fail("p2p --help lacks examples")


def case_info(tmp):
    proc = run(["info"])
    if proc.returncode != 0:
        fail("info failed")
    host = socket.gethostname()
    if host not in proc.stdout:
        fail(f"info does not show the hostname {host}")
    for section in ("network interfaces", "rdma devices", "gpus", "libraries"):
        if section not in proc.stdout:
            fail(f"info lacks the {section} section")
    proc = run(["info", "--json"])
    if proc.returncode != 0:
        fail("info --json failed")
    doc = json.loads(proc.stdout)
    for key in ("hostname", "kernel", "cpu", "memory_bytes", "network_interfaces", "rdma_devices", "gpus",
                "libraries", "absent"):
        if key not in doc:
            fail(f"info --json lacks {key}")
    if doc["hostname"] != host:
        fail(f"info --json hostname {doc['hostname']!r}, expected {host!r}")
    # An empty part must say why instead of looking like an oversight.
    for key in ("rdma_devices", "gpus", "network_interfaces"):
        if not doc[key] and not doc["absent"].get(key):
            fail(f"{key} is empty without a reason")


def case_counters(tmp):
    # Every measured record carries this host's counter deltas; the host section carries the
    # inventory of `fabricbench info`. Over UCX's tcp transport two local ranks talk through
    # lo, so lo's statistics must have moved by at least the payload.
    if not os.path.exists("/sys/class/net/lo/statistics/rx_bytes"):
        print("SKIP: /sys/class/net/lo/statistics does not exist here")
        return
    out = os.path.join(tmp, "counters.json")
    size, iters, window = 65536, 20, 16
    proc = run(["p2p", "--test", "latency,bw", "--sizes", f"8,{size}", "--iters", str(iters), "--warmup", "2",
                "--window", str(window), "--json", out], env={"UCX_TLS": "tcp"})
    if proc.returncode != 0:
        fail("p2p over UCX tcp failed")
    validate(out)
    validate(out[:-5] + ".jsonl", jsonl=True)
    doc = load(out)
    host = socket.gethostname()
    for r in doc["records"]:
        blocks = r.get("counters")
        if not blocks:
            fail(f"record without counters: {r['identity']} note {r.get('counters_note')!r}")
        lo = [b for b in blocks if b["device"] == "lo" and b["source"] == "netdev"]
        if len(lo) != 1 or lo[0]["host"] != host:
            fail(f"expected one lo netdev block of {host} (every rank is on this host), got {blocks}")
        for name in ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets"):
            if name not in lo[0]["deltas"]:
                fail(f"lo deltas lack {name}: {lo[0]}")
        if any(b["source"] == "ethtool" and b["device"] == "lo" for b in blocks):
            fail("lo has no driver statistics, yet an ethtool block was recorded")
        if r["identity"]["test"] == "bw" and r["identity"]["bytes"] == size:
            payload = size * window * (iters + 2)
            if lo[0]["deltas"]["tx_bytes"] < payload:
                fail(f"lo moved {lo[0]['deltas']['tx_bytes']} bytes, less than the {payload} B of payload")
    h = doc["hosts"][0]
    names = [n["name"] for n in h.get("network_interfaces", [])]
    if "lo" not in names:
        fail(f"host section lacks the network interfaces (got {names})")
    for key in ("rdma_devices", "numa_nodes"):
        if not h.get(key) and not h.get("absent", {}).get(key):
            fail(f"host section has no {key} and does not say why")


CASES = {"main": case_main, "counters": case_counters, "latency-json": case_latency_json, "bad-input": case_bad_input,
         "dead-rank": case_dead_rank, "tcp": case_tcp, "list": case_list, "version": case_version, "info": case_info}

with tempfile.TemporaryDirectory() as tmp:
    os.chdir(tmp)
    CASES[CASE](tmp)
print(f"PASS: {CASE}")
