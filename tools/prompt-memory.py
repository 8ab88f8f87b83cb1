#!/usr/bin/env python3
"""The memory `rockllm serve` takes for one over-long prompt: its RSS before, at peak (VmHWM) and
after a single /api/generate of SIZE_MB megabytes on stories260K (docs/hardening.md's figures).

    python3 tools/prompt-memory.py [--binary build/rockllm] [--raw] SIZE_MB
"""
import argparse
import hashlib
import json
import os
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STORIES = os.path.join(ROOT, "..", "shared", "testdata", "models", "stories260K.gguf")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "rockllm"))
    parser.add_argument("--raw", action="store_true", help="send the prompt raw (no template)")
    parser.add_argument("size_mb", type=float)
    args = parser.parse_args()
    store = tempfile.mkdtemp(prefix="rockllm-prompt-memory-")
    port = 18000 + os.getpid() % 1000
    env = dict(os.environ, OLLAMA_HOST="127.0.0.1:%d" % port, OLLAMA_MODELS=store)
    daemon = subprocess.Popen([args.binary, "serve"], env=env, stderr=subprocess.DEVNULL)

    def call(path, body, data=None):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data if data is not None else json.dumps(body).encode())
        return urllib.request.urlopen(request, timeout=600).read()

    def status(field):
        with open("/proc/%d/status" % daemon.pid) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) // 1024
        return -1

    try:
        for _ in range(100):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/api/version" % port)
                break
            except OSError:
                time.sleep(0.1)
        gguf = open(STORIES, "rb").read()
        digest = "sha256:" + hashlib.sha256(gguf).hexdigest()
        call("/api/blobs/" + digest, None, gguf)
        call("/api/create", {"model": "stories", "files": {"stories260K.gguf": digest}, "stream": False})
        call("/api/generate", {"model": "stories", "prompt": "Once", "stream": False, "options": {"num_predict": 2}})
        before = status("VmRSS")
        size = int(args.size_mb * 1e6)
        prompt = ("Once upon a time there was a little girl named Lily. " * (size // 52 + 1))[:size]
        start = time.time()
        answer = json.loads(call("/api/generate", {"model": "stories", "prompt": prompt, "stream": False, "raw": args.raw,
                                                   "options": {"num_predict": 8, "temperature": 0}}))
        print("%.1f MB prompt%s: %.1f s, RSS before %d MB, peak %d MB, after %d MB, prompt_eval_count %d" %
              (args.size_mb, " (raw)" if args.raw else "", time.time() - start, before, status("VmHWM"), status("VmRSS"),
               answer["prompt_eval_count"]))
    finally:
        daemon.terminate()
        daemon.wait()
        subprocess.run(["rm", "-rf", store])


if __name__ == "__main__":
    main()
