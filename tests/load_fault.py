#!/usr/bin/env python3
"""Load and fault tests for `rockllm serve`, on loopback only and bounded in time.

    python3 tests/load_fault.py [--binary build/rockllm] [--seconds 60] [--clients 8] [--report FILE]

Load: CLIENTS threads send streaming generate/chat requests, embeddings and listings for SECONDS,
disconnecting at random in the middle of streams. Faults: the daemon killed with SIGKILL during a
pull (from a registry this script runs, serving slowly) and during a blob upload for `create`, then
restarted and the store checked (no model listed that is not complete; the pull resumes with a
Range request and verifies); a model blob truncated after it was created; a pull into a store on a
tmpfs too small for it (disk full); 300 clients trickling their request heads; a registry that
understates a layer's size. The report counts requests served, errors by kind, daemon
crashes (must be 0), and the daemon's memory at the start and the end of the load.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STORIES = os.path.join(ROOT, "..", "shared", "testdata", "models", "stories260K.gguf")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Daemon:
    def __init__(self, binary, store, port, env=None):
        self.binary, self.store, self.port = binary, store, port
        self.extra_env = env or {}
        self.proc = None
        self.log = open(os.path.join(os.path.dirname(store), "daemon-%d.log" % port), "ab")

    def start(self):
        env = dict(os.environ, OLLAMA_HOST="127.0.0.1:%d" % self.port, OLLAMA_MODELS=self.store, OLLAMA_NUM_PARALLEL="2", **self.extra_env)
        self.proc = subprocess.Popen([self.binary, "serve"], env=env, stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                if self.request("GET", "/api/version")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the daemon did not start")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        """SIGTERM; returns the exit status (a crash shows as a negative signal number)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "hung on SIGTERM"
        return self.proc.returncode

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def request(self, method, path, body=None, timeout=60, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        conn.request(method, path, body=data, headers=headers or {})
        r = conn.getresponse()
        out = r.read()
        conn.close()
        return r.status, out

    def create(self, name, gguf):
        digest = digest_of(gguf)
        status, _ = self.request("POST", "/api/blobs/" + digest, gguf)
        assert status in (200, 201), status
        status, out = self.request("POST", "/api/create", {"model": name, "files": {"model.gguf": digest}, "stream": False})
        assert status == 200, out

    def tags(self):
        return [m["name"] for m in json.loads(self.request("GET", "/api/tags")[1])["models"]]


# --- load ------------------------------------------------------------------------------------

def load_client(daemon, stop_at, counts, seed):
    rng = random.Random(seed)
    while time.time() < stop_at:
        kind = rng.choice(["generate", "chat", "embed", "tags", "generate-json"])
        try:
            if kind == "embed":
                status, _ = daemon.request("POST", "/api/embed", {"model": "stories", "input": ["Once upon a time", "Lily"]})
                counts["ok" if status == 200 else "http %d" % status] += 1
                continue
            if kind == "tags":
                status, _ = daemon.request("GET", "/api/tags")
                counts["ok" if status == 200 else "http %d" % status] += 1
                continue
            path = "/api/chat" if kind == "chat" else "/api/generate"
            body = {"model": "stories", "options": {"num_predict": rng.randint(5, 80), "seed": rng.randint(0, 1 << 30)}}
            if kind == "chat":
                body["messages"] = [{"role": "user", "content": "Once upon a time"}]
            else:
                body["prompt"] = "Once upon a time"
            if kind == "generate-json":
                body["format"] = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
                body["options"]["num_predict"] = 60
            conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
            conn.request("POST", path, body=json.dumps(body))
            r = conn.getresponse()
            if r.status != 200:
                counts["http %d" % r.status] += 1
                conn.close()
                continue
            hang_up_after = rng.randint(1, 20) if rng.random() < 0.3 else None
            lines = 0
            done = False
            while True:
                line = r.readline()
                if not line:
                    break
                lines += 1
                event = json.loads(line)
                if "error" in event:
                    counts["error line: " + event["error"][:60]] += 1
                    break
                if event.get("done"):
                    done = True
                    break
                if hang_up_after is not None and lines >= hang_up_after:
                    break
            conn.close()
            if done:
                counts["ok"] += 1
            elif hang_up_after is not None:
                counts["client disconnected on purpose"] += 1
            else:
                counts["stream ended without done"] += 1
        except (OSError, http.client.HTTPException) as e:
            counts["connection error: " + type(e).__name__] += 1


def run_load(daemon, seconds, clients):
    daemon.request("POST", "/api/generate", {"model": "stories", "prompt": "Once", "options": {"num_predict": 4}})
    rss_start = daemon.rss_kib()
    counts = Counter()
    stop_at = time.time() + seconds
    threads = [threading.Thread(target=load_client, args=(daemon, stop_at, counts, i)) for i in range(clients)]
    for t in threads:
        t.start()
    samples = []  # RSS every 5 s: first-use allocations settle early; a leak keeps climbing
    while any(t.is_alive() for t in threads):
        time.sleep(5)
        samples.append(daemon.rss_kib())
    for t in threads:
        t.join()
    time.sleep(1)
    # The daemon answers after the storm, and a final request works.
    status, _ = daemon.request("POST", "/api/generate", {"model": "stories", "prompt": "Once", "stream": False, "options": {"num_predict": 4}})
    return {"requests": sum(counts.values()), "by_outcome": dict(counts), "rss_start_kib": rss_start,
            "rss_every_5s_kib": samples, "rss_end_kib": daemon.rss_kib(), "after_load_status": status}


# --- a slow registry -------------------------------------------------------------------------

class Registry:
    """The registry v2 subset pull uses; blobs trickle out so a pull can be killed mid-download."""

    def __init__(self, manifest, blobs, bytes_per_second):
        self.manifest, self.blobs, self.rate = manifest, blobs, bytes_per_second
        self.ranges = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if "/manifests/" in self.path:
                    body = registry.manifest
                    self.send_response(200)
                    self.send_header("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                digest = self.path.rsplit("/", 1)[-1]
                data = registry.blobs.get(digest)
                if data is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                range_header = self.headers.get("Range", "")
                registry.ranges.append(range_header)
                start = int(range_header.split("=")[1].split("-")[0]) if range_header else 0
                self.send_response(206 if range_header else 200)
                self.send_header("Content-Length", str(len(data) - start))
                if range_header:
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
                self.end_headers()
                chunk = 16384
                try:
                    for i in range(start, len(data), chunk):
                        self.wfile.write(data[i:i + chunk])
                        self.wfile.flush()
                        time.sleep(chunk / registry.rate if registry.rate else 0)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def pull_manifest(gguf):
    config = json.dumps({"model_format": "gguf", "model_family": "llama", "model_type": "292.80K", "file_type": "F32"}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": digest_of(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": digest_of(gguf), "size": len(gguf)}]}).encode()
    return manifest, {digest_of(config): config, digest_of(gguf): gguf}


def pull(daemon, name, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=timeout)
    conn.request("POST", "/api/pull", body=json.dumps({"model": name, "insecure": True}))
    r = conn.getresponse()
    lines = [json.loads(l) for l in r.read().splitlines() if l.strip()]
    conn.close()
    return lines


def fault_kill_during_pull(binary, work, gguf):
    store = os.path.join(work, "pull-store")
    daemon = Daemon(binary, store, free_port())
    daemon.start()
    manifest, blobs = pull_manifest(gguf)
    registry = Registry(manifest, blobs, bytes_per_second=256 * 1024)
    name = "127.0.0.1:%d/library/slow:latest" % registry.port
    def doomed_pull():
        try:
            pull(daemon, name)
        except (OSError, http.client.HTTPException):
            pass  # the daemon is killed under it
    t = threading.Thread(target=doomed_pull, daemon=True)
    t.start()
    time.sleep(1.5)  # part of the model blob is on disk
    daemon.kill9()
    daemon.start()
    listed_after_kill = daemon.tags()
    registry.rate = 0  # full speed now
    lines = pull(daemon, name)
    resumed = any(r.startswith("bytes=") and not r.startswith("bytes=0-") for r in registry.ranges)
    ok = lines and lines[-1].get("status") == "success"
    status, out = daemon.request("POST", "/api/generate", {"model": name, "prompt": "Once", "stream": False, "options": {"num_predict": 3}})
    exit_status = daemon.stop()
    registry.close()
    return {"listed_after_kill": listed_after_kill, "pull_after_restart": "success" if ok else lines[-1:],
            "resumed_with_range": resumed, "ranges_seen": registry.ranges, "generate_after": status,
            "daemon_exit": exit_status,
            "passed": listed_after_kill == [] and bool(ok) and resumed and status == 200 and exit_status == 0}


def fault_kill_during_create(binary, work, gguf):
    store = os.path.join(work, "create-store")
    daemon = Daemon(binary, store, free_port())
    daemon.start()
    digest = digest_of(gguf)
    # Half of the blob arrives, then the daemon dies.
    s = socket.create_connection(("127.0.0.1", daemon.port))
    s.sendall(("POST /api/blobs/%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n\r\n" % (digest, daemon.port, len(gguf))).encode())
    s.sendall(gguf[: len(gguf) // 2])
    time.sleep(0.5)
    daemon.kill9()
    s.close()
    daemon.start()
    listed = daemon.tags()
    blob_present = daemon.request("HEAD", "/api/blobs/" + digest)[0] == 200
    daemon.create("stories", gguf)
    status, _ = daemon.request("POST", "/api/generate", {"model": "stories", "prompt": "Once", "stream": False, "options": {"num_predict": 3}})
    exit_status = daemon.stop()
    return {"listed_after_kill": listed, "partial_blob_visible": blob_present, "create_after_restart_generate": status,
            "daemon_exit": exit_status, "passed": listed == [] and not blob_present and status == 200 and exit_status == 0}


def fault_truncated_model(binary, work, gguf):
    store = os.path.join(work, "truncate-store")
    daemon = Daemon(binary, store, free_port())
    daemon.start()
    daemon.create("stories", gguf)
    daemon.request("POST", "/api/generate", {"model": "stories", "keep_alive": 0})
    blob = os.path.join(store, "blobs", digest_of(gguf).replace(":", "-"))
    with open(blob, "r+b") as f:
        f.truncate(len(gguf) // 3)
    status, out = daemon.request("POST", "/api/generate", {"model": "stories", "prompt": "Once", "stream": False})
    alive = daemon.alive() and daemon.request("GET", "/api/version")[0] == 200
    exit_status = daemon.stop()
    error = json.loads(out).get("error", "") if out else ""
    return {"status": status, "error": error, "daemon_alive": alive, "daemon_exit": exit_status,
            "passed": 400 <= status < 600 and status != 200 and bool(error) and alive and exit_status == 0}


def fault_disk_full(binary, work, gguf):
    store = os.path.join(work, "tiny-store")
    os.makedirs(store, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk" % (len(gguf) // 2048), "tmpfs", store],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    if not mounted:
        return {"skipped": "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)", "passed": None}
    try:
        daemon = Daemon(binary, store, free_port())
        daemon.start()
        manifest, blobs = pull_manifest(gguf)
        registry = Registry(manifest, blobs, bytes_per_second=0)
        lines = pull(daemon, "127.0.0.1:%d/library/big:latest" % registry.port)
        error = lines[-1].get("error", "") if lines else ""
        listed = daemon.tags()
        alive = daemon.request("GET", "/api/version")[0] == 200
        exit_status = daemon.stop()
        registry.close()
        return {"last_line": lines[-1] if lines else None, "listed": listed, "daemon_alive": alive, "daemon_exit": exit_status,
                "passed": bool(error) and listed == [] and alive and exit_status == 0}
    finally:
        subprocess.run(["umount", store], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fault_npu_timeout(binary, work, gguf):
    """The simulated NPU's cores hang after 150 jobs: the requests in flight finish on the CPU, the
    fallback is logged once, the daemon keeps serving."""
    store = os.path.join(work, "npu-store")
    daemon = Daemon(binary, store, free_port(), {"ROCKLLM_NPU_SIMULATE": "rocket", "ROCKLLM_NPU_FAULT": "hang-after:150"})
    daemon.start()
    daemon.create("stories", gguf)
    statuses = []
    for _ in range(4):
        status, out = daemon.request("POST", "/api/generate", {"model": "stories", "prompt": "Once upon a time", "stream": False,
                                                               "options": {"num_predict": 24, "temperature": 0}})
        statuses.append(status)
    stats = json.loads(daemon.request("GET", "/api/npu/stats")[1])
    model = stats["models"][0] if stats.get("models") else {}
    exit_status = daemon.stop()
    daemon.log.flush()
    with open(daemon.log.name, "rb") as f:
        log = f.read().decode(errors="replace")
    logged = log.count("this model's matrix products run on the CPU from now on")
    return {"statuses": statuses, "fell_back_to_cpu": model.get("fell_back_to_cpu"), "reason": model.get("fallback_reason"),
            "fallback_log_lines": logged, "daemon_exit": exit_status,
            "passed": statuses == [200] * 4 and model.get("fell_back_to_cpu") is True and logged == 1 and exit_status == 0}


def fault_slow_clients(binary, work, gguf):
    """300 connections trickle a request head, a byte every 4 s, for 15 s while other clients ask
    for /api/version once a second: every one of those is answered at once, and the slow ones get
    408 once their head is 10 s late."""
    store = os.path.join(work, "slow-store")
    daemon = Daemon(binary, store, free_port())
    daemon.start()
    slow = [socket.create_connection(("127.0.0.1", daemon.port)) for _ in range(300)]
    head = b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    latencies, statuses = [], []
    start = time.time()
    sent = 0
    while time.time() - start < 15:
        if time.time() - start >= 4 * sent and sent < len(head):
            for s in slow:
                try:
                    s.send(head[sent:sent + 1])
                except OSError:
                    pass
            sent += 1
        t = time.time()
        try:
            status, _ = daemon.request("GET", "/api/version", timeout=10)
        except OSError:
            status = "no answer"
        latencies.append(time.time() - t)
        statuses.append(status)
        time.sleep(1)
    timed_out = 0
    for s in slow:
        s.settimeout(2)
        try:
            answer = s.recv(4096)
        except OSError:
            answer = b""
        timed_out += answer.startswith(b"HTTP/1.1 408")
        s.close()
    rss = daemon.rss_kib()
    exit_status = daemon.stop()
    return {"slow_connections": len(slow), "probe_statuses": Counter(statuses), "probe_worst_seconds": round(max(latencies), 3),
            "slow_answered_408": timed_out, "daemon_rss_kib": rss, "daemon_exit": exit_status,
            "passed": all(x == 200 for x in statuses) and max(latencies) < 2 and timed_out == len(slow) and exit_status == 0}


def fault_lying_registry(binary, work, gguf):
    """A registry whose manifest understates a layer (1000 bytes) and sends the whole file: the
    pull fails, no model is listed and no blob is kept."""
    store = os.path.join(work, "lying-store")
    daemon = Daemon(binary, store, free_port())
    daemon.start()
    manifest, blobs = pull_manifest(gguf)
    lying = json.loads(manifest)
    lying["layers"][0]["size"] = 1000
    registry = Registry(json.dumps(lying).encode(), blobs, bytes_per_second=0)
    lines = pull(daemon, "127.0.0.1:%d/library/liar:latest" % registry.port)
    error = lines[-1].get("error", "") if lines else ""
    listed = daemon.tags()
    kept = [f for f in os.listdir(os.path.join(store, "blobs")) if f.startswith("sha256-") and digest_of(gguf)[7:] in f]
    alive = daemon.request("GET", "/api/version")[0] == 200
    exit_status = daemon.stop()
    registry.close()
    return {"last_line": lines[-1] if lines else None, "listed": listed, "weights_kept": kept, "daemon_alive": alive,
            "daemon_exit": exit_status, "passed": bool(error) and listed == [] and kept == [] and alive and exit_status == 0}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "rockllm"))
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--report", default=None)
    args = parser.parse_args()
    gguf = open(STORIES, "rb").read()
    work = tempfile.mkdtemp(prefix="rockllm-load-")
    report = {"binary": args.binary, "seconds": args.seconds, "clients": args.clients}
    try:
        store = os.path.join(work, "load-store")
        daemon = Daemon(args.binary, store, free_port())
        daemon.start()
        daemon.create("stories", gguf)
        report["load"] = run_load(daemon, args.seconds, args.clients)
        report["load"]["daemon_exit"] = daemon.stop()
        report["faults"] = {
            "kill -9 during pull": fault_kill_during_pull(args.binary, work, gguf),
            "kill -9 during create (blob upload)": fault_kill_during_create(args.binary, work, gguf),
            "model blob truncated after create": fault_truncated_model(args.binary, work, gguf),
            "disk full during pull": fault_disk_full(args.binary, work, gguf),
            "NPU job times out (simulated)": fault_npu_timeout(args.binary, work, gguf),
            "300 slow clients in their request head": fault_slow_clients(args.binary, work, gguf),
            "registry understating a layer's size": fault_lying_registry(args.binary, work, gguf),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    crashes = int(report["load"]["daemon_exit"] != 0) + sum(
        1 for f in report["faults"].values() if f.get("daemon_exit") not in (None, 0))
    report["crashes"] = crashes
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    failed = crashes > 0 or any(f.get("passed") is False for f in report["faults"].values()) or report["load"]["after_load_status"] != 200
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
