#!/usr/bin/env python3
"""The Python reference for `glimpse bench`: transformers' CLIPModel on the same weights,
same tasks (image, text, prompts, short_text), same output format (JSON Lines: task, batch, threads, median_ms, per_second).

    python Tools/bench/bench_clip_reference.py --model DIR [--batch 1 32] [--repeats 5] [--threads 2]
"""
import argparse, json, statistics, time
from pathlib import Path

import torch
from transformers import CLIPModel
from timing import timed


def tokenizer_for(folder):
    gz = Path(folder) / "bpe_simple_vocab_16e6.txt.gz"
    if gz.exists():
        from open_clip.tokenizer import SimpleTokenizer
        tok = SimpleTokenizer(str(gz))
        return lambda texts: [[49406] + tok.encode(t) + [49407] for t in texts]
    from transformers import CLIPTokenizer
    tok = CLIPTokenizer.from_pretrained(folder)
    return lambda texts: tok(texts)["input_ids"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--labels-file")
    p.add_argument("--images-only", action="store_true")
    p.add_argument("--texts-only", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    start = time.perf_counter()
    model = CLIPModel.from_pretrained(a.model).eval()
    emit = lambda task, b, ms: print(json.dumps({"task": task, "batch": b, "threads": a.threads, "median_ms": ms,
                                                 "per_second": (b / ms * 1000) if b else None}), flush=True)
    emit("load", 0, (time.perf_counter() - start) * 1000)
    labels = ["cat", "dog", "car", "tree", "house", "bird", "boat", "person"]
    if a.labels_file:
        text = Path(a.labels_file).read_text()
        labels = json.loads(text) if text.lstrip()[:1] == "[" else [l.strip() for l in text.splitlines() if l.strip()]
    tokenize = tokenizer_for(a.model)
    size = model.config.vision_config.image_size

    def encode(texts):
        """Tokenize, pad to the longest (padding=True), encode: what a user's script does."""
        ids = [x[:77] for x in tokenize(texts)]
        width = max(len(x) for x in ids)
        input_ids = torch.tensor([x + [49407] * (width - len(x)) for x in ids])
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
        return model.get_text_features(input_ids=input_ids, attention_mask=mask)
    with torch.inference_mode():
        for b in a.batch:
            if not a.texts_only:
                pixels = torch.rand((b, 3, size, size)) * 2 - 1
                emit("image", b, timed(lambda: model.get_image_features(pixel_values=pixels), a.repeats))
            if not a.images_only:
                ids = tokenize([f"a photo of a {labels[i % len(labels)]}." for i in range(b)])
                width = max(len(x) for x in ids)  # padding=True: pad to the longest
                input_ids = torch.tensor([x + [49407] * (width - len(x)) for x in ids])
                mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
                emit("text", b, timed(lambda: model.get_text_features(input_ids=input_ids, attention_mask=mask), a.repeats))
        if not a.images_only:
            prompts = [f"a photo of a {label}." for label in labels]
            emit("prompts", len(prompts), timed(lambda: encode(prompts), a.repeats))
            emit("short_text", 1, timed(lambda: encode(["a photo of a cat"]), a.repeats))


if __name__ == "__main__":
    main()
