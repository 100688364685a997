#!/usr/bin/env bash
# Installs the system libraries Glimpse links against, if they are missing (idempotent).
#   Debian/Ubuntu: OpenBLAS, libjpeg-turbo, libpng, zlib, libarchive, SQLite
#   (photo library catalogues, through GRDB), FAISS (approximate search), oneDNN (pre-packed
#   fp32/bf16/int8 linear layers), pkg-config.
#   macOS (Homebrew): jpeg-turbo, libpng, libarchive, pkg-config; BLAS comes from Accelerate.
# Swift 6 must already be installed (https://swift.org/install).
#   Tools/setup.sh --test-tools  also installs what CI's end-to-end checks use: Chromium (the
#   web page test), wrk (the server's load test), and Java if missing (the Spark test).
set -euo pipefail
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: swift not found; install Swift 6 from https://swift.org/install" >&2
  exit 1
fi
case "$(uname -s)" in
  Linux)
    packages=(libopenblas-dev libjpeg-dev libpng-dev zlib1g-dev libarchive-dev libsqlite3-dev libfaiss-dev libdnnl-dev pkg-config)
    # --test-tools: what the end-to-end checks beyond `swift test` use (CI runs them): a
    # headless browser for the web page, wrk for the server's load test, Java for Spark.
    if [ "${1:-}" = "--test-tools" ]; then
      packages+=(chromium wrk)
      command -v java >/dev/null 2>&1 || packages+=(default-jre-headless)
      python3 -m venv --help >/dev/null 2>&1 || packages+=(python3-venv)
    fi
    missing=()
    for p in "${packages[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
      echo "setup: installing ${missing[*]}" >&2
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    ;;
  Darwin)
    command -v brew >/dev/null 2>&1 || { echo "setup: Homebrew is needed for jpeg-turbo and libpng" >&2; exit 1; }
    for p in jpeg-turbo libpng libarchive pkg-config; do brew list "$p" >/dev/null 2>&1 || brew install "$p"; done
    ;;
esac
