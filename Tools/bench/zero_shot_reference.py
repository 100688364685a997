#!/usr/bin/env python3
"""The Python side of the cold-start zero-shot benchmark: what `glimpse classify` does, as a
user's script would do it with transformers — import, load the model, tokenize every prompt
(padding=True), preprocess the image (PIL processor), encode both, softmax over the labels,
print the top 5. Run as a fresh process and timed whole by Tools/bench/run_all.py.

    python Tools/bench/zero_shot_reference.py --model DIR --image IMG --labels-file LABELS [--threads 2]
"""
import argparse, json
from pathlib import Path

import torch
from PIL import Image
from transformers import CLIPModel
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

from bench_clip_reference import tokenizer_for


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--labels-file", required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    text = Path(a.labels_file).read_text()
    labels = json.loads(text) if text.lstrip()[:1] == "[" else [l.strip() for l in text.splitlines() if l.strip()]
    model = CLIPModel.from_pretrained(a.model).eval()
    processor = CLIPImageProcessorPil.from_pretrained(a.model)
    ids = [x[:77] for x in tokenizer_for(a.model)([f"a photo of a {label}." for label in labels])]
    width = max(len(x) for x in ids)
    input_ids = torch.tensor([x + [49407] * (width - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    pixels = processor(images=Image.open(a.image).convert("RGB"), return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=mask, pixel_values=pixels)
    probs = out.logits_per_image.softmax(dim=-1)[0]
    top = probs.topk(5)
    for score, index in zip(top.values.tolist(), top.indices.tolist()):
        print(f"{labels[index]}\t{score:.4f}")


if __name__ == "__main__":
    main()
