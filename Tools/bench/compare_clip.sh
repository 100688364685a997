#!/usr/bin/env bash
# Glimpse vs the Python reference on the same CLIP weights, alternating runs, median figures,
# printed as a Markdown table (append it to BENCHMARKS.md).
#
#   Tools/bench/compare_clip.sh MODEL_DIR [PYTHON] [ROUNDS]
#
# MODEL_DIR: a CLIP folder (make a random full-size one with
#   python Tools/fixtures/make_clip_fixtures.py --full /tmp/clip-b32).
# PYTHON: an interpreter with torch + transformers + open_clip_torch (default: python3).
set -euo pipefail
model=${1:?usage: compare_clip.sh MODEL_DIR [PYTHON] [ROUNDS]}
python=${2:-python3}
rounds=${3:-3}
threads=${GLIMPSE_NUM_THREADS:-$(nproc)}
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
swift build -c release --product glimpse >/dev/null
glimpse="$(swift build -c release --show-bin-path)/glimpse"
out=$(mktemp -d)
for r in $(seq "$rounds"); do
  "$glimpse" bench --model "$model" --threads "$threads" --quiet >> "$out/glimpse.jsonl"
  "$python" Tools/bench/bench_clip_reference.py --model "$model" --threads "$threads" >> "$out/reference.jsonl"
done
"$python" - "$out" "$threads" <<'PY'
import json, statistics, sys, platform, subprocess
out, threads = sys.argv[1], sys.argv[2]
def load(name):
    rows = {}
    for line in open(f"{out}/{name}.jsonl"):
        r = json.loads(line)
        rows.setdefault((r["task"], r["batch"]), []).append(r["median_ms"])
    return {k: statistics.median(v) for k, v in rows.items()}
g, p = load("glimpse"), load("reference")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"| task | batch | Glimpse ms | reference ms | Glimpse /s | reference /s | speed-up |  (commit {commit}, {threads} threads, {cpu})")
print("|---|---|---|---|---|---|---|")
for key in sorted(g, key=lambda k: (k[0] != "load", k[0], k[1])):
    if key not in p: continue
    task, b = key
    gs = f"{b / g[key] * 1000:.1f}" if b else "-"
    ps = f"{b / p[key] * 1000:.1f}" if b else "-"
    print(f"| {task} | {b} | {g[key]:.1f} | {p[key]:.1f} | {gs} | {ps} | {p[key] / g[key]:.2f}× |")
PY
