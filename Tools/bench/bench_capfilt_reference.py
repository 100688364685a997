"""The Python side of bench_capfilt.py: BLIP's CapFilt loop with transformers.

    python bench_capfilt_reference.py CAPTIONER FILTER MANIFEST K BATCH THREADS [OUT.jsonl]

Per batch of manifest records: PIL decode, the PIL BLIP image processor (once, both models
take the same 384 px input), BlipForConditionalGeneration.generate after "a picture of" with
BLIP's CapFilt sampling (do_sample, top_p 0.9, top_k 50, repetition_penalty 1.1, max_length
30, min_length 10, K sequences per image), the prompt cut off; then the filter
(BlipForImageTextRetrieval) on the web text and the K captions: its vision tower once per
image, ITM (text encoder cross-attending to the image, itm_head, softmax) and ITC
(vision_proj / text_proj, normalised, cosine) — the computations of its forward with
use_itm_head True / False, without encoding the image again for every text.
Prints {"images", "seconds", "images_per_s"} (model load excluded).
"""
import json, sys, time
from pathlib import Path

import torch
from PIL import Image, ImageOps
from transformers import BertTokenizer, BlipForConditionalGeneration, BlipForImageTextRetrieval
from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

captioner_dir, filter_dir, manifest, k, batch_size, threads = sys.argv[1:7]
out = sys.argv[7] if len(sys.argv) > 7 else None
k, batch_size = int(k), int(batch_size)
torch.set_num_threads(int(threads))
captioner = BlipForConditionalGeneration.from_pretrained(captioner_dir, dtype=torch.float32).eval()
filter_model = BlipForImageTextRetrieval.from_pretrained(filter_dir, dtype=torch.float32).eval()
processor = BlipImageProcessorPil.from_pretrained(captioner_dir)
caption_tokenizer = BertTokenizer(str(Path(captioner_dir) / "vocab.txt"))
filter_tokenizer = BertTokenizer(str(Path(filter_dir) / "vocab.txt"))
PROMPT = "a picture of"
prompt_ids = caption_tokenizer(PROMPT, return_tensors="pt").input_ids  # [CLS] a picture of [SEP]; generate swaps in [DEC]

folder = Path(manifest).parent
records = [json.loads(line) for line in Path(manifest).read_text().splitlines() if line.strip()]
torch.manual_seed(0)
results = []
start = time.perf_counter()
with torch.inference_mode():
    for b in range(0, len(records), batch_size):
        batch = records[b:b + batch_size]
        images = [ImageOps.exif_transpose(Image.open(folder / r["image"])).convert("RGB") for r in batch]
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        sequences = captioner.generate(pixel_values=pixels, input_ids=prompt_ids.repeat(len(batch), 1), do_sample=True,
                                       top_p=0.9, top_k=50, repetition_penalty=1.1, max_length=30, min_length=10,
                                       num_return_sequences=k)
        prompt_length = prompt_ids.shape[1] - 1  # [DEC] and the prompt's pieces
        captions = [caption_tokenizer.decode(s[prompt_length:], skip_special_tokens=True) for s in sequences]
        texts, image_of, sources = [], [], []
        for i, record in enumerate(batch):
            for text, source in [(record["text"], "web")] + [(c, "synthetic") for c in captions[i * k:(i + 1) * k]]:
                texts.append(text); image_of.append(i); sources.append(source)
        ids = filter_tokenizer(texts, padding=True, return_tensors="pt")
        vision = filter_model.vision_model(pixel_values=pixels)[0]
        states = vision[image_of]
        attention = torch.ones(states.shape[:-1], dtype=torch.long)
        fused = filter_model.text_encoder(input_ids=ids.input_ids, attention_mask=ids.attention_mask,
                                          encoder_hidden_states=states, encoder_attention_mask=attention)[0]
        itm = torch.softmax(filter_model.itm_head(fused[:, 0, :]), dim=1)[:, 1]
        image_feat = torch.nn.functional.normalize(filter_model.vision_proj(vision[:, 0, :]), dim=-1)
        text_states = filter_model.text_encoder(input_ids=ids.input_ids, attention_mask=ids.attention_mask)[0]
        text_feat = torch.nn.functional.normalize(filter_model.text_proj(text_states[:, 0, :]), dim=-1)
        itc = (image_feat[image_of] * text_feat).sum(-1)
        for i, record in enumerate(batch):
            results.append({"image": record["image"], "candidates": [
                {"text": t, "source": s, "itm": float(p), "itc": float(c), "kept": bool(p > 0.5)}
                for t, s, p, c, o in zip(texts, sources, itm, itc, image_of) if o == i]})
seconds = time.perf_counter() - start
if out:
    Path(out).write_text("".join(json.dumps(r) + "\n" for r in results))
print(json.dumps({"images": len(results), "seconds": seconds, "images_per_s": len(results) / seconds}))
