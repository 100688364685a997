"""The Python side of bench_bulk_embed.py: the loop a clip-retrieval-style script runs over
WebDataset shards. Usage: python bench_bulk_embed_reference.py MODEL OUT.npy BATCH THREADS SHARD...
Prints {"images": n, "seconds": s, "images_per_s": r} (model load excluded)."""
import io, json, sys, tarfile, time

import numpy as np
import torch
from PIL import Image, ImageOps
from transformers import CLIPModel
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

model_dir, out, batch_size, threads, shards = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
torch.set_num_threads(threads)
model = CLIPModel.from_pretrained(model_dir).eval()
processor = CLIPImageProcessorPil.from_pretrained(model_dir)  # PIL resizing, as Glimpse matches


def samples():
    """(key, image bytes) per sample, members grouped by key as webdataset does."""
    for shard in shards:
        with tarfile.open(shard) as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                key, _, ext = base.partition(".")
                if ext.lower() in ("jpg", "jpeg", "png", "webp"):
                    yield key, tar.extractfile(member).read()


start = time.perf_counter()
rows, batch = [], []


def flush():
    pixels = processor(images=batch, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        features = model.get_image_features(pixel_values=pixels)
    if not isinstance(features, torch.Tensor):
        features = features.pooler_output
    rows.append(torch.nn.functional.normalize(features, dim=-1).numpy())
    batch.clear()


for key, data in samples():
    batch.append(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    if len(batch) == batch_size:
        flush()
if batch:
    flush()
seconds = time.perf_counter() - start
embeddings = np.concatenate(rows).astype(np.float32)
np.save(out, embeddings)
print(json.dumps({"images": len(embeddings), "seconds": seconds, "images_per_s": len(embeddings) / seconds}))
