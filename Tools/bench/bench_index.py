#!/usr/bin/env python3
"""Indexing a photo folder end to end (walk, decode, preprocess, encode, write): `glimpse index`
against clip-retrieval's inference path (`clip_retrieval.clip_inference`, PyTorch), on the
same folder and the same checkpoint.

    python Tools/bench/bench_index.py --model /tmp/clip-b32 --python /tmp/cr/bin/python
        [--photos DIR | --count 200] [--glimpse .build/release/glimpse] [--threads 2] [--batch-size 32] [--rounds 2]

--python is an environment with clip-retrieval (Tools/bench/requirements-clip-retrieval.txt).
Without --photos, writes --count JPEGs of 2048×1536 (quality 90) cut from the real photos in
../shared/assets/images, in five album folders. clip-retrieval loads the checkpoint as
"hf_clip:FOLDER" (transformers' CLIPModel and image processor; the folder gets the
tokenizer files it asks for); it runs with input_format "files", num_prepro_workers =
--threads, and writes its embeddings as .npy. Both sides are timed as whole processes
(model load included) alternating in every round; images/s = photos / wall time. The
largest difference between the two sides' embeddings of the same file is printed too.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT.parent / "shared" / "assets"
sys.path.insert(0, str(ROOT / "Tools" / "fixtures"))

CLIP_RETRIEVAL = """
import sys, torch
import all_clip.hf_clip
from clip_retrieval.clip_inference.main import main

# all_clip 1.3.0 predates transformers 5, whose get_image_features returns an output object
# holding the projected features rather than the tensor itself: unwrap it, nothing else changes.
def encode_image(self, image):
    out = self.inner_model.get_image_features(image.squeeze(1))
    return out if torch.is_tensor(out) else out.pooler_output
all_clip.hf_clip.HFClipWrapper.encode_image = encode_image
main(input_dataset=sys.argv[1], output_folder=sys.argv[2], input_format="files", clip_model="hf_clip:" + sys.argv[3],
     batch_size=int(sys.argv[4]), num_prepro_workers=int(sys.argv[5]), enable_text=False, enable_metadata=False,
     output_partition_count=1, use_jit=False, use_mclip=False)
"""


def make_photos(folder, count, python):
    """JPEGs of 2048×1536 (every third one portrait), each a different crop of a real photo."""
    script = """
import sys, random
from pathlib import Path
from PIL import Image
out, count, assets = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
sources = sorted(p for p in assets.iterdir() if p.suffix in (".jpg", ".png"))
rng = random.Random(0)
for i in range(count):
    image = Image.open(sources[i % len(sources)]).convert("RGB")
    w, h = image.size
    box = (rng.randint(0, w // 8), rng.randint(0, h // 8))
    image = image.crop((box[0], box[1], w - rng.randint(0, w // 8), h - rng.randint(0, h // 8)))
    size = (1536, 2048) if i % 3 == 2 else (2048, 1536)
    album = out / f"album{i % 5}"
    album.mkdir(parents=True, exist_ok=True)
    image.resize(size, Image.BICUBIC).save(album / f"IMG_{i:04d}.jpg", quality=90)
"""
    subprocess.run([python, "-c", script, str(folder), str(count), str(ASSETS / "images")], check=True)


def model_with_tokenizer(model, folder):
    """The checkpoint's files linked into `folder`, plus vocab.json and merges.txt: all_clip's
    loader builds a whole CLIPProcessor, tokenizer included."""
    from clip_vocab import write_tokenizer_files
    folder.mkdir()
    for entry in Path(model).iterdir():
        (folder / entry.name).symlink_to(entry.resolve())
    if not (folder / "vocab.json").exists():
        write_tokenizer_files(folder, ASSETS / "tokenizers" / "clip" / "bpe_simple_vocab_16e6.txt.gz")
    return folder


def timed(command, **kwargs):
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stderr[-3000:]}")
    return wall, result.stdout


def compare(library, clip_retrieval_out, photos, python):
    """Largest |difference| between the library's embedding of each photo and clip-retrieval's."""
    script = """
import sys, sqlite3, numpy as np, pandas as pd, glob, os
library, out, photos = sys.argv[1:4]
db = sqlite3.connect(os.path.join(library, "catalogue.sqlite"))
dim = db.execute("select dimension from library").fetchone()[0]
rows = np.fromfile(os.path.join(library, "embeddings.f32"), dtype="<f4").reshape(-1, dim)
ours = {os.path.join(root, path): rows[slot] for root, path, slot in db.execute("select root, path, slot from files")}
theirs = np.concatenate([np.load(p) for p in sorted(glob.glob(os.path.join(out, "img_emb", "*.npy")))])
names = pd.concat([pd.read_parquet(p) for p in sorted(glob.glob(os.path.join(out, "metadata", "*.parquet")))])["image_path"]
worst = max(float(np.abs(ours[os.path.realpath(n)] - e).max()) for n, e in zip(names, theirs))
print(len(ours), len(names), worst)
"""
    out = subprocess.run([python, "-c", script, str(library), str(clip_retrieval_out), str(photos)],
                         check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    return int(out[0]), int(out[1]), float(out[2])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--python", required=True, help="Python with clip-retrieval installed")
    p.add_argument("--photos")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--glimpse", default=str(ROOT / ".build" / "release" / "glimpse"))
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glimpse-index-bench-"))
    try:
        photos = Path(args.photos) if args.photos else work / "photos"
        if not args.photos:
            make_photos(photos, args.count, args.python)
        count = sum(1 for f in photos.rglob("*") if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
        model = model_with_tokenizer(args.model, work / "model")
        env = dict(os.environ, GLIMPSE_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
        # One batch of the same photos: the difference of the two runs is the steady rate,
        # without start-up (imports, model load, worker processes) on either side.
        first = photos.parent / "first-batch"
        if not first.exists():
            first.mkdir()
            for f in sorted(f for f in photos.rglob("*") if f.is_file())[:args.batch_size]:
                shutil.copy(f, first / f"{f.parent.name}-{f.name}")
        small = sum(1 for _ in first.iterdir())
        times = {"glimpse": {}, "clip-retrieval": {}}
        for round in range(args.rounds):
            for folder, n in ((photos, count), (first, small)):
                tag = f"{round}-{n}"
                library, out = work / f"library{tag}", work / f"clip-retrieval{tag}"
                wall, summary = timed([args.glimpse, "index", "--model", args.model, "--db", library, folder, "--quiet",
                                       "--batch-size", str(args.batch_size), "--threads", str(args.threads), "--approximate", "never"], env=env)
                assert json.loads(summary)["embedded"] == n, summary
                times["glimpse"].setdefault(n, []).append(wall)
                wall, _ = timed([args.python, "-c", CLIP_RETRIEVAL, folder, out, model, str(args.batch_size), str(args.threads)], env=env)
                times["clip-retrieval"].setdefault(n, []).append(wall)
                print(f"round {round + 1}, {n} photos: glimpse index {times['glimpse'][n][-1]:.1f} s, "
                      f"clip-retrieval {times['clip-retrieval'][n][-1]:.1f} s", file=sys.stderr)
        indexed, embedded, worst = compare(work / f"library0-{count}", work / f"clip-retrieval0-{count}", photos, args.python)
        m = {side: {n: statistics.median(t) for n, t in runs.items()} for side, runs in times.items()}
        steady = {side: (count - small) / max(1e-9, m[side][count] - m[side][small]) for side in m}
        g, c = m["glimpse"][count], m["clip-retrieval"][count]
        print(f"{count} photos, {args.threads} threads, batch {args.batch_size}, median of {args.rounds} rounds\n")
        print("| | glimpse index | clip-retrieval inference (PyTorch) | ratio |")
        print("|---|---|---|---|")
        print(f"| wall for {count} photos, s (start-up included) | {g:.1f} | {c:.1f} | {c / g:.2f}× |")
        print(f"| wall for {small} photos, s | {m['glimpse'][small]:.1f} | {m['clip-retrieval'][small]:.1f} | |")
        print(f"| images/s, end to end | {count / g:.2f} | {count / c:.2f} | |")
        print(f"| images/s, steady (difference of the two) | {steady['glimpse']:.2f} | {steady['clip-retrieval']:.2f} | "
              f"{steady['glimpse'] / steady['clip-retrieval']:.2f}× |")
        print(f"\nBoth embedded {indexed} / {embedded} photos; largest difference between the two sides' embeddings: {worst:.1e} "
              "(clip-retrieval preprocesses with transformers' default image processor, not PIL's resampling)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
