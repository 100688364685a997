#!/usr/bin/env python3
"""The Python reference for `glimpse bench-detect`: transformers' OwlViTForObjectDetection on
the same weights and image, same tasks, same output format (JSON Lines: task, queries,
threads, median_ms).

    python Tools/bench/bench_owlvit_reference.py --model DIR --image IMG [--queries 1 10] [--repeats 5] [--threads 2]

"queries": the text tower on the query set. "detect": one image with the query embeddings
computed beforehand — processor, image_embedder, class and box heads, post-processing — the
same work Glimpse times. "forward": the plain `model(**inputs)` call plus post-processing,
which re-encodes the queries for every image.
"""
import argparse, json, statistics, sys, time
from pathlib import Path

import torch
from PIL import Image
from transformers import OwlViTForObjectDetection, OwlViTProcessor
from transformers.models.owlvit.image_processing_pil_owlvit import OwlViTImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from make_owlvit_fixtures import tokenizer_for  # noqa: E402
from timing import timed

LABELS = ["a person", "a chair", "a dining table", "a bottle", "a cup", "a plate", "a window",
          "a tray", "a glass", "a hat", "a jacket", "a fork"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--queries", type=int, nargs="+", default=[1, 10])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    start = time.perf_counter()
    model = OwlViTForObjectDetection.from_pretrained(a.model).eval()
    processor = OwlViTProcessor(image_processor=OwlViTImageProcessorPil.from_pretrained(a.model),
                                tokenizer=tokenizer_for(a.model))
    emit = lambda task, n, ms: print(json.dumps({"task": task, "queries": n, "threads": a.threads, "median_ms": ms}), flush=True)
    emit("load", 0, (time.perf_counter() - start) * 1000)
    image = Image.open(a.image).convert("RGB")
    sizes = [(image.height, image.width)]
    with torch.inference_mode():
        for n in a.queries:
            texts = [LABELS[i % len(LABELS)] for i in range(n)]
            text_inputs = processor(text=[texts], return_tensors="pt")
            encode = lambda: model.owlvit.get_text_features(**text_inputs).pooler_output
            emit("queries", n, timed(encode, a.repeats))
            embeds = encode()
            embeds = (embeds / embeds.norm(dim=-1, keepdim=True))[None]

            def detect():
                pixels = processor(images=[image], return_tensors="pt")["pixel_values"]
                feature_map = model.image_embedder(pixel_values=pixels)[0]
                b, h, w, d = feature_map.shape
                feats = feature_map.reshape(b, h * w, d)
                logits, _ = model.class_predictor(feats, embeds)
                boxes = model.box_predictor(feats, feature_map)
                out = type("Out", (), {"logits": logits, "pred_boxes": boxes})
                return processor.image_processor.post_process_object_detection(out, threshold=0.1, target_sizes=sizes)

            emit("detect", n, timed(detect, a.repeats))

            def forward():
                inputs = processor(text=[texts], images=[image], return_tensors="pt")
                return processor.post_process_grounded_object_detection(model(**inputs), threshold=0.1, target_sizes=sizes)

            emit("forward", n, timed(forward, a.repeats))


if __name__ == "__main__":
    main()
