#!/usr/bin/env python3
"""Bulk CLIP image embedding from WebDataset shards, decode included: Glimpse against the
Python reference doing the same loop, on the same checkpoint.

    python Tools/bench/bench_bulk_embed.py --model /tmp/clip-b32 [--images 512] [--shards 4]
        [--python /tmp/ref/bin/python] [--threads N] [--batch-size 32] [--rounds 2]

Builds tar shards of JPEG/PNG photos (Tests/Fixtures/images, repeated) with captions, then
times, alternating in every round:
  Glimpse    `glimpse embed --model M SHARDS --out DIR` (release build): images/s from its
             summary.json (read, decode, preprocess, encode, write; model load excluded),
             and the process wall time;
  reference  Tools/bench/bench_bulk_embed_reference.py in --python: tarfile members grouped
             by key, PIL decode + convert("RGB"), the PIL CLIP image processor, CLIPModel.get_image_features,
             L2 normalise, batches of --batch-size; images/s over the loop, load excluded.
Prints a Markdown table and the largest difference between the two sides' embeddings.
"""
import argparse, io, json, os, shutil, statistics, subprocess, sys, tarfile, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "Tests" / "Fixtures" / "images"
NAMES = ["cheetah.jpg", "grace_hopper.jpg", "lion.jpg", "horse.png", "chelsea.png", "camera.png"]


def make_shards(folder, count, shards):
    paths = [folder / f"{s:05d}.tar" for s in range(shards)]
    tars = [tarfile.open(p, "w") for p in paths]
    payloads = {n: (IMAGES / n).read_bytes() for n in NAMES}
    for i in range(count):
        name = NAMES[i % len(NAMES)]
        tar = tars[i * shards // count]
        key = f"{i:09d}"
        for member, data in ((key + Path(name).suffix, payloads[name]), (key + ".txt", f"photo {i}".encode())):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    for t in tars:
        t.close()
    return paths


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--glimpse", help="binary (default: swift build -c release)")
    args = p.parse_args()
    glimpse = args.glimpse
    if not glimpse:
        subprocess.run(["swift", "build", "-c", "release", "--product", "glimpse"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        glimpse = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.strip() + "/glimpse"
    work = Path(tempfile.mkdtemp(prefix="glimpse-bulk-bench-"))
    try:
        shards = make_shards(work, args.images, args.shards)
        rates = {"glimpse": [], "reference": []}
        walls = {"glimpse": [], "reference": []}
        for r in range(args.rounds):
            out = work / f"out{r}"
            start = time.perf_counter()
            subprocess.run([glimpse, "embed", "--model", args.model, "--quiet", "--threads", str(args.threads),
                            "--batch-size", str(args.batch_size), "--out", str(out)] + [str(s) for s in shards], check=True)
            walls["glimpse"].append(time.perf_counter() - start)
            summary = json.loads((out / "summary.json").read_text())
            assert summary["out"] == args.images, summary
            rates["glimpse"].append(summary["in"] / summary["elapsed_s"])

            ref_out = work / f"ref{r}.npy"
            start = time.perf_counter()
            done = subprocess.run([args.python, str(ROOT / "Tools" / "bench" / "bench_bulk_embed_reference.py"), args.model,
                                   str(ref_out), str(args.batch_size), str(args.threads)] + [str(s) for s in shards],
                                  check=True, stdout=subprocess.PIPE, text=True)
            walls["reference"].append(time.perf_counter() - start)
            rates["reference"].append(json.loads(done.stdout.strip().splitlines()[-1])["images_per_s"])

        import numpy as np
        ours = np.concatenate([np.load(out / "img_emb" / f) for f in sorted(os.listdir(out / "img_emb"), key=lambda n: int(n[8:-4]))])
        theirs = np.load(ref_out)
        diff = float(np.abs(ours.astype(np.float64) - theirs).max())
        g, ref = statistics.median(rates["glimpse"]), statistics.median(rates["reference"])
        print(f"| bulk B/32 image embedding, {args.images} images in {args.shards} WebDataset shards, batch {args.batch_size}, "
              f"{args.threads} threads | Glimpse | Python reference | ratio |")
        print("|---|---|---|---|")
        print(f"| images/s (decode included, load excluded) | {g:.1f} | {ref:.1f} | {g / ref:.2f}× |")
        print(f"| process wall time, s (load included) | {statistics.median(walls['glimpse']):.1f} | "
              f"{statistics.median(walls['reference']):.1f} | |")
        print(f"\nlargest |difference| between the embeddings: {diff:.2e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
