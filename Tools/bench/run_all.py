#!/usr/bin/env python3
"""Glimpse against the Python reference on the same full-size random checkpoints, in one run.

    python Tools/bench/run_all.py [--models DIR] [--rounds 3] [--append BENCHMARKS.md] [--plot FILE.png]
    python3 Tools/bench/run_all.py --smoke        # Glimpse only, tiny fixtures, seconds (CI)

Runs, alternating Glimpse and the reference in every round: CLIP B/32 (image batch 1 and 32,
1,000 ImageNet prompts, one short text, load), zero-shot classification of one image over
the 1,000 labels as a fresh process each side (CLI vs Tools/bench/zero_shot_reference.py,
wall time and peak RSS), BLIP base captioning (greedy, beam 3, 20 tokens) and OWL-ViT B/32
detection at 768 px with 4 queries; ONNX Runtime's fp32 and int8 (quantize_dynamic) CLIP vision tower
beside them, with each side's GFLOP/s as a share of the machine's fp32 peak measured by
Tools/bench/peak.c. Then, once: image throughput at batch 1/8/32/128 on 1
and 2 threads for both sides, and Glimpse's time split by op class for one image.
Prints a Markdown report (medians over rounds, ratios, each target met or missed) and a PNG
plot of throughput against batch size. Missing checkpoints are generated with the fixture
scripts' --full options. The reference needs torch, transformers, open_clip_torch, pillow,
onnx, onnxruntime and matplotlib (for the plot) in --python; --smoke needs only python3 and swift.
"""
import argparse, datetime, json, os, platform, re, statistics, subprocess, sys, time
from pathlib import Path

from precision_report import precision_report  # beside this script

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "Tools" / "bench"
FIXTURES = ROOT / "Tests" / "Fixtures"
LABELS = ROOT.parent / "shared" / "assets" / "imagenet_labels.json"
DETECTION_IMAGE = FIXTURES / "detection" / "voc_dining.jpg"
PHOTO = FIXTURES / "images" / "chelsea.png"


def run(cmd, cwd=ROOT):
    """Runs cmd as a fresh process; returns (stdout, wall seconds). Raises with stderr on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{err[-3000:]}")
    return out, wall


def run_rss(cmd, cwd=ROOT):
    """Like run, plus the child's own peak RSS in MB (wait4), for the memory target."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode})")
    return out, wall, usage.ru_maxrss / 1024


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class Samples:
    """Per (side, key) lists of milliseconds across rounds; medians on demand."""
    def __init__(self):
        self.values = {}

    def add(self, side, key, ms):
        self.values.setdefault((side, key), []).append(ms)

    def median(self, side, key):
        v = self.values.get((side, key))
        return statistics.median(v) if v else None


def ensure_models(models, python):
    wanted = {
        "clip-b32": ["make_clip_fixtures.py", "--full"],
        "blip-base-random": ["make_blip_fixtures.py", "--full"],
        "owlvit-b32": ["make_owlvit_fixtures.py", "--full"],
    }
    for name, (script, flag) in wanted.items():
        folder = models / name
        if not (folder / "model.safetensors").exists():
            print(f"generating {folder} (random full-size weights)", file=sys.stderr)
            extra = ["--patch", "32"] if name.startswith("owlvit") else []
            run([python, ROOT / "Tools" / "fixtures" / script, flag, folder, *extra])


def build_glimpse(configuration):
    subprocess.run(["swift", "build", "-c", configuration, "--product", "glimpse"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    path = subprocess.run(["swift", "build", "-c", configuration, "--show-bin-path"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    return Path(path) / "glimpse"


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
    isa = "AVX-512" if " avx512f" in flags else "AVX2+FMA" if " avx2" in flags else "baseline"
    mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return f"{cpu}, {os.cpu_count()} vCPUs, {isa}, {mem} GiB"


def round_clip(g, args, S, smoke):
    batches = ["1", "2"] if smoke else ["1", "32"]
    common = ["--batch", *batches, "--repeats", args.repeats, "--threads", args.threads]
    out, _ = run([g, "bench", "-m", args.clip, "--labels-file", args.labels, "--quiet", *common])
    for r in jsonl(out):
        S.add("glimpse", ("clip", r["task"], r["batch"]), r["median_ms"])
    # The same tasks in bf16 and int8, and fp32 again with OPENBLAS_CORETYPE unset (where it
    # is set): Glimpse's speed must not hang on which kernels OpenBLAS picked at load.
    for precision in PRECISIONS:
        out, _ = run([g, "bench", "-m", args.clip, "--labels-file", args.labels, "--quiet", "--precision", precision, *common])
        for r in jsonl(out):
            S.add(f"glimpse-{precision}", ("clip", r["task"], r["batch"]), r["median_ms"])
    if "OPENBLAS_CORETYPE" in os.environ and not smoke:
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        out = subprocess.run([str(c) for c in [g, "bench", "-m", args.clip, "--quiet", "--images-only", *common]],
                             capture_output=True, text=True, check=True, env=env).stdout
        for r in jsonl(out):
            S.add("glimpse-unset", ("clip", r["task"], r["batch"]), r["median_ms"])
    if not smoke:
        out, _ = run([args.python, BENCH / "bench_clip_reference.py", "--model", args.clip, "--labels-file", args.labels, *common])
        for r in jsonl(out):
            S.add("reference", ("clip", r["task"], r["batch"]), r["median_ms"])
        if "onnxruntime" not in args.skip:
            out, _ = run([args.python, BENCH / "bench_clip_onnxruntime.py", "--model", args.clip, *common], cwd=BENCH)
            for r in jsonl(out):
                S.add("onnxruntime", ("clip", r["task"], r["batch"]), r["median_ms"] if r["median_ms"] else r["cosine"])


PRECISIONS = ["bf16", "int8"]


def measure_peak(threads):
    """The machine's fp32 FMA peak in GFLOP/s on `threads` threads (Tools/bench/peak.c), or None."""
    binary = Path(os.environ.get("TMPDIR", "/tmp")) / "glimpse-peak"
    try:
        subprocess.run(["cc", "-O2", "-march=native", "-pthread", BENCH / "peak.c", "-o", binary], check=True,
                       capture_output=True)
        return json.loads(run([binary, threads])[0])["gflops"]
    except (OSError, subprocess.CalledProcessError, RuntimeError, ValueError) as error:
        print(f"no peak measurement: {error}", file=sys.stderr)
        return None


def image_gflop(model):
    """Multiply-adds ×2 of one image through the CLIP vision tower and projection (attention included)."""
    config = json.loads((Path(model) / "config.json").read_text())
    v = config["vision_config"]
    d, mlp, layers, patch = v["hidden_size"], v["intermediate_size"], v["num_hidden_layers"], v["patch_size"]
    grid = v["image_size"] // patch
    tokens = grid * grid + 1
    per_layer = 2 * tokens * (4 * d * d + 2 * d * mlp) + 4 * tokens * tokens * d
    projection = 2 * d * config.get("projection_dim", d)
    return (layers * per_layer + 2 * (tokens - 1) * 3 * patch * patch * d + projection) / 1e9


def round_zero_shot(g, args, S, smoke):
    cmd = [g, "classify", "--model", args.clip, args.photo, "--labels-file", args.labels,
           "--template", "a photo of a {}.", "--top", "5", "--quiet", "--threads", args.threads]
    _, wall, rss = run_rss(cmd)
    S.add("glimpse", ("zero_shot", "cold", 0), wall * 1000)
    S.add("glimpse", ("zero_shot", "rss", 0), rss)
    for precision in PRECISIONS:
        _, wall, rss = run_rss(cmd + ["--precision", precision])
        S.add(f"glimpse-{precision}", ("zero_shot", "cold", 0), wall * 1000)
        S.add(f"glimpse-{precision}", ("zero_shot", "rss", 0), rss)
    if not smoke:
        _, wall, rss = run_rss([args.python, BENCH / "zero_shot_reference.py", "--model", args.clip, "--image", args.photo,
                                "--labels-file", args.labels, "--threads", args.threads], cwd=BENCH)
        S.add("reference", ("zero_shot", "cold", 0), wall * 1000)
        S.add("reference", ("zero_shot", "rss", 0), rss)


def round_blip(g, args, S, smoke):
    out, _ = run([g, "bench", "-m", args.blip, "--repeats", args.repeats, "--threads", args.threads, "--quiet"])
    for r in jsonl(out):
        S.add("glimpse", ("blip", r["task"], 1), r["median_ms"])
    for precision in PRECISIONS:
        out, _ = run([g, "bench", "-m", args.blip, "--repeats", args.repeats, "--threads", args.threads, "--quiet",
                      "--precision", precision])
        for r in jsonl(out):
            S.add(f"glimpse-{precision}", ("blip", r["task"], 1), r["median_ms"])
    if not smoke:
        out, _ = run([args.python, BENCH / "bench_blip_reference.py", "--model", args.blip, "--repeats", args.repeats,
                      "--threads", args.threads])
        for r in jsonl(out):
            S.add("reference", ("blip", r["task"], 1), r["median_ms"])


def round_owlvit(g, args, S, smoke):
    common = ["--image", DETECTION_IMAGE, "--queries", "4", "--repeats", args.repeats, "--threads", args.threads]
    out, _ = run([g, "bench-detect", "-m", args.owlvit, "--quiet", *common])
    for r in jsonl(out):
        S.add("glimpse", ("owlvit", r["task"], r["queries"]), r["median_ms"])
    for precision in PRECISIONS:
        out, _ = run([g, "bench-detect", "-m", args.owlvit, "--quiet", "--precision", precision, *common])
        for r in jsonl(out):
            S.add(f"glimpse-{precision}", ("owlvit", r["task"], r["queries"]), r["median_ms"])
    if not smoke:
        out, _ = run([args.python, BENCH / "bench_owlvit_reference.py", "--model", args.owlvit, *common])
        for r in jsonl(out):
            S.add("reference", ("owlvit", r["task"], r["queries"]), r["median_ms"])


def scaling(g, args, S, smoke):
    """Image throughput against batch size and thread count, both sides, plus Glimpse's op split."""
    batches = ["1", "2"] if smoke else ["1", "8", "32", "128"]
    for threads in ["1", "2"]:
        common = ["--images-only", "--batch", *batches, "--repeats", args.scaling_repeats, "--threads", threads]
        out, _ = run([g, "bench", "-m", args.clip, "--quiet", *common])
        for r in jsonl(out):
            S.add("glimpse", ("scaling", r["task"], (int(threads), r["batch"])), r["median_ms"])
        if not smoke:
            out, _ = run([args.python, BENCH / "bench_clip_reference.py", "--model", args.clip, *common])
            for r in jsonl(out):
                S.add("reference", ("scaling", r["task"], (int(threads), r["batch"])), r["median_ms"])
    out, _ = run([g, "bench", "-m", args.clip, "--quiet", "--images-only", "--batch", "1", "--repeats", args.repeats,
                  "--threads", args.threads, "--profile", args.photo])
    return [(r["op"], r["median_ms"], r["percent"]) for r in jsonl(out) if r["task"] == "profile"]


def fmt(x, digits=1):
    return "–" if x is None else f"{x:,.{digits}f}"


def report(S, args, profile, smoke):
    g = lambda key: S.median("glimpse", key)
    r = lambda key: S.median("reference", key)
    lines = []
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    versions = ""
    if not smoke:
        versions = run([args.python, "-c", "import torch, transformers; print(f'PyTorch {torch.__version__}, transformers {transformers.__version__}')"])[0].strip()
    lines += [f"## {datetime.date.today()} — side-by-side run ({'smoke, tiny fixtures, Glimpse only' if smoke else 'full-size random checkpoints'})",
              "",
              f"Commit {commit}{' (with local changes)' if dirty else ''}; {machine()}; {args.threads} threads; "
              f"{args.rounds} alternating rounds, each figure the median over rounds of per-round medians of {args.repeats} repeats. "
              f"{versions}".strip(),
              "",
              f"    python Tools/bench/run_all.py --models {args.models} --rounds {args.rounds} --repeats {args.repeats}" if not smoke
              else "    python3 Tools/bench/run_all.py --smoke",
              ""]
    n_labels = next((k[2] for (side, k) in S.values if side == "glimpse" and k[:2] == ("clip", "prompts")), 0)
    b_big = 2 if smoke else 32
    rows = [
        # label, glimpse ms, reference ms, kind, goal, unit
        ("CLIP image, batch 1", g(("clip", "image", 1)), r(("clip", "image", 1)), "ratio", 1.5),
        (f"CLIP image, batch {b_big}", g(("clip", "image", b_big)), r(("clip", "image", b_big)), "ratio", 1.15),
        (f"CLIP text, {n_labels} prompts (tokenize + encode)", g(("clip", "prompts", n_labels)), r(("clip", "prompts", n_labels)), "ratio", 2.0),
        (f"Zero-shot, 1 image × {n_labels} labels, cold process", g(("zero_shot", "cold", 0)), r(("zero_shot", "cold", 0)), "ratio", 3.0),
        ("BLIP caption, greedy, 20 tokens", g(("blip", "caption_greedy", 1)), r(("blip", "caption_greedy", 1)), "ratio", 2.0),
        ("BLIP caption, beam 3, 20 tokens", g(("blip", "caption_beam3", 1)), r(("blip", "caption_beam3", 1)), "ratio", 2.0),
        ("OWL-ViT B/32 detect, 4 queries (cached)", g(("owlvit", "detect", 4)), r(("owlvit", "detect", 4)), "ratio", 1.5),
        ("CLIP one short text, end to end (ms)", g(("clip", "short_text", 1)), r(("clip", "short_text", 1)), "max_ms", 5.0),
        ("CLIP load (ms)", g(("clip", "load", 0)), r(("clip", "load", 0)), "max_ms", 300.0),
    ]
    checkpoint_mb = (Path(args.clip) / "model.safetensors").stat().st_size / 2**20
    lines += ["| measurement | Glimpse | reference | ratio | target | met |", "|---|---|---|---|---|---|"]
    for label, gv, rv, kind, goal in rows:
        ratio = rv / gv if gv and rv else None
        if kind == "ratio":
            met = "–" if ratio is None else "yes" if ratio >= goal else f"no ({ratio / goal:.0%} of it)"
            lines.append(f"| {label} | {fmt(gv)} ms | {fmt(rv)} ms | {fmt(ratio, 2)}× | ≥ {goal}× | {met} |")
        else:
            met = "–" if gv is None else "yes" if gv <= goal else f"no ({gv / goal:.1f}× the bound)"
            lines.append(f"| {label} | {fmt(gv)} ms | {fmt(rv)} ms | {fmt(ratio, 2)}× | ≤ {goal:.0f} ms | {met} |")
    rss_g, rss_r = g(("zero_shot", "rss", 0)), r(("zero_shot", "rss", 0))
    bound = checkpoint_mb + 300
    met = "–" if rss_g is None else "yes" if rss_g <= bound else "no"
    lines.append(f"| Zero-shot peak RSS (checkpoint {checkpoint_mb:.0f} MB) | {fmt(rss_g, 0)} MB | {fmt(rss_r, 0)} MB | – | ≤ {bound:.0f} MB | {met} |")
    o = lambda key: S.median("onnxruntime", key)
    if o(("clip", "image", 1)):
        flop, peak = image_gflop(args.clip), args.peak
        share = lambda ms, batch: "–" if not ms or not peak else f"{batch * flop / (ms / 1000) / peak:.0%}"
        lines += ["", f"CLIP image encoding against ONNX Runtime {args.onnxruntime_version} (vision tower exported with "
                      f"`torch.onnx.export`; int8 by `quantize_dynamic`, QInt8 weights; int8 cosine to fp32 "
                      f"{fmt(o(('clip', 'int8_cosine', b_big)), 4)}). {flop:.2f} GFLOP an image; measured fp32 FMA peak "
                      f"{fmt(peak)} GFLOP/s on {args.threads} threads (Tools/bench/peak.c).", "",
                  "| batch | Glimpse fp32 | PyTorch fp32 | ONNX Runtime fp32 | ONNX Runtime int8 | Glimpse / ORT fp32 | Glimpse / ORT int8 |",
                  "|---|---|---|---|---|---|---|"]
        for b in [1, b_big]:
            gv, rv, of, oi = g(("clip", "image", b)), r(("clip", "image", b)), o(("clip", "image", b)), o(("clip", "image_int8", b))
            cell = lambda ms: "–" if not ms else f"{b * 1000 / ms:.1f} img/s ({share(ms, b)} of peak)"
            lines.append(f"| {b} | {cell(gv)} | {cell(rv)} | {cell(of)} | {cell(oi)} | "
                         f"{fmt(of / gv if gv and of else None, 2)}× | {fmt(oi / gv if gv and oi else None, 2)}× |")
    lines += precision_report(S, args, b_big, checkpoint_mb, image_gflop(args.clip), fmt)
    forward = r(("owlvit", "forward", 4))
    if forward:
        lines += ["", f"OWL-ViT reference `model(**inputs)` (re-encodes the 4 queries every image): {fmt(forward)} ms, "
                      f"{forward / g(('owlvit', 'detect', 4)):.2f}× Glimpse's per-image time."]
    lines += ["", "Image encoding against batch size and threads (images/s):", "",
              "| threads | batch | Glimpse | reference | ratio |", "|---|---|---|---|---|"]
    keys = sorted({k[2] for (side, k) in S.values if k[:2] == ("scaling", "image")})
    for threads, batch in keys:
        gv, rv = g(("scaling", "image", (threads, batch))), r(("scaling", "image", (threads, batch)))
        ips = lambda ms: None if ms is None else batch * 1000 / ms
        lines.append(f"| {threads} | {batch} | {fmt(ips(gv))} | {fmt(ips(rv))} | {fmt(rv / gv if gv and rv else None, 2)}× |")
    if profile:
        lines += ["", "Where one image's time goes in Glimpse (decode + preprocess + encode, batch 1, from `glimpse bench --profile`):", "",
                  "| op class | ms | share |", "|---|---|---|"]
        lines += [f"| {op} | {ms:.2f} | {pct:.1f} % |" for op, ms, pct in profile]
    return "\n".join(lines) + "\n", keys


def plot(S, keys, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for side, style in [("glimpse", "-o"), ("reference", "--s")]:
        for threads in sorted({t for t, _ in keys}):
            pts = [(b, b * 1000 / S.median(side, ("scaling", "image", (threads, b))))
                   for t, b in keys if t == threads and S.median(side, ("scaling", "image", (threads, b)))]
            if pts:
                name = "Glimpse" if side == "glimpse" else "PyTorch reference"
                ax.plot(*zip(*pts), style, label=f"{name}, {threads} thread{'s' if threads > 1 else ''}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size (images)")
    ax.set_ylabel("images / s")
    ax.set_title("CLIP ViT-B/32 image encoding, fp32")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=str(ROOT.parent / "models"), help="folder for the full-size random checkpoints")
    p.add_argument("--python", default=sys.executable, help="interpreter with the reference stack")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", default="3")
    p.add_argument("--scaling-repeats", default="2")
    p.add_argument("--threads", default=str(os.cpu_count() or 1))
    p.add_argument("--append", help="append the report to this Markdown file")
    p.add_argument("--plot", help="write the throughput plot here (PNG)")
    p.add_argument("--skip", nargs="*", default=[], choices=["clip", "zero_shot", "blip", "owlvit", "scaling", "onnxruntime"])
    p.add_argument("--smoke", action="store_true", help="Glimpse only, tiny fixtures, one round: checks it all runs")
    p.add_argument("--configuration", choices=["debug", "release"],
                   help="build to time (default: release; debug with --smoke, which reuses the test build)")
    args = p.parse_args()
    S = Samples()
    if args.smoke:
        args.clip, args.blip, args.owlvit = FIXTURES / "clip-tiny", FIXTURES / "blip-caption-tiny", FIXTURES / "owlvit-tiny"
        args.rounds, args.repeats, args.scaling_repeats = 1, "1", "1"
        labels = Path(os.environ.get("TMPDIR", "/tmp")) / "glimpse-smoke-labels.txt"
        labels.write_text("\n".join(["cat", "dog", "coffee cup", "tree", "car", "bird"]) + "\n")
        args.labels = labels
    else:
        models = Path(args.models)
        ensure_models(models, args.python)
        args.clip, args.blip, args.owlvit = models / "clip-b32", models / "blip-base-random", models / "owlvit-b32"
        args.labels = LABELS
    args.photo = PHOTO
    g = build_glimpse(args.configuration or ("debug" if args.smoke else "release"))
    args.peak, args.onnxruntime_version = None, None
    if not args.smoke:
        args.peak = measure_peak(args.threads)
        probe = subprocess.run([args.python, "-c", "import onnxruntime; print(onnxruntime.__version__)"], capture_output=True, text=True)
        if probe.returncode != 0:
            print("onnxruntime not installed in --python: no ONNX Runtime peer", file=sys.stderr)
            args.skip.append("onnxruntime")
        args.onnxruntime_version = probe.stdout.strip()
    rounds = {"clip": round_clip, "zero_shot": round_zero_shot, "blip": round_blip, "owlvit": round_owlvit}
    for i in range(args.rounds):
        for name, fn in rounds.items():
            if name not in args.skip:
                print(f"round {i + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
                fn(g, args, S, args.smoke)
    profile = []
    if "scaling" not in args.skip:
        print("scaling", file=sys.stderr, flush=True)
        profile = scaling(g, args, S, args.smoke)
    text, keys = report(S, args, profile, args.smoke)
    if args.plot and keys and plot(S, keys, args.plot):
        text += f"\n![Image throughput against batch size]({os.path.relpath(args.plot, Path(args.append).parent if args.append else ROOT)})\n"
    print(text)
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n" + text)
    if args.smoke:
        missing = [k for k in [("clip", "image", 1), ("clip", "short_text", 1), ("zero_shot", "cold", 0),
                               ("blip", "caption_greedy", 1), ("owlvit", "detect", 4)] if not S.median("glimpse", k)]
        if missing:
            sys.exit(f"smoke: no figures for {missing}")


if __name__ == "__main__":
    main()
