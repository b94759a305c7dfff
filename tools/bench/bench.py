#!/usr/bin/env python3
"""HBF's HTTP benchmark, HBF and Node.js side by side in one run.

    python3 tools/bench/bench.py [--duration 5] [--runs 3] [--out DOCS/bench-latest.md]

What it does (see DOCS/PERF.md for the numbers and how to read them):
* builds `hbf` in release mode (unless --no-build);
* for each server (HBF as shipped, where the base pod declares its isolation;
  HBF with each isolation mode forced: request, context, worker; Node.js),
  starts it pinned to CPU 1 (`taskset -c 1`), waits for the first 200 (the
  cold start), reads its idle RSS, then for each route runs wrk pinned to
  CPU 0 (1 thread, 50 keep-alive connections): a warm-up, then --runs runs of
  --duration seconds; keeps the median run's req/s and latency percentiles and
  the RSS sampled during the load;
* prints a Markdown table (and writes it to --out).

Needs: wrk and taskset (Debian: wrk, util-linux), node, cargo. Linux only.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "tools", "bench")
ROUTES = [
    ("/hello", "GET /hello (JS)", None),
    ("/user/42", "GET /user/42 (JS)", None),
    ("/echo", "GET /echo (JS)", None),
    ("/static/style.css", "GET /static/style.css (2 KB)", None),
    ("/static/favicon.ico", "GET /static/favicon.ico", None),
    ("/notes/x", "PUT /notes/:name (durable write)", os.path.join(BENCH, "put.lua")),
]
SERVER_CPU = "1"
CLIENT_CPU = "0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_first_200(port, start, timeout=20.0):
    """Seconds from `start` to the first 200 on /hello."""
    deadline = start + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except Exception:
            time.sleep(0.0005)
    raise RuntimeError(f"no 200 from port {port} within {timeout}s")


def parse_wrk(text):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", text)
        if m:
            value, unit = float(m.group(1)), m.group(2)
            lat[pct] = value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors:.*?connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
    return rps, lat, errors


def wrk(port, path, duration, script):
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", "-c50", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def measure(name, argv, port, args, env=None):
    start = time.monotonic()
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        cold = wait_first_200(port, start)
        time.sleep(0.5)
        idle = rss_kb(proc.pid)
        rows = []
        peak = idle
        for path, label, script in ROUTES:
            wrk(port, path, 2, script)  # warm-up
            runs = []
            for _ in range(args.runs):
                out = wrk(port, path, args.duration, script)
                peak = max(peak, rss_kb(proc.pid))
                runs.append(parse_wrk(out))
            runs.sort(key=lambda r: r[0])
            rps, lat, errors = runs[len(runs) // 2]
            rows.append((label, rps, lat.get("50"), lat.get("99"), sum(r[2] for r in runs)))
            print(f"  {name:24} {label:34} {rps:10.0f} req/s  p50 {lat.get('50', 0):.2f} ms  p99 {lat.get('99', 0):.2f} ms", file=sys.stderr)
        loaded = rss_kb(proc.pid)
        return {"name": name, "cold_ms": cold * 1000, "idle_kb": idle, "load_kb": max(peak, loaded), "rows": rows}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", default=None)
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--only", choices=["hbf", "node"], default=None)
    args = p.parse_args()
    for tool in ("wrk", "taskset", "node"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing (apt-get install wrk util-linux nodejs)")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "hbf"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "hbf")
    size = os.path.getsize(binary)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "hbf"):
            # As shipped: no --isolation, so the base pod's own declaration
            # (`export const isolation = 'worker'`) decides; then each mode forced.
            for isolation in (None, "request", "context", "worker"):
                port = free_port()
                db = os.path.join(tmp, f"hbf-{isolation or 'shipped'}.db")
                flag = ["--isolation", isolation] if isolation else []
                name = f"HBF `--isolation {isolation}`" if isolation else "HBF as shipped (the pod declares `worker`)"
                results.append(measure(name, [binary, "--port", str(port), "--db", db, "--log-level", "warn"] + flag,
                                       port, args))
        if args.only in (None, "node"):
            port = free_port()
            results.append(measure("Node.js " + subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
                                   ["node", os.path.join(BENCH, "node-server.mjs"), str(port),
                                    os.path.join(ROOT, "pods", "base", "static"), os.path.join(tmp, "notes")],
                                   port, args))
    lines = [
        f"Run of {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores: server on CPU {SERVER_CPU}, wrk on CPU {CLIENT_CPU}, "
        f"1 thread, 50 keep-alive connections, {args.runs} runs of {args.duration} s after a 2 s warm-up (median run).",
        "",
        "| route | " + " | ".join(r["name"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for i, (_, label, _) in enumerate(ROUTES):
        cells = []
        for r in results:
            _, rps, p50, p99, errors = r["rows"][i]
            err = f", {errors} errors" if errors else ""
            cells.append(f"{rps:,.0f} req/s (p50 {p50 or 0:.2f} ms, p99 {p99 or 0:.2f} ms{err})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| cold start to first 200 | " + " | ".join(f"{r['cold_ms']:.1f} ms" for r in results) + " |")
    lines.append("| RSS idle / under load | " + " | ".join(f"{r['idle_kb'] / 1024:.1f} / {r['load_kb'] / 1024:.1f} MB" for r in results) + " |")
    lines.append("")
    lines.append(f"`hbf` release binary: {size / 1e6:.1f} MB (all requests served on one server core, so req/s = req/s per server core).")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
