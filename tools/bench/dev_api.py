#!/usr/bin/env python3
"""The dev API's benchmark (issue 12): durable PUTs, listings, a mixed run.

    python3 tools/bench/dev_api.py [--duration 10] [--mixed 60] [--no-build]

The release `hbf --dev` runs pinned to CPU 1 (`taskset -c 1`: one core, so one
tokio thread and one JavaScript worker) on a new database file; wrk runs on
CPU 0 (1 thread, 50 keep-alive connections) with tools/bench/dev_api.lua.
First 1,000 files of 1 KB are written (bench/f0.txt ... bench/f999.txt), then:

* PUT /__dev/api/file of 1 KB to those paths (each answer is a committed, durable
  write: WAL, synchronous=NORMAL, group commit);
* GET /__dev/api/files of the whole pod (1,000 files plus the pod's own);
* a mixed run (PUT, GET file, list in turn) of --mixed seconds.

Prints req/s, latency percentiles and the 5xx and 4xx counts of each.
Needs wrk, taskset, cargo. Linux only.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LUA = os.path.join(ROOT, "tools", "bench", "dev_api.lua")
TOKEN = "bench-token-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def wrk(port, mode, duration):
    env = dict(os.environ, HBF_DEV_TOKEN=TOKEN, DEV_MODE=mode)
    out = subprocess.run(
        ["taskset", "-c", "0", "wrk", "-t1", "-c50", f"-d{duration}s", "--latency",
         "-s", LUA, f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"dev_api: 5xx=(\d+) 4xx=(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": lat.get("50"),
        "p99": lat.get("99"),
        "5xx": int(errors.group(1)),
        "4xx": int(errors.group(2)),
        "socket": socket_errors.group(1) if socket_errors else "none",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--mixed", type=int, default=60)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "hbf"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "hbf")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = subprocess.Popen(
            ["taskset", "-c", "1", binary, "--dev", "--db", os.path.join(tmp, "hbf.db"),
             "--port", str(port), "--log-level", "warn"],
            env=dict(os.environ, HBF_DEV_TOKEN=TOKEN),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    request(port, "GET", "/__dev/api/files?prefix=x")
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            body = b"x" * 1023 + b"\n"
            for i in range(1000):
                request(port, "PUT", f"/__dev/api/file?path=bench/f{i}.txt", body)
            _, listing = request(port, "GET", "/__dev/api/files?prefix=")
            files = listing.count(b'"path"')
            print(f"seeded: {files} files in the listing ({len(listing)} bytes)")
            wrk(port, "list", 2)  # warm-up
            results = [
                ("PUT /__dev/api/file (1 KB, durable)", wrk(port, "put", args.duration)),
                (f"GET /__dev/api/files ({files} files)", wrk(port, "list", args.duration)),
                (f"mixed PUT/GET/list, {args.mixed} s", wrk(port, "mixed", args.mixed)),
            ]
            alive = server.poll() is None
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("| load | req/s | p50 | p99 | 5xx | 4xx | socket errors |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results:
        print(f"| {name} | {r['rps']:,.0f} | {r['p50']} | {r['p99']} | {r['5xx']} | {r['4xx']} | {r['socket']} |")
    print(f"server still running at the end: {alive}")
    return 0 if alive and all(r["5xx"] == 0 for _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
