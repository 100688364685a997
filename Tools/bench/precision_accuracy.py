#!/usr/bin/env python3
"""What bf16 and int8 cost in accuracy, against fp32 on the same weights, through the `glimpse`
command as a user runs it. Prints a Markdown table (for BENCHMARKS.md) and one JSON object.

    python3 Tools/bench/precision_accuracy.py --glimpse .build/release/glimpse --models /tmp/models \
        [--minilm ../shared/assets/models/all-MiniLM-L6-v2]

Per precision:
- CLIP B/32 (--models/clip-b32): cosine of image and text embeddings to fp32 (minimum, mean);
  zero-shot over the 1,000 ImageNet classes ("a photo of a {}."): share of photos whose top-1,
  and whose top-5 set, equal fp32's.
- all-MiniLM-L6-v2 (real weights): cosine of sentence embeddings.
- BLIP base (--models/blip-base-random): share of greedy captions identical to fp32's.
- OWL-ViT B/32 (--models/owlvit-b32): share of fp32 detections found again (same label,
  IoU ≥ 0.9), and the largest score difference among them.
Needs only python3 (no numpy).
"""
import argparse, json, math, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT.parent / "shared" / "assets"
TEXTS = ["a photo of a cat", "a diagram of a neural network", "two dogs playing in the snow at night",
         "an astronaut riding a horse on the moon", "a red double-decker bus in London", "the interior of a department store",
         "a close-up of a flower with a bee", "a rocket launching from a pad at dawn", "a portrait of a woman in uniform",
         "a tower against a blue sky"]
SENTENCES = ["The cat sits on the mat.", "A man is playing a guitar on stage.", "Stock markets fell sharply on Monday.",
             "How do I reset my password?", "The mitochondria is the powerhouse of the cell.", "Il pleut des cordes.",
             "She sells sea shells by the sea shore.", "Quantum computers use qubits instead of bits."]


def run(cmd):
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{out.stderr[-2000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0])); h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def photos():
    return sorted(str(p) for p in (ASSETS / "images").iterdir() if p.suffix in (".jpg", ".png"))


def measure(g, models, minilm, precision, photo_list):
    r = {}
    common = ["--precision", precision, "--quiet"]
    clip = models / "clip-b32"
    if clip.exists():
        args = [a for p in photo_list for a in ("--image", p)] + [a for t in TEXTS for a in ("--text", t)]
        r["clip"] = [row["embedding"] for row in run([g, "embed", "-m", clip, *common, *args])]
        r["zero_shot"] = [[l["label"] for l in row["labels"]] for row in
                          run([g, "classify", "-m", clip, *common, "--labels-file", ASSETS / "imagenet_labels.json",
                               "--template", "a photo of a {}.", "--top", "5", *photo_list])]
    if minilm and Path(minilm).exists():
        r["minilm"] = [row["embedding"] for row in run([g, "embed", "-m", minilm, *common, *[a for t in SENTENCES for a in ("--text", t)]])]
    blip = models / "blip-base-random"
    if blip.exists():
        r["blip"] = [row["captions"][0]["text"] for row in run([g, "caption", "-m", blip, *common, *photo_list[:8]])]
    owl = models / "owlvit-b32"
    if owl.exists():
        image = ASSETS / "detection" / "voc_dining.jpg"
        r["owlvit"] = run([g, "detect", "-m", owl, *common, "--threshold", "0.1", image,
                           "--query", "a person", "--query", "a chair", "--query", "a table", "--query", "a bottle"])[0]["detections"]
    return r


def compare(exact, other):
    c = {}
    if "clip" in exact:
        cos = [cosine(a, b) for a, b in zip(exact["clip"], other["clip"])]
        c["clip_cosine_min"], c["clip_cosine_mean"] = min(cos), sum(cos) / len(cos)
        pairs = list(zip(exact["zero_shot"], other["zero_shot"]))
        c["top1_agreement"] = sum(a[0] == b[0] for a, b in pairs) / len(pairs)
        c["top5_agreement"] = sum(set(a) == set(b) for a, b in pairs) / len(pairs)
    if "minilm" in exact:
        cos = [cosine(a, b) for a, b in zip(exact["minilm"], other["minilm"])]
        c["minilm_cosine_min"] = min(cos)
    if "blip" in exact:
        c["blip_identical"] = sum(a == b for a, b in zip(exact["blip"], other["blip"])) / len(exact["blip"])
    if "owlvit" in exact:
        found, worst = 0, 0.0
        for d in exact["owlvit"]:
            match = [o for o in other["owlvit"] if o["label"] == d["label"] and iou(o["box"], d["box"]) >= 0.9]
            if match:
                found += 1
                worst = max(worst, min(abs(o["score"] - d["score"]) for o in match))
        c["owlvit_found"] = found / max(len(exact["owlvit"]), 1)
        c["owlvit_detections"] = len(exact["owlvit"])
        c["owlvit_score_diff_max"] = worst
    return c


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--glimpse", default=ROOT / ".build" / "release" / "glimpse")
    p.add_argument("--models", type=Path, default=Path("/tmp/models"))
    p.add_argument("--minilm", default=ASSETS / "models" / "all-MiniLM-L6-v2")
    a = p.parse_args()
    photo_list = photos()
    exact = measure(a.glimpse, a.models, a.minilm, "fp32", photo_list)
    results = {q: compare(exact, measure(a.glimpse, a.models, a.minilm, q, photo_list)) for q in ("bf16", "int8")}
    f = lambda v, d=4: "–" if v is None else f"{v:.{d}f}"
    pct = lambda v: "–" if v is None else f"{v:.0%}"
    print(f"| measure ({len(photo_list)} photos, {len(TEXTS)} texts) | bf16 | int8 | target |")
    print("|---|---|---|---|")
    rows = [("CLIP B/32 embeddings, min cosine to fp32", "clip_cosine_min", f, "bf16 ≥ 0.9995, int8 ≥ 0.999"),
            ("CLIP B/32 embeddings, mean cosine", "clip_cosine_mean", f, ""),
            ("all-MiniLM-L6-v2 (real), min cosine", "minilm_cosine_min", f, "bf16 ≥ 0.9995, int8 ≥ 0.999"),
            ("zero-shot, 1,000 classes: top-1 same as fp32", "top1_agreement", pct, ""),
            ("zero-shot: top-5 set same as fp32", "top5_agreement", pct, ""),
            ("BLIP base greedy captions identical to fp32", "blip_identical", pct, ""),
            ("OWL-ViT B/32 fp32 detections found (IoU ≥ 0.9)", "owlvit_found", pct, ""),
            ("OWL-ViT largest score difference", "owlvit_score_diff_max", f, "")]
    for name, key, fmt, target in rows:
        print(f"| {name} | {fmt(results['bf16'].get(key))} | {fmt(results['int8'].get(key))} | {target} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
