#!/usr/bin/env python3
"""Writes the fuzz seed corpora, Tests/Fixtures/fuzz/<target>/, from the test fixtures.

Seeds are small (a few KB) valid files of every kind a target reads, plus a few broken ones,
so the fuzzer starts from inputs that reach deep into each parser. Standard library only.
Run from the repository root; it rewrites the seed folders (never the crashers folder).
"""
import gzip
import io
import json
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from byte_alphabet import bytes_to_unicode  # noqa: E402

FIXTURES = Path("Tests/Fixtures")
OUT = FIXTURES / "fuzz"


def write(target, name, data):
    folder = OUT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def copy(target, source, name=None):
    write(target, name or Path(source).name, (FIXTURES / source).read_bytes())


# safetensors ---------------------------------------------------------------------------------

def safetensors(tensors, metadata=None, header_extra=b""):
    header, data = {}, b""
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode() + header_extra
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    copy("safetensors", "torch/dtypes.safetensors")
    copy("safetensors", "clip-tiny-variant/model-00004-of-00004.safetensors", "shard.safetensors")
    write("safetensors", "mixed.safetensors", safetensors({
        "w": ("F32", [2, 3], struct.pack("<6f", 1, -2, 0.5, 3, 4, 5)),
        "h": ("F16", [2], struct.pack("<2e", 1.5, -0.25)),
        "b": ("BF16", [1, 2], b"\x80\x3f\x00\x40"),
        "d": ("F64", [1], struct.pack("<d", 2.0)),
        "i": ("I64", [0], b""),
    }, metadata={"format": "pt"}, header_extra=b"   "))
    write("safetensors", "truncated.safetensors", safetensors({"w": ("F32", [4], b"\0" * 16)})[:-5])
    # Indexes over the two shards the target provides (a: F32 [2], b: F16 [2, 2]).
    write("safetensors", "index.json", json.dumps({
        "metadata": {"total_size": 16},
        "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    write("safetensors", "index_missing.json", json.dumps({
        "weight_map": {"a": "model-00002-of-00002.safetensors", "c": "absent.safetensors"}}))


# torch ---------------------------------------------------------------------------------------

def torch_seeds():
    for name in ["views.pt", "views_protocol5.pt", "zip64.pt", "nested.pth"]:
        copy("torch", f"torch/{name}")
    for name in ["valid.pt", "short_storage.pt", "view_past_end.pt", "os_system.pt", "legacy.pt"]:
        copy("torch", f"torch/hostile/{name}", f"hostile_{name}")
    with zipfile.ZipFile(FIXTURES / "torch/views.pt") as archive:
        write("torch", "views_data.pkl", archive.read("views/data.pkl"))
    with zipfile.ZipFile(FIXTURES / "torch/views_protocol5.pt") as archive:
        pickle_name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        write("torch", "protocol5_data.pkl", archive.read(pickle_name))


# images --------------------------------------------------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def exif_block(orientation, big_endian=False):
    """A TIFF block with one IFD entry: Orientation (0x0112), SHORT, count 1."""
    if big_endian:
        return b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0\0\0\0"
    return b"II\x2a\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0\0\0\0"


def png(width, height, color_type, rows, extra=b""):
    raw = b"".join(b"\0" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
            + extra + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def image_seeds():
    synthetic = "images/synthetic"
    for name in ["exif_6.jpg", "exif_6_bigendian.jpg", "exif_3.jpg", "exif_bogus.jpg", "cmyk.jpg", "gray.jpg",
                 "truncated.jpg", "palette_trns.png", "rgba8.png", "gray_alpha16.png", "rgb16.png", "gray1.png",
                 "truncated.png", "tiny.gif"]:
        copy("image", f"{synthetic}/{name}")
    rows = [bytes((x * 40 + y * 9) % 256 for x in range(4 * 3)) for y in range(3)]
    write("image", "exif_chunk_6.png", png(4, 3, 2, rows, png_chunk(b"eXIf", exif_block(6))))
    write("image", "exif_chunk_8_bigendian.png", png(4, 3, 2, rows, png_chunk(b"eXIf", exif_block(8, True))))


# configs -------------------------------------------------------------------------------------

def config_seeds():
    for source, name in [
        ("clip-tiny/config.json", "clip_config.json"),
        ("clip-tiny/preprocessor_config.json", "clip_preprocessor_config.json"),
        ("blip-caption-tiny/config.json", "blip_config.json"),
        ("blip-caption-tiny/generation_config.json", "blip_generation_config.json"),
        ("blip-itm-tiny/preprocessor_config.json", "blip_preprocessor_config.json"),
        ("owlvit-tiny/config.json", "owlvit_config.json"),
        ("owlvit-tiny/preprocessor_config.json", "owlvit_preprocessor_config.json"),
        ("openclip-vit-tiny/open_clip_config.json", "open_clip_vit_config.json"),
        ("openclip-rn-tiny/open_clip_config.json", "open_clip_rn_config.json"),
        ("images/reference/config_squash384.json", "squash384_preprocessor_config.json"),
    ]:
        copy("config", source, name)
    write("config", "bert_config.json", json.dumps({
        "model_type": "bert", "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
        "num_attention_heads": 4, "vocab_size": 99, "max_position_embeddings": 64, "type_vocab_size": 2,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12}, indent=1))
    write("config", "longest_edge_preprocessor_config.json", json.dumps({
        "do_resize": True, "size": {"shortest_edge": 20, "longest_edge": 30}, "do_center_crop": False,
        "resample": 2, "do_rescale": True, "rescale_factor": 0.5, "do_normalize": False}, indent=1))


# tokenizers ----------------------------------------------------------------------------------

def clip_merges(count):
    with gzip.open(FIXTURES / "clip-tiny/bpe_simple_vocab_16e6.txt.gz", "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    return lines[0], [tuple(line.split()) for line in lines[1:count + 1]]


def clip_vocab(merges):
    alphabet = list(bytes_to_unicode().values())
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return {token: i for i, token in enumerate(tokens)}


def wordpiece_vocab():
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'&;")
    words += ["a", "photo", "of", "cat", "dia", "##gram", "##ing", "##s", "don", "##'", "##t", "caf", "##é", "東", "京", "naive"]
    return words


def tokenizer_seeds():
    header, merges = clip_merges(60)
    vocab = clip_vocab(merges)
    merges_text = "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    write("tokenizer", "clip_vocab_merges", json.dumps(vocab, ensure_ascii=False) + "\0" + merges_text)
    write("tokenizer", "clip_vocab_merges_crlf", json.dumps(vocab) + "\0" + merges_text.replace("\n", "\r\n"))
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as f:
        f.write((header + "\n" + "\n".join(" ".join(m) for m in merges)).encode())
    write("tokenizer", "clip_merges.txt.gz", buffer.getvalue())
    write("tokenizer", "clip_tokenizer.json", json.dumps({
        "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "special": True}],
        "model": {"type": "BPE", "vocab": vocab, "merges": [list(m) for m in merges[:30]] + [" ".join(m) for m in merges[30:]]},
    }, ensure_ascii=False))

    words = wordpiece_vocab()
    vocab_txt = "\n".join(words) + "\n"
    write("tokenizer", "vocab.txt", vocab_txt)
    write("tokenizer", "vocab_settings", vocab_txt + "\0" + json.dumps({
        "do_lower_case": False, "tokenize_chinese_chars": True, "strip_accents": None, "model_max_length": 16,
        "unk_token": "[UNK]", "additional_special_tokens": ["[DEC]"]})
        + "\0" + json.dumps({"cls_token": "[CLS]", "sep_token": {"content": "[SEP]"}, "mask_token": "[MASK]"})
        + "\0" + json.dumps({"[ENC]": len(words), "[DEC]": len(words) + 1}))
    write("tokenizer", "wordpiece_tokenizer.json", json.dumps({
        "added_tokens": [{"id": i, "content": w, "special": True} for i, w in enumerate(words[:5])]
        + [{"id": len(words), "content": "[DEC]", "special": True, "normalized": False, "lstrip": True}],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {w: i for i, w in enumerate(words)}},
    }, ensure_ascii=False) + "\0" + json.dumps({"model_max_length": 512}))


def main():
    for target in ["safetensors", "torch", "image", "config", "tokenizer"]:
        shutil.rmtree(OUT / target, ignore_errors=True)
    safetensors_seeds()
    torch_seeds()
    image_seeds()
    config_seeds()
    tokenizer_seeds()
    for folder in sorted(p for p in OUT.iterdir() if p.is_dir() and p.name != "crashers"):
        files = list(folder.iterdir())
        print(f"{folder}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    sys.exit(main())
