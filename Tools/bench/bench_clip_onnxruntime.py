#!/usr/bin/env python3
"""ONNX Runtime as a peer for `glimpse bench`: the CLIP vision tower (pixels → projected image
features) exported with torch.onnx.export from transformers' CLIPModel on the same weights,
run by ONNX Runtime's CPU provider in fp32, and in int8 after
onnxruntime.quantization.quantize_dynamic (QInt8 weights, dynamic per-tensor uint8 activations)
— what an engineer deploying CLIP on CPUs does. Same output format as the other reference
scripts (JSON Lines: task, batch, threads, median_ms, per_second); task "image" is fp32,
"image_int8" is int8, and "int8_cosine" carries the mean cosine of int8 to fp32 features.

    python Tools/bench/bench_clip_onnxruntime.py --model DIR [--batch 1 32] [--repeats 5] [--threads 2]

The exported and quantized models are cached in DIR/onnx/ (made once, reused).
"""
import argparse, json
from pathlib import Path

import numpy as np
from timing import timed


def export(model_dir, onnx_dir):
    """Exports the vision tower once; returns (fp32 path, int8 path)."""
    fp32, int8 = onnx_dir / "vision.onnx", onnx_dir / "vision.int8.onnx"
    if fp32.exists() and int8.exists():
        return fp32, int8
    import torch
    from transformers import CLIPModel
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = CLIPModel.from_pretrained(model_dir).eval()

    class Vision(torch.nn.Module):
        def __init__(self, clip):
            super().__init__()
            self.clip = clip

        def forward(self, pixel_values):
            return self.clip.get_image_features(pixel_values=pixel_values)

    size = model.config.vision_config.image_size
    onnx_dir.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        torch.onnx.export(Vision(model), (torch.rand(1, 3, size, size),), str(fp32), input_names=["pixel_values"],
                          output_names=["image_embeds"], dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
                          opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def session(path, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--images-only", action="store_true", help="accepted for symmetry with the other scripts")
    p.add_argument("--labels-file", help="ignored: only the vision tower is exported")
    a = p.parse_args()
    import onnxruntime as ort
    fp32_path, int8_path = export(a.model, Path(a.model) / "onnx")
    fp32, int8 = session(fp32_path, a.threads), session(int8_path, a.threads)
    size = fp32.get_inputs()[0].shape[2] if isinstance(fp32.get_inputs()[0].shape[2], int) else 224
    emit = lambda task, b, ms: print(json.dumps({"task": task, "batch": b, "threads": a.threads, "median_ms": ms,
                                                 "per_second": (b / ms * 1000) if b and ms else None,
                                                 "version": ort.__version__}), flush=True)
    rng = np.random.default_rng(0)
    for b in a.batch:
        pixels = (rng.random((b, 3, size, size), dtype=np.float32) * 2 - 1).astype(np.float32)
        feed = {"pixel_values": pixels}
        emit("image", b, timed(lambda: fp32.run(None, feed), a.repeats))
        emit("image_int8", b, timed(lambda: int8.run(None, feed), a.repeats))
        x, y = fp32.run(None, feed)[0], int8.run(None, feed)[0]
        cosine = float(np.mean(np.sum(x * y, 1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))))
        print(json.dumps({"task": "int8_cosine", "batch": b, "threads": a.threads, "median_ms": None, "cosine": cosine}), flush=True)


if __name__ == "__main__":
    main()
