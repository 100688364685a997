#!/usr/bin/env python3
"""PyTorch's side of the training-step benchmark: transformers' CLIPModel on the same checkpoint
and the same manifest as `glimpse train clip`, the symmetric contrastive loss
(`return_loss=True`), AdamW (decoupled weight decay 0.1), gradient-norm clipping at 1, batch 32.
Prints one JSON object: the median seconds of a step after the first (data loading and
preprocessing included, as in Glimpse's images/s), images/s, and the process's peak RSS.

    python Tools/bench/bench_train_reference.py --model /tmp/models/clip-b32 --data shapes/manifest.jsonl \
        [--batch-size 32] [--steps 3] [--threads 2]
"""
import argparse, json, resource, statistics, time
from pathlib import Path


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="JSON Lines manifest: {image, text} per line, paths relative to it")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    import torch
    from PIL import Image
    from transformers import CLIPModel, CLIPProcessor
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = CLIPModel.from_pretrained(a.model).train()
    processor = CLIPProcessor.from_pretrained(a.model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.1)
    folder = Path(a.data).parent
    records = [json.loads(line) for line in open(a.data) if line.strip()]
    times = []
    for step in range(a.steps):
        start = time.perf_counter()
        batch = records[step * a.batch_size:(step + 1) * a.batch_size]
        images = [Image.open(folder / r["image"]).convert("RGB") for r in batch]
        inputs = processor(text=[r["text"] for r in batch], images=images, return_tensors="pt", padding=True)
        loss = model(**inputs, return_loss=True).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - start)
    steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
    print(json.dumps({"task": "train_step", "batch": a.batch_size, "threads": a.threads, "seconds": steady,
                      "images_per_second": a.batch_size / steady, "first_step_seconds": times[0],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
