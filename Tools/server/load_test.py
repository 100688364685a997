#!/usr/bin/env python3
"""A bounded load test of `glimpse serve` on loopback with wrk.

    python3 Tools/server/load_test.py --glimpse PATH/TO/glimpse [--seconds 10] [--report FILE.md]

Indexes the test images into a library with the tiny test CLIP, starts the server on a free
loopback port, and runs wrk (Debian's package) against a text search and a text embedding at
1 and 16 connections for --seconds each. Checks: no socket errors and no non-2xx answers, and
the server's memory flat (resident size after the last run within 10 % + 20 MB of its size
after the first). Prints a Markdown table (requests/s, p50, p99) and 'N passed, N failed'.
Only 127.0.0.1 is ever contacted; every run is bounded in time.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

from serving import Server

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def seconds(text):
    """wrk's time format: a number and one of us, ms, s, m, h."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]


def percentile(out, share):
    """One line of wrk's 'Latency Distribution' block, e.g. '     99%  389.59ms'."""
    match = re.search(rf"^\s*{share}%\s+([\d.]+(?:us|ms|s|m|h))\s*$", out, re.M)
    if not match:
        raise SystemExit(f"load test: no {share}% latency in wrk's output:\n{out}")
    return seconds(match.group(1))


def wrk(url, connections, duration):
    out = subprocess.run(["wrk", "-t", "1" if connections == 1 else "2", "-c", str(connections), "-d", f"{duration}s",
                          "--latency", "--timeout", "10s", url], capture_output=True, text=True, timeout=duration + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p99 = percentile(out, 50), percentile(out, 99)
    errors = "Socket errors" in out or "Non-2xx" in out
    return rate, p50, p99, errors, out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--glimpse", required=True)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--report")
    a = p.parse_args()
    if not shutil.which("wrk"):
        sys.exit("load test: wrk is not installed (apt-get install wrk, or Tools/setup.sh --test-tools)")
    work = Path(tempfile.mkdtemp(prefix="glimpse-load-"))
    passed = failed = 0
    server = None
    try:
        model = FIXTURES / "clip-tiny"
        photos = work / "photos"
        photos.mkdir()
        for name in os.listdir(FIXTURES / "images"):
            if name.endswith((".png", ".jpg")):
                shutil.copy(FIXTURES / "images" / name, photos / name)
        subprocess.run([a.glimpse, "index", "--model", model, "--db", work / "library", photos, "--quiet"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the deliberately broken test images exit 1
        server = Server(a.glimpse, model, work / "library", "--queue", "256")
        base = server.base
        rows, sizes = [], []
        for name, path in [("text search", "/api/search?q=a%20cat%20on%20a%20sofa&top=10"),
                           ("text embedding", "/api/embed/text?text=a%20photo%20of%20a%20dog")]:
            for connections in (1, 16):
                rate, p50, p99, errors, out = wrk(base + path, connections, a.seconds)
                sizes.append(rss_mb(server.pid))
                rows.append(f"| {name} | {connections} | {rate:,.0f} | {p50 * 1000:.2f} | {p99 * 1000:.2f} | {sizes[-1]:.0f} |")
                if errors:
                    print(f"FAILED: {name} at {connections} connections had errors:\n{out}")
                    failed += 1
                else:
                    print(f"ok: {name}, {connections} connections, {rate:,.0f} requests/s, no errors")
                    passed += 1
        flat = sizes[-1] <= sizes[0] * 1.1 + 20
        print(("ok" if flat else "FAILED") + f": memory {sizes[0]:.0f} MB after the first run, {sizes[-1]:.0f} MB after the last")
        passed, failed = passed + flat, failed + (not flat)
        table = "\n".join(["| request | connections | requests/s | p50 ms | p99 ms | server RSS MB |",
                           "|---|---|---|---|---|---|", *rows])
        print(table)
        if a.report:
            Path(a.report).write_text(table + "\n")
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
