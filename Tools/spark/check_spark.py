"""The Spark local-mode test of examples/spark/glimpse_spark.py, for bulk embedding and for
CapFilt: builds a small dataset from
Tests/Fixtures/images (two JSON Lines manifests with a bad line, a missing file and a garbage
image; two WebDataset shards, one cut in the middle of a member), runs a single-process
`glimpse embed` as the reference, then the Spark job in both modes, and checks that the union
of the Spark outputs equals the reference record for record (same records, same floats, each
error once). Prints 'N passed, N failed'; exits 1 on any failure.

Usage: python check_spark.py GLIMPSE_BINARY MODEL_FOLDER [--partitions N]
"""
import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IMAGES = os.path.join(ROOT, "Tests", "Fixtures", "images")
EXAMPLE = os.path.join(ROOT, "examples", "spark", "glimpse_spark.py")
# One record per forward pass on every side: a batched matrix product may round a row
# differently when the rows around it differ, and the partitions group records differently
# from the single run. With batches of one the outputs must match bit for bit.
BATCH = "--batch-size 1"
NAMES = ["cheetah.jpg", "grace_hopper.jpg", "lion.jpg", "horse.png", "hf-logo_transpng.png", "camera.png"]

results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    results["passed" if condition else "failed"] += 1
    print(("PASS " if condition else "FAIL ") + name + ("" if condition or not detail else ": " + detail))


def make_dataset(root):
    data = os.path.join(root, "data")
    os.makedirs(os.path.join(data, "images"))
    for name in NAMES:
        shutil.copy(os.path.join(IMAGES, name), os.path.join(data, "images", name))
    with open(os.path.join(data, "images", "garbage.jpg"), "wb") as f:
        f.write(bytes((i * 7919 + 13) % 256 for i in range(3000)))
    manifests, record_id = [], 0
    for m in range(2):
        lines = []
        for copy in range(3):
            for i, name in enumerate(NAMES):
                lines.append(json.dumps({"image": "images/" + name, "text": "photo %d of %d.%d" % (i, m, copy), "id": record_id}))
                record_id += 1
        lines.insert(2, '{"image": "images/lion.jpg", "text": not json')
        lines.insert(5, json.dumps({"image": "images/missing-%d.jpg" % m, "text": "no such file", "id": -1 - 2 * m}))
        lines.insert(9, json.dumps({"image": "images/garbage.jpg", "text": "garbage %d" % m, "id": -2 - 2 * m}))
        path = os.path.join(data, "manifest-%d.jsonl" % m)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        manifests.append(path)
    shards = []
    for s in range(2):
        path = os.path.join(data, "shard-%d.tar" % s)
        with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
            for i, name in enumerate(NAMES):
                key = "s%d-%04d" % (s, i)
                for member, payload in ((key + os.path.splitext(name)[1], open(os.path.join(IMAGES, name), "rb").read()),
                                        (key + ".txt", ("shard %d caption %d" % (s, i)).encode())):
                    info = tarfile.TarInfo(member)
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))
        if s == 1:  # cut in the middle of the last sample's image
            with tarfile.open(path) as tar:
                cut = tar.getmembers()[-2].offset_data + 1000
            with open(path, "r+b") as f:
                f.truncate(cut)
        shards.append(path)
    return manifests, shards


def json_lines(path, skip_blank=False):
    """The objects of a JSON Lines file; none when it does not exist. A blank line is an
    error unless `skip_blank` (Spark's part files may end with one)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if not skip_blank or line.strip()]


def json_lines_in(folder, keep):
    """The objects of every file in `folder` whose name `keep` accepts, in name order."""
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    return [record for name in names if keep(name) for record in json_lines(os.path.join(folder, name), skip_blank=True)]


def read_folder(folder):
    """Rows of a bulk embedding folder (all chunks, in order): (metadata, image row, text row); errors."""
    rows, chunk = [], 0
    while os.path.exists(os.path.join(folder, "metadata", "metadata_%d.jsonl" % chunk)):
        meta = json_lines(os.path.join(folder, "metadata", "metadata_%d.jsonl" % chunk))
        images = np.load(os.path.join(folder, "img_emb", "img_emb_%d.npy" % chunk))
        texts = np.load(os.path.join(folder, "text_emb", "text_emb_%d.npy" % chunk))
        assert len(meta) == images.shape[0] == texts.shape[0]
        rows += [(m, images[i].tolist(), texts[i].tolist()) for i, m in enumerate(meta)]
        chunk += 1
    return rows, json_lines(os.path.join(folder, "errors.jsonl"))


def spark(args, extra, job=None):
    """Runs the example; `job` is (subcommand arguments) for embed by default, or a capfilt job."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    job = job or ["--model", args.model, "--job-args", "--kind both " + BATCH]
    done = subprocess.run([sys.executable, EXAMPLE, "--glimpse", args.glimpse, *job, "--master", "local[%d]" % args.partitions] + extra,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
    return done


def read_capfilt(folder):
    """CapFilt records of an output folder (all chunks), and its errors."""
    records = json_lines_in(os.path.join(folder, "capfilt"), lambda name: name.endswith(".jsonl"))
    return records, json_lines(os.path.join(folder, "errors.jsonl"))


def verdicts(record):
    """What CapFilt decided for one image: every candidate with its scores and verdict."""
    return json.dumps([(c["text"], c["source"], c["itm"], c["itc"], c["kept"]) for c in record["candidates"]])


def check_capfilt(args, root, manifests, inputs):
    """CapFilt over Spark in both modes equals a single-process capfilt run, record for record."""
    fixtures = os.path.join(ROOT, "Tests", "Fixtures")
    job_args = ["--captioner", os.path.join(fixtures, "blip-caption-tiny"), "--filter", os.path.join(fixtures, "blip-itm-tiny"),
                "--captions-per-image", "2", "--max-length", "12"] + BATCH.split()
    reference = os.path.join(root, "capfilt-reference")
    single = subprocess.run([args.glimpse, "capfilt", *job_args, "--quiet", "--out", reference] + inputs,
                            stderr=subprocess.PIPE, text=True)
    check("capfilt: single-process run", single.returncode == 0, single.stderr[-2000:])
    ref, ref_errors = read_capfilt(reference)
    by_key = {r["key"]: verdicts(r) for r in ref}
    check("capfilt: reference has every good record", len(ref) == 2 * 18 + 6 + 5, "%d records" % len(ref))
    job = ["--job", "capfilt", "--job-args", " ".join(job_args)]

    out = os.path.join(root, "capfilt-shard")
    done = spark(args, ["--mode", "shard", "--partitions", str(args.partitions), "--out", out] + inputs, job)
    check("capfilt: spark shard mode runs", done.returncode == 0)
    records, errors = [], []
    for i in range(args.partitions):
        r, e = read_capfilt(os.path.join(out, "shard-%d" % i))
        records += r
        errors += e
    keys = [r["key"] for r in records]
    check("capfilt shard mode: no record duplicated", len(keys) == len(set(keys)))
    check("capfilt shard mode: same records", set(keys) == set(by_key), "%d vs %d" % (len(keys), len(by_key)))
    check("capfilt shard mode: same captions, scores and verdicts", all(by_key.get(r["key"]) == verdicts(r) for r in records))
    check("capfilt shard mode: each error once", sorted(json.dumps(e, sort_keys=True) for e in errors)
          == sorted(json.dumps(e, sort_keys=True) for e in ref_errors))

    # Pipe mode: captions are seeded by the image-text pair, not the key, so streamed records
    # get the same captions as the single run; matched by the manifests' "id".
    out = os.path.join(root, "capfilt-pipe")
    done = spark(args, ["--mode", "pipe", "--partitions", str(args.partitions), "--out", out] + manifests, job)
    check("capfilt: spark pipe mode runs", done.returncode == 0)
    lines = json_lines_in(os.path.join(out, "pipe"), lambda name: name.startswith("part-"))
    good = [l for l in lines if "error" not in l]
    ref_by_id = {r["metadata"]["id"]: verdicts(r) for r in ref if isinstance(r.get("metadata"), dict) and "id" in r["metadata"]}
    ids = [l["metadata"]["id"] for l in good]
    check("capfilt pipe mode: no record duplicated", len(ids) == len(set(ids)))
    check("capfilt pipe mode: same records", set(ids) == set(ref_by_id), "%d vs %d" % (len(ids), len(ref_by_id)))
    check("capfilt pipe mode: same captions, scores and verdicts", all(ref_by_id.get(l["metadata"]["id"]) == verdicts(l) for l in good))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("glimpse")
    p.add_argument("model")
    p.add_argument("--partitions", type=int, default=3)
    args = p.parse_args()
    args.glimpse = os.path.abspath(args.glimpse)
    root = tempfile.mkdtemp(prefix="glimpse-spark-")
    try:
        manifests, shards = make_dataset(root)
        inputs = manifests + shards
        reference = os.path.join(root, "reference")
        single = subprocess.run([args.glimpse, "embed", "--model", args.model, "--kind", "both", "--quiet"] + BATCH.split() + [
                                 "--out", reference] + inputs, stderr=subprocess.PIPE, text=True)
        check("single-process run", single.returncode == 0, single.stderr[-2000:])
        ref_rows, ref_errors = read_folder(reference)
        by_key = {m["key"]: (img, txt) for m, img, txt in ref_rows}
        check("reference has every good record", len(ref_rows) == 2 * 18 + 6 + 5, "%d rows" % len(ref_rows))
        check("reference records every failure", len(ref_errors) == 2 * 3 + 1, "%d errors" % len(ref_errors))

        # Shard mode: the union of the shard folders equals the reference, key for key.
        out = os.path.join(root, "spark-shard")
        done = spark(args, ["--mode", "shard", "--partitions", str(args.partitions), "--out", out] + inputs)
        check("spark shard mode runs", done.returncode == 0)
        rows, errors = [], []
        for i in range(args.partitions):
            r, e = read_folder(os.path.join(out, "shard-%d" % i))
            rows += r
            errors += e
        keys = [m["key"] for m, _, _ in rows]
        check("shard mode: no record duplicated", len(keys) == len(set(keys)))
        check("shard mode: same records as the single run", set(keys) == set(by_key), "%d vs %d" % (len(keys), len(by_key)))
        check("shard mode: same embeddings, bit for bit",
              all(by_key.get(m["key"]) == (img, txt) for m, img, txt in rows))
        check("shard mode: each error once", sorted(json.dumps(e, sort_keys=True) for e in errors)
              == sorted(json.dumps(e, sort_keys=True) for e in ref_errors))

        # Pipe mode (manifests): records are matched by the manifests' own "id" field.
        out = os.path.join(root, "spark-pipe")
        done = spark(args, ["--mode", "pipe", "--partitions", str(args.partitions), "--out", out] + manifests)
        check("spark pipe mode runs", done.returncode == 0)
        lines = json_lines_in(os.path.join(out, "pipe"), lambda name: name.startswith("part-"))
        good = [l for l in lines if "error" not in l]
        failed = [l for l in lines if "error" in l]
        ref_by_id = {m["metadata"]["id"]: (img, txt) for m, img, txt in ref_rows if m.get("metadata") and "id" in m["metadata"]}
        ids = [l["metadata"]["id"] for l in good]
        check("pipe mode: no record duplicated", len(ids) == len(set(ids)))
        check("pipe mode: same records as the single run", set(ids) == set(ref_by_id), "%d vs %d" % (len(ids), len(ref_by_id)))
        check("pipe mode: same embeddings, bit for bit",
              all(ref_by_id.get(l["metadata"]["id"]) == ([float(np.float32(v)) for v in l["image_embedding"]],
                                                        [float(np.float32(v)) for v in l["text_embedding"]]) for l in good))
        manifest_errors = sorted(e["reason"] for e in ref_errors if not e["key"].split(":")[0].endswith(".tar"))
        check("pipe mode: each error once", sorted(l["error"] for l in failed) == manifest_errors,
              "%s vs %s" % (sorted(l["error"] for l in failed), manifest_errors))
        check_capfilt(args, root, manifests, inputs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
