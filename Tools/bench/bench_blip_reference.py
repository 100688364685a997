#!/usr/bin/env python3
"""The Python reference for `glimpse bench` on a BLIP captioning folder: transformers'
BlipForConditionalGeneration, caption latency per image for greedy and beam-3 decoding of
exactly 20 new tokens (min_new_tokens = max_new_tokens = 20), random pixels, same JSON Lines.

    python Tools/bench/bench_blip_reference.py --model DIR [--repeats 3] [--threads 2]
"""
import argparse, json, statistics, time

import torch
from transformers import BlipForConditionalGeneration
from timing import timed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    start = time.perf_counter()
    if "BlipForImageTextRetrieval" in json.load(open(f"{a.model}/config.json")).get("architectures", []):
        return itm(a)
    model = BlipForConditionalGeneration.from_pretrained(a.model).eval()
    emit = lambda task, ms: print(json.dumps({"task": task, "batch": 1, "threads": a.threads, "median_ms": ms,
                                              "per_second": 1000 / ms}), flush=True)
    emit("load", (time.perf_counter() - start) * 1000)
    size = model.config.vision_config.image_size
    pixels = torch.rand((1, 3, size, size)) * 2 - 1
    with torch.inference_mode():
        for beams, task in [(1, "caption_greedy"), (3, "caption_beam3")]:
            emit(task, timed(lambda: model.generate(pixel_values=pixels, num_beams=beams, max_new_tokens=20,
                                                    min_new_tokens=20), a.repeats))


def itm(a):
    """ITM pairs/s: one image against 32 captions (vision encoder included), [CLS]-prefixed ids padded to the longest."""
    from transformers import BertTokenizer, BlipForImageTextRetrieval
    start = time.perf_counter()
    model = BlipForImageTextRetrieval.from_pretrained(a.model).eval()
    emit = lambda task, ms, n: print(json.dumps({"task": task, "batch": n, "threads": a.threads, "median_ms": ms,
                                                 "per_second": n * 1000 / ms}), flush=True)
    emit("load", (time.perf_counter() - start) * 1000, 1)
    tokenizer = BertTokenizer(f"{a.model}/vocab.txt")
    texts = [f"a photo of a {w} sitting on a table" for w in ITM_WORDS]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    size = model.config.vision_config.image_size
    pixels = (torch.rand((1, 3, size, size)) * 2 - 1).expand(len(texts), -1, -1, -1)
    with torch.inference_mode():
        # transformers encodes the image once per pair; that is how a user runs it on pairs.
        emit("itm_pairs", timed(lambda: model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                              pixel_values=pixels, use_itm_head=True), a.repeats), len(texts))


ITM_WORDS = ["cat", "dog", "car", "tree", "house", "bird", "boat", "person"] * 4


if __name__ == "__main__":
    main()
