#!/usr/bin/env python3
"""CapFilt pairs/s: `glimpse capfilt` against the Python reference doing the same loop, on the
same full-size random BLIP checkpoints, at K = 1 and K = 3 synthetic captions per image.

    python Tools/bench/bench_capfilt.py [--models DIR] [--images 16] [--batch-size 8] [--ks 1 3]
        [--python /tmp/ref/bin/python] [--threads N] [--rounds 1] [--glimpse BIN]

The checkpoints are DIR/blip-base-random (blip-image-captioning-base shapes) and
DIR/blip-itm-base-random (blip-itm-base-coco shapes), made by
Tools/fixtures/make_blip_fixtures.py --full / --full-itm when missing. A JSON Lines manifest
of --images records (the photos of Tests/Fixtures/images, repeated, each with a web text)
is run, alternating the two sides in every round:
  Glimpse    `glimpse capfilt --captioner C --filter F MANIFEST --out DIR` (release build):
             pairs/s = images/s from its summary.json (read, decode, caption, filter,
             write; model load excluded), and the process wall time;
  reference  Tools/bench/bench_capfilt_reference.py: PIL, transformers generate(do_sample=True,
             top_p=0.9, top_k=50, repetition_penalty=1.1, max_length=30, min_length=10,
             num_return_sequences=K), the retrieval model's ITM and ITC; load excluded.
Random weights never emit [SEP] early, so every caption runs to max_length on both sides.
Prints a Markdown table, and the largest difference between the two sides' web-text ITM and
ITC scores (the synthetic captions differ: the two sides draw from different generators).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "Tests" / "Fixtures" / "images"
NAMES = ["cheetah.jpg", "grace_hopper.jpg", "lion.jpg", "horse.png", "chelsea.png", "camera.png"]
TEXTS = ["a cheetah in the grass", "a woman in uniform", "a lion", "a horse", "a cat on a blanket", "a man with a camera"]


def ensure(models, python):
    for name, flag in [("blip-base-random", "--full"), ("blip-itm-base-random", "--full-itm")]:
        if not (models / name / "model.safetensors").exists():
            print(f"generating {models / name} (random full-size weights)", file=sys.stderr)
            subprocess.run([python, str(ROOT / "Tools" / "fixtures" / "make_blip_fixtures.py"), flag, str(models / name)], check=True)
    return models / "blip-base-random", models / "blip-itm-base-random"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=str(ROOT.parent / "models"))
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--images", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--ks", type=int, nargs="+", default=[1, 3])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--glimpse", help="binary (default: swift build -c release)")
    args = p.parse_args()
    captioner, filter_model = ensure(Path(args.models), args.python)
    glimpse = args.glimpse
    if not glimpse:
        subprocess.run(["swift", "build", "-c", "release", "--product", "glimpse"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        glimpse = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.strip() + "/glimpse"
    work = Path(tempfile.mkdtemp(prefix="glimpse-capfilt-bench-"))
    try:
        (work / "images").mkdir()
        for name in NAMES:
            shutil.copy(IMAGES / name, work / "images" / name)
        manifest = work / "manifest.jsonl"
        manifest.write_text("".join(json.dumps({"image": "images/" + NAMES[i % len(NAMES)], "text": TEXTS[i % len(TEXTS)]}) + "\n"
                                    for i in range(args.images)))
        rows, worst = [], (0.0, 0.0)
        for k in args.ks:
            rates = {"glimpse": [], "reference": []}
            walls = {"glimpse": [], "reference": []}
            for r in range(args.rounds):
                out = work / f"out-k{k}-{r}"
                start = time.perf_counter()
                subprocess.run([glimpse, "capfilt", "--captioner", str(captioner), "--filter", str(filter_model),
                                "--captions-per-image", str(k), "--batch-size", str(args.batch_size), "--threads", str(args.threads),
                                "--quiet", "--out", str(out), str(manifest)], check=True)
                walls["glimpse"].append(time.perf_counter() - start)
                summary = json.loads((out / "summary.json").read_text())
                assert summary["out"] == args.images, summary
                rates["glimpse"].append(summary["capfilt"]["images"] / summary["elapsed_s"])

                ref_out = work / f"ref-k{k}-{r}.jsonl"
                start = time.perf_counter()
                done = subprocess.run([args.python, str(ROOT / "Tools" / "bench" / "bench_capfilt_reference.py"), str(captioner),
                                       str(filter_model), str(manifest), str(k), str(args.batch_size), str(args.threads), str(ref_out)],
                                      check=True, stdout=subprocess.PIPE, text=True)
                walls["reference"].append(time.perf_counter() - start)
                rates["reference"].append(json.loads(done.stdout.strip().splitlines()[-1])["images_per_s"])
                ours = [json.loads(l) for l in (out / "capfilt" / "00000.jsonl").read_text().splitlines()]
                theirs = [json.loads(l) for l in ref_out.read_text().splitlines()]
                for a, b in zip(ours, theirs):
                    wa, wb = a["candidates"][0], b["candidates"][0]
                    assert wa["source"] == wb["source"] == "web" and wa["text"] == wb["text"]
                    worst = (max(worst[0], abs(wa["itm"] - wb["itm"])), max(worst[1], abs(wa["itc"] - wb["itc"])))
            g, ref = statistics.median(rates["glimpse"]), statistics.median(rates["reference"])
            rows.append((k, g, ref, statistics.median(walls["glimpse"]), statistics.median(walls["reference"])))
        print(f"| CapFilt, base captioner + base ITM filter, {args.images} pairs, batch {args.batch_size}, {args.threads} threads "
              f"| Glimpse pairs/s | Python reference pairs/s | ratio | wall s (load included): Glimpse / reference |")
        print("|---|---|---|---|---|")
        for k, g, ref, wg, wr in rows:
            print(f"| K = {k} synthetic captions per image | {g:.3f} | {ref:.3f} | {g / ref:.2f}× | {wg:.1f} / {wr:.1f} |")
        print(f"\nlargest |difference| of the web texts' scores between the two sides: ITM {worst[0]:.1e}, ITC {worst[1]:.1e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
