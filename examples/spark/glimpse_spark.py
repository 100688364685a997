"""Bulk Glimpse jobs on Apache Spark: every executor runs the `glimpse` binary on its part.

Two ways to split the work (both need the inputs on storage every executor can read):

  --mode shard  Static partitioning. Task i of N runs
                  glimpse JOB ... INPUT... --shard i/N --out OUT/shard-i
                so each task writes its own resumable output folder (for `embed`, the
                clip-retrieval layout). A failed task re-run by Spark continues its folder
                where it stopped. Works for every input kind (manifests, folders, tar shards).

  --mode pipe   Streaming. The manifests' lines become an RDD (image paths made absolute),
                and each partition is piped through
                  glimpse JOB ... --stdin --stdout
                with RDD.pipe; the JSON lines that come back (one per record; a failed record
                is {"key","source","error"}) are saved as text under OUT/pipe. JSON Lines
                manifests only (a tar shard's images are not files a line can point at).

JOB is `embed` (CLIP embeddings; --job-args e.g. "--kind both --dtype fp16") or `capfilt`
(`--job capfilt --job-args "--captioner M1 --filter M2 ..."`): both take the same
--stdin/--stdout/--shard/--out flags, so nothing else changes.

Example (local mode, 4 cores):
  spark-submit --master 'local[4]' examples/spark/glimpse_spark.py \
      --glimpse .build/release/glimpse --model openai/clip-vit-base-patch32 \
      --mode shard --partitions 4 --out /data/embeddings /data/laion/{00000..00031}.tar
"""
import argparse
import json
import os
import shlex
import subprocess
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="dataset inputs (manifests, folders, .tar shards)")
    p.add_argument("--glimpse", required=True, help="path of the glimpse binary on every executor")
    p.add_argument("--job", default="embed", choices=["embed", "capfilt"], help="glimpse subcommand")
    p.add_argument("--model", help="--model for embed (a folder or Hub id)")
    p.add_argument("--job-args", default="", help="more arguments for the subcommand, shell-quoted")
    p.add_argument("--mode", default="shard", choices=["shard", "pipe"])
    p.add_argument("--partitions", type=int, default=2, help="Spark tasks (shard: N of --shard i/N)")
    p.add_argument("--out", required=True, help="output folder (shard-i/ folders, or pipe/ text parts)")
    p.add_argument("--master", default=None, help="Spark master when not given by spark-submit")
    return p.parse_args(argv)


def glimpse_command(args):
    """The subcommand and its own arguments, without inputs or output flags."""
    command = [os.path.abspath(args.glimpse), args.job]
    if args.model:
        command += ["--model", args.model]
    command += shlex.split(args.job_args)
    return command + ["--quiet"]


def absolute_line(manifest_folder, line, image_field="image"):
    """A manifest line with its image path made absolute (relative paths in a manifest are
    relative to its folder; in --stdin mode they would be relative to the worker's cwd).
    Lines that are not JSON objects pass unchanged: glimpse reports them per record."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if isinstance(record, dict) and isinstance(record.get(image_field), str) and not record[image_field].startswith("/"):
        record[image_field] = os.path.join(manifest_folder, record[image_field])
        return json.dumps(record, ensure_ascii=False)
    return line


def run_shard(command, inputs, out, index, count):
    """One task of --mode shard: runs glimpse on part index/count; returns its summary."""
    folder = os.path.join(out, "shard-%d" % index)
    done = subprocess.run(command + ["--shard", "%d/%d" % (index, count), "--out", folder] + inputs,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError("glimpse failed on shard %d/%d (exit %d): %s" % (index, count, done.returncode, done.stderr[-2000:]))
    with open(os.path.join(folder, "summary.json")) as f:
        summary = json.load(f)
    summary["shard"] = "%d/%d" % (index, count)
    return summary


def main(argv=None):
    args = parse_args(argv)
    from pyspark import SparkConf, SparkContext

    conf = SparkConf().setAppName("glimpse-%s" % args.job)
    if args.master:
        conf = conf.setMaster(args.master)
    sc = SparkContext.getOrCreate(conf)
    command = glimpse_command(args)
    inputs = [os.path.abspath(p) for p in args.inputs]
    os.makedirs(args.out, exist_ok=True)
    try:
        if args.mode == "shard":
            count = args.partitions
            summaries = (sc.parallelize(range(count), count)
                         .map(lambda i: run_shard(command, inputs, args.out, i, count))
                         .collect())
            totals = {k: sum(s[k] for s in summaries) for k in ("in", "out", "failed")}
            print(json.dumps({"mode": "shard", "shards": summaries, **totals}))
        else:
            lines = None
            for manifest in inputs:
                folder = os.path.dirname(manifest)
                part = sc.textFile(manifest).map(lambda line, folder=folder: absolute_line(folder, line))
                lines = part if lines is None else lines.union(part)
            lines = lines.filter(lambda line: line.strip()).repartition(args.partitions)
            results = lines.pipe(" ".join(shlex.quote(c) for c in command + ["--stdin", "--stdout"]))
            target = os.path.join(args.out, "pipe")
            results.saveAsTextFile(target)
            counted = sc.textFile(target).map(lambda l: "failed" if "\"error\":" in l and json.loads(l).get("error") else "out")
            totals = counted.countByValue()
            print(json.dumps({"mode": "pipe", "in": sum(totals.values()), "out": totals.get("out", 0),
                              "failed": totals.get("failed", 0)}))
    finally:
        sc.stop()


if __name__ == "__main__":
    sys.exit(main())
