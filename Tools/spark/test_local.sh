#!/usr/bin/env bash
# Runs examples/spark/glimpse_spark.py in Spark's local mode on a small fixture dataset and
# checks that the union of its outputs equals a single-process `glimpse embed`, record for
# record (Tools/spark/check_spark.py). Prints 'N passed, N failed'; exits non-zero on a mismatch.
#
# Needs Java 17+ and Python 3 with the packages of Tools/spark/requirements.txt: taken from
# $SPARK_PYTHON when set, else a virtual environment made in .build/spark-venv on first use.
# GLIMPSE_BIN selects the binary (default: built here with `swift build --product glimpse`).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ -z "${GLIMPSE_BIN:-}" ]]; then
    swift build --product glimpse >/dev/null
    GLIMPSE_BIN="$(swift build --show-bin-path)/glimpse"
fi
if [[ -z "${SPARK_PYTHON:-}" ]]; then
    venv=.build/spark-venv
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import pyspark, numpy' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet -r Tools/spark/requirements.txt
    fi
    SPARK_PYTHON="$venv/bin/python"
fi
exec "$SPARK_PYTHON" Tools/spark/check_spark.py "$GLIMPSE_BIN" Tests/Fixtures/clip-tiny --partitions "${SPARK_PARTITIONS:-3}"
