#!/usr/bin/env python3
"""HBF's HTTP benchmark, HBF and Node.js side by side in one run.

    python3 tools/bench/bench.py [--duration 5] [--runs 3] [--out DOCS/bench-latest.md]

What it does (see DOCS/PERF.md for the numbers and how to read them):
* builds `hbf` in release mode (unless --no-build);
* servers: HBF as shipped (the base pod declares its isolation), HBF with
  each isolation mode forced (request, context, worker), and Node.js, each
  pinned to CPU 1 (`taskset -c 1`);
* cold start: for each server, the median of 5 starts on a new database, from
  exec to the first 200 on /hello;
* throughput: all servers running (idle RSS read), then route by route, each
  server in turn: wrk pinned to CPU 0 (1 thread, 50 keep-alive connections),
  a 2 s warm-up, then --runs runs of --duration seconds; keeps each server's
  median run (req/s, latency percentiles) and the RSS sampled under load;
  prints each HBF server's ratio to Node.js on the JS routes;
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


COLD_STARTS = 5


def start(argv):
    return subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cold_start_ms(make_argv):
    """Median of COLD_STARTS starts (each on a new database): ms to the first 200."""
    times = []
    for i in range(COLD_STARTS):
        port = free_port()
        began = time.monotonic()
        proc = start(make_argv(port, f"cold{i}"))
        try:
            times.append(wait_first_200(port, began) * 1000)
        finally:
            stop(proc)
    return statistics.median(times)


def measure_all(servers, args):
    """Starts every server, then for each route measures them one after the
    other (a warm-up, then `args.runs` runs back to back), so that every
    server's figures for a route come from the same minute or two of this
    shared machine. (Taking the servers in turn run by run was tried: Node.js,
    idle during the other servers' runs, measured much slower on the later
    routes: 31-38k req/s on style.css against 44-64k run back to back.)"""
    running = []
    try:
        for server in servers:
            port = free_port()
            proc = start(server["argv"](port, "bench"))
            wait_first_200(port, time.monotonic())
            time.sleep(0.5)
            running.append((server, port, proc))
            server.update(idle_kb=rss_kb(proc.pid), load_kb=0, rows=[])
        for path, label, script in ROUTES:
            for server, port, proc in running:
                wrk(port, path, 2, script)  # warm-up
                mine = []
                for _ in range(args.runs):
                    out = wrk(port, path, args.duration, script)
                    server["load_kb"] = max(server["load_kb"], rss_kb(proc.pid))
                    mine.append(parse_wrk(out))
                mine.sort(key=lambda r: r[0])
                rps, lat, _ = mine[len(mine) // 2]
                errors = sum(r[2] for r in mine)
                server["rows"].append((label, rps, lat.get("50"), lat.get("99"), errors))
                print(f"  {server['name']:44} {label:34} {rps:10.0f} req/s  p50 {lat.get('50', 0):.2f} ms  "
                      f"p99 {lat.get('99', 0):.2f} ms", file=sys.stderr)
    finally:
        for _, _, proc in running:
            stop(proc)


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
    servers = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "hbf"):
            # As shipped: no --isolation, so the base pod's own declaration
            # (`export const isolation = 'worker'`) decides; then each mode forced.
            for isolation in (None, "request", "context", "worker"):
                flag = ["--isolation", isolation] if isolation else []
                name = f"HBF `--isolation {isolation}`" if isolation else "HBF as shipped (the pod declares `worker`)"
                servers.append({
                    "name": name,
                    "argv": lambda port, tag, flag=flag, key=isolation or "shipped": [
                        binary, "--port", str(port), "--db", os.path.join(tmp, f"hbf-{key}-{tag}.db"),
                        "--log-level", "warn"] + flag,
                })
        if args.only in (None, "node"):
            version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
            servers.append({
                "name": f"Node.js {version}",
                "argv": lambda port, tag: ["node", os.path.join(BENCH, "node-server.mjs"), str(port),
                                           os.path.join(ROOT, "pods", "base", "static"),
                                           os.path.join(tmp, f"notes-{tag}")],
            })
        for server in servers:
            server["cold_ms"] = cold_start_ms(server["argv"])
            print(f"  {server['name']:44} cold start {server['cold_ms']:.1f} ms (median of {COLD_STARTS})",
                  file=sys.stderr)
        measure_all(servers, args)
    results = servers
    lines = [
        f"Run of {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores: server on CPU {SERVER_CPU}, wrk on CPU {CLIENT_CPU}, "
        f"1 thread, 50 keep-alive connections; route by route, each server gets a 2 s warm-up and {args.runs} runs of "
        f"{args.duration} s (median run); cold start: median of {COLD_STARTS} starts.",
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
    if args.only is None:
        node = results[-1]
        lines.append("")
        lines.append("Each HBF server against Node.js on the JS routes: " + "; ".join(
            f"{r['name']}: " + ", ".join(
                f"{row[0].split(' (')[0]} {row[1] / node['rows'][i][1]:.2f}x" for i, row in enumerate(r["rows"][:3]))
            for r in results[:-1]) + ".")
    lines.append("")
    lines.append(f"`hbf` release binary: {size / 1e6:.1f} MB (all requests served on one server core, so req/s = req/s per server core).")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
