"""Checks that Glimpse and Python's huggingface_hub share one cache, both ways.

A local server answers like the Hub for `glimpse-test/clip-tiny` (Tests/Fixtures/clip-tiny):
small files with ETag + X-Repo-Commit, LFS files as a 302 to another host name with
X-Linked-Etag / X-Linked-Size. Then:

  1. huggingface_hub.hf_hub_download fills cache A; `glimpse classify --model
     glimpse-test/clip-tiny` runs on it with HF_HUB_OFFLINE=1.
  2. `glimpse` fills cache B from the server; huggingface_hub reads it offline
     (hf_hub_download(local_files_only), try_to_load_from_cache incl. .no_exist markers,
     scan_cache_dir), and transformers' CLIPModel.from_pretrained loads it offline.

Usage (after `swift build`): python Tools/hub/python_interop.py [.build/debug/glimpse]
Needs huggingface_hub (and transformers + torch for the last step); not part of CI.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "Tests/Fixtures/clip-tiny"
REPO = "glimpse-test/clip-tiny"
COMMIT = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
FILES = {p.name: p.read_bytes() for p in FIXTURE.iterdir()}
LFS = {n for n in FILES if n.endswith((".safetensors", ".gz"))}
BY_SHA = {hashlib.sha256(d).hexdigest(): d for d in FILES.values()}


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Hub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.answer(body=False)

    def do_GET(self):
        self.answer(body=True)

    def send(self, status, headers, body=b""):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command == "GET":
            self.wfile.write(body)

    def answer(self, body):
        path = self.path.split("?")[0]
        if path.startswith("/cdn/"):
            data = BY_SHA.get(path[5:])
            return self.send(200, {"ETag": '"cdn"'}, data) if data else self.send(404, {})
        prefix = f"/{REPO}/resolve/"
        if not path.startswith(prefix):
            return self.send(401, {"X-Error-Code": "RepoNotFound"})
        revision, _, name = path[len(prefix):].partition("/")
        if revision not in ("main", COMMIT):
            return self.send(404, {"X-Error-Code": "RevisionNotFound"})
        if name not in FILES:
            return self.send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
        data = FILES[name]
        if name in LFS:
            sha = hashlib.sha256(data).hexdigest()
            port = self.server.server_address[1]
            return self.send(302, {"Location": f"http://localhost:{port}/cdn/{sha}", "X-Repo-Commit": COMMIT,
                                   "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)), "ETag": '"x"'})
        self.send(200, {"ETag": f'"{git_blob_id(data)}"', "X-Repo-Commit": COMMIT}, data)


def python(code: str, env: dict) -> str:
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout


def main():
    glimpse = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".build/debug/glimpse")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    reference = json.loads((ROOT / "Tests/Fixtures/clip/clip-tiny.json").read_text())
    image = str(ROOT / "Tests/Fixtures/images" / reference["images"][0])

    with tempfile.TemporaryDirectory() as tmp:
        cache_a, cache_b = Path(tmp, "a"), Path(tmp, "b")

        # 1. Python writes, Glimpse reads.
        env_a = dict(base, HF_HUB_CACHE=str(cache_a), HF_ENDPOINT=endpoint, HF_HUB_DISABLE_XET="1")
        python("from huggingface_hub import hf_hub_download as d\n"
               f"for f in {sorted(FILES)!r}: d({REPO!r}, f)", env_a)
        out = subprocess.run([glimpse, "classify", "--model", REPO, image, "--labels", *reference["texts"], "--template", "{}"],
                             env=dict(base, HF_HUB_CACHE=str(cache_a), HF_HUB_OFFLINE="1"), check=True, capture_output=True, text=True)
        logits = {e["label"]: e["logit"] for e in json.loads(out.stdout)["labels"]}
        n = len(reference["texts"])
        error = max(abs(logits[t] - reference["logits_per_image"][j]) for j, t in enumerate(reference["texts"]))
        print(f"1. Python-written cache -> glimpse classify offline: max abs logit error {error:.2e}")
        assert error < 1e-4 and n > 1

        # 2. Glimpse writes, Python reads.
        subprocess.run([glimpse, "inspect", "--model", REPO, "--quiet"], env=dict(base, HF_HUB_CACHE=str(cache_b), HF_ENDPOINT=endpoint),
                       check=True, capture_output=True)
        env_b = dict(base, HF_HUB_CACHE=str(cache_b), HF_HUB_OFFLINE="1")
        report = python(
            "import hashlib, json\n"
            "from huggingface_hub import hf_hub_download, try_to_load_from_cache, scan_cache_dir\n"
            "from huggingface_hub.file_download import _CACHED_NO_EXIST\n"
            f"files = {sorted(FILES)!r}\n"
            f"digests = {{f: hashlib.sha256(open(hf_hub_download({REPO!r}, f, local_files_only=True), 'rb').read()).hexdigest() for f in files}}\n"
            f"absent = try_to_load_from_cache({REPO!r}, 'tokenizer_config.json') is _CACHED_NO_EXIST\n"
            "info = scan_cache_dir()\n"
            "repo = next(iter(info.repos))\n"
            "print(json.dumps({'digests': digests, 'absent_marker': absent, 'warnings': [str(w) for w in info.warnings],\n"
            "  'repo': repo.repo_id, 'refs': sorted(r for rev in repo.revisions for r in rev.refs), 'size': repo.size_on_disk}))", env_b)
        result = json.loads(report)
        expected = {f: hashlib.sha256(d).hexdigest() for f, d in FILES.items()}
        assert result["digests"] == expected, result
        assert result["absent_marker"] and not result["warnings"] and result["refs"] == ["main"], result
        print(f"2. glimpse-written cache -> huggingface_hub offline: files identical, .no_exist honoured, "
              f"scan_cache_dir: {result['repo']} {result['size']} bytes, refs {result['refs']}, no warnings")
        try:
            out = python("import torch, transformers, json\n"
                         f"m = transformers.CLIPModel.from_pretrained({REPO!r})\n"
                         "print(sum(p.numel() for p in m.parameters()))", env_b)
            print(f"   transformers CLIPModel.from_pretrained offline from it: {out.strip()} parameters")
        except subprocess.CalledProcessError as e:
            print("   transformers load failed:", e.stderr[-500:])
            raise
    server.shutdown()


if __name__ == "__main__":
    main()
