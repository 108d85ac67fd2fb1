"""The openai backends end to end, through the real `openai` SDK, against the loopback OpenAI-compatible fake."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import ROOT, TINY

from generator.backends import BackendSettings
from generator.build import BuildError, build
from generator.cli import main
from generator.errors import ServiceError
from generator.fakes.openai_api import FakeOpenAIConfig, FakeOpenAIServer
from generator.llm.options import LLMOptions

MODEL = "gpt-4.1-mini"


def quiet(_):
    pass


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    """A loopback server needs no key: none is set unless a test sets one."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def options(server, tmp_path, name="cache", **extra):
    base = dict(model=MODEL, base_url=server.base_url, cache_path=str(tmp_path / f"{name}.sqlite"), types_per_fact=3,
                ideas_per_type=3, words=250, rpm=None, poll_interval=0.05, concurrency=8)
    base.update(extra)
    return LLMOptions(**base)


def accounted(out: Path, count: int) -> tuple[dict, list, list]:
    """Every planned document (the count, and a replacement for each one rejected) is kept or in
    rejected/ with a reason; `count` are kept unless the rounds ran out; no marker or key leaks into data."""
    manifest = json.loads((out / "manifest.json").read_text())
    t, replaced = manifest["totals"], manifest["replacements"]
    planned = t["planned"]
    assert planned == count + replaced["planned"] and t["documents"] == count - replaced["shortfall"]
    assert t["documents"] + t["rejected"] == planned
    assert sum(manifest["rejections"].values()) == t["rejected"]
    rows = pq.read_table(out / "data").to_pylist() if t["documents"] else []
    rejected = []
    for path in sorted((out / "rejected").glob("*.parquet")):
        rejected += pq.read_table(path).to_pylist()
    assert len(rejected) == t["rejected"] and all(r["reason"] for r in rejected)
    assert len({r["id"] for r in rows} | {r["id"] for r in rejected}) == planned
    for row in rows:
        assert "<fact" not in row["text"] and "</" not in row["text"]
        for span in row["spans"]:
            assert row["text"][span["start"]:span["end"]].strip()
    return manifest, rows, rejected


@pytest.mark.parametrize("backend", ["openai", "openai-batch"])
def test_build_through_the_sdk(tmp_path, backend):
    with FakeOpenAIServer(FakeOpenAIConfig(seed=1, min_cache_tokens=50, batch_delay=0.05)) as server:
        result = build(TINY, tmp_path / "ds", count=16, settings=BackendSettings(backend, llm=options(server, tmp_path)),
                       progress=False, log=quiet)
        stats = server.stats
    manifest, rows, _ = accounted(tmp_path / "ds", 16)
    assert manifest["totals"]["documents"] >= 12
    usage = manifest["usage"]
    assert usage["requests"] == sum(stats["succeeded_keys"].values())
    assert usage["input_tokens"] + usage["cache_read_input_tokens"] == stats["usage"]["prompt_tokens"]
    assert usage["cache_read_input_tokens"] == stats["usage"]["cached_tokens"] > 0  # automatic prefix caching
    assert usage["output_tokens"] == stats["usage"]["completion_tokens"]
    assert usage["usd"] > 0 and usage["cache_creation_input_tokens"] == 0
    assert manifest["backend"]["name"] == backend and manifest["backend"]["model"] == MODEL
    assert stats["duplicate_succeeded"] == 0 and result.api_errors is None
    assert bool(stats["batches"]) == (backend == "openai-batch")


def test_the_prefix_comes_first_and_is_byte_identical(tmp_path):
    from generator.backends import BackendContext
    from generator.backends.openai import OpenAIBackend
    from generator.library import load_spec_and_library

    spec, library = load_spec_and_library(TINY)
    settings = BackendSettings("openai", llm=LLMOptions(model=MODEL, base_url="http://127.0.0.1:9/v1"))
    backend = OpenAIBackend(BackendContext(spec, library, 7, settings, tmp_path / "work"))
    try:
        a = backend.request("types", "first prompt", 0, 100).params
        b = backend.request("document", "another prompt", 1, 900).params
    finally:
        backend.close()
    assert a["messages"][0] == b["messages"][0] and a["messages"][0]["role"] == "system"
    assert spec.universe.context.strip()[:40] in a["messages"][0]["content"]
    assert a["max_tokens"] == 100 and "temperature" not in a and "prompt_cache_key" not in a  # a compatible server


def test_online_and_batch_give_the_same_bytes(tmp_path):
    """The fake's answers, quality faults included, depend on the request alone, so both paths agree."""
    # Retries absorb most faults; these rates (and this fake seed) leave two rejections in 24 documents.
    config = FakeOpenAIConfig(seed=3, batch_delay=0.05, p_missing_marker=0.4, p_truncate=0.05, p_refusal=0.05,
                              p_short_brainstorm=0.3)
    prints = {}
    with FakeOpenAIServer(config) as server:
        for backend in ("openai", "openai-batch"):
            out = tmp_path / backend
            prints[backend] = build(TINY, out, count=24, progress=False, log=quiet, settings=BackendSettings(
                backend, llm=options(server, tmp_path, name=backend))).manifest
            accounted(out, 24)
    assert prints["openai"]["fingerprint"] == prints["openai-batch"]["fingerprint"]
    assert prints["openai"]["rejections"] == prints["openai-batch"]["rejections"]
    assert prints["openai"]["rejections"]  # the faults did reject something, on both paths


def cli(server, out, tmp_path, backend, count, cache="c", *extra):
    cmd = [sys.executable, "-m", "generator.cli", "build", str(TINY), "-o", str(out), "--count", str(count),
           "--backend", backend, "--base-url", server.base_url, "--model", MODEL, "--cache",
           str(tmp_path / f"{cache}.sqlite"), "--words", "200", "--types-per-fact", "3", "--ideas-per-type", "3",
           "-q", *extra]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return cmd, env


def shard_hashes(out: Path) -> list[str]:
    return [s["sha256"] for s in json.loads((out / "manifest.json").read_text())["shards"]]


@pytest.mark.slow
def test_300_documents_through_faults_then_a_sigkill_and_a_rerun_give_the_same_bytes(tmp_path):
    config = FakeOpenAIConfig(seed=11, p429=0.10, p500=0.02, pdrop=0.01, latency=(0.0, 0.02))
    with FakeOpenAIServer(config) as server:
        whole = tmp_path / "whole"
        cmd, env = cli(server, whole, tmp_path, "openai", 300, "whole", "--concurrency", "8")
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        first = server.stats
        assert first["faults"].get("429", 0) and first["faults"].get("500", 0) and first["faults"].get("drop", 0)
        assert first["duplicate_succeeded"] == 0, "a request that had succeeded was sent again"
        manifest, _, _ = accounted(whole, 300)
        assert manifest["usage"]["requests"] == sum(first["succeeded_keys"].values())
        errors = manifest["backend"]["options"]["api_errors"]
        assert errors.get("rate_limited", 0) > 0 and errors.get("http_500", 0) > 0 and errors.get("connection", 0) > 0
        assert "API errors at" in done.stderr  # the one-line summary

        killed = tmp_path / "killed"
        cmd, env = cli(server, killed, tmp_path, "openai", 300, "killed", "--concurrency", "4")
        before = server.stats["completions"].get("document", 0)
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while server.stats["completions"].get("document", 0) < before + 120 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not (killed / "manifest.json").exists()
        rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
    assert shard_hashes(killed) == shard_hashes(whole)
    resumed = json.loads((killed / "manifest.json").read_text())
    assert resumed["fingerprint"] == manifest["fingerprint"]
    # At most the requests in flight at the kill (--concurrency 4) may have been answered twice.
    assert resumed["usage"]["unreceived_answers_max"] <= 4 + resumed["backend"]["options"]["api_errors"].get(
        "connection", 0)


@pytest.mark.slow
def test_openai_batch_resumes_after_sigkill_and_adopts_a_lost_create(tmp_path):
    config = FakeOpenAIConfig(seed=3, batch_delay=None, drop_create_answers=1)
    with FakeOpenAIServer(config) as server:
        out = tmp_path / "ds"
        cmd, env = cli(server, out, tmp_path, "openai-batch", 12, "c", "--poll-interval", "0.2")
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state_file = out / ".sdfgen-build" / "batches.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if json.loads(state_file.read_text())["batches"]:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert server.stats["faults"]["create_answer_dropped"] == 1
        assert server.stats["batches"]["created"] == 1, "the lost create was adopted, not repeated"
        assert server.end_batches() == 1
        server.config.batch_delay = 0.0
        rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        stats = server.stats
    assert stats["duplicate_succeeded"] == 0
    manifest, _, _ = accounted(out, 12)
    assert manifest["usage"]["requests"] == sum(stats["succeeded_keys"].values())
    assert manifest["backend"]["options"]["api_errors"].get("batch_adopted") == 1


@pytest.mark.slow  # twenty refused connections, each retried after up to a second
def test_unreachable_api_stops_the_build_in_one_line_and_a_rerun_resumes(tmp_path):
    import socket

    hold = socket.socket()  # bound but not listening: connections are refused, and no one else takes the port
    hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hold.bind(("127.0.0.1", 0))
    port = hold.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    out = tmp_path / "ds"
    args = ["build", str(TINY), "-o", str(out), "--count", "6", "--backend", "openai", "--base-url", url, "--model",
            MODEL, "--cache", str(tmp_path / "c.sqlite"), "--types-per-fact", "2", "--ideas-per-type", "2", "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and url in result.output and "cannot reach" in result.output
    assert not (out / "manifest.json").exists() and not (out / "data").exists()
    hold.close()
    with FakeOpenAIServer(FakeOpenAIConfig(seed=2), port=port):
        again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    manifest, _, _ = accounted(out, 6)
    # What the first invocation went through is still counted.
    assert manifest["backend"]["options"]["api_errors"]["connection"] >= 20


@pytest.mark.slow  # every request retried
def test_api_failures_reject_as_api_error_not_no_ideas(tmp_path):
    # Every request fails with a 500: every document is rejected as api_error (not no_ideas), and a
    # build that keeps nothing publishes nothing; the rejections stay in the work folder for a look.
    with FakeOpenAIServer(FakeOpenAIConfig(seed=2, p500=1.0)) as server:
        with pytest.raises(BuildError, match=r"no document was kept \(api_error \d+\)"):
            build(TINY, tmp_path / "ds", count=6, progress=False, log=quiet,
                  settings=BackendSettings("openai", llm=options(server, tmp_path, api_attempts=2)))
    assert not (tmp_path / "ds" / "manifest.json").exists()
    rejected = pq.read_table(tmp_path / "ds" / ".sdfgen-build" / "publish" / "rejected").to_pylist()
    assert rejected and {r["reason"] for r in rejected} == {"api_error"}
    assert all("500" in r["detail"] for r in rejected)


def test_nasty_answers_never_crash_the_build_and_drafts_are_kept(tmp_path):
    from nasty_answers import NASTY

    # Every answer is nasty, so nothing is kept and nothing is published (a one-line BuildError);
    # every plan is still accounted for, with its reason, in the work folder's rejected rows.
    with FakeOpenAIServer(FakeOpenAIConfig(seed=5, script=NASTY)) as server:
        with pytest.raises(BuildError, match="no document was kept"):
            build(TINY, tmp_path / "ds", count=40, progress=False, log=quiet,
                  settings=BackendSettings("openai", llm=options(server, tmp_path, retries=1)))
    rejected = pq.read_table(tmp_path / "ds" / ".sdfgen-build" / "publish" / "rejected").to_pylist()
    assert len(rejected) >= 40 and all(r["reason"] for r in rejected)
    # Rejected while writing: both answers (one retry) kept, the last one as the text; the detail says why each failed.
    written = [r for r in rejected if " attempts: " in (r["detail"] or "")]
    assert len({r["reason"] for r in written}) >= 4
    assert all(len(r["drafts"]) == 2 and r["drafts"][-1] == r["text"] for r in written)
    assert any(r["text"] for r in written)


def test_missing_key_refused_unless_the_server_is_local(tmp_path):
    args = ["build", str(TINY), "-o", str(tmp_path / "o"), "--backend", "openai", "--model", MODEL]
    remote = CliRunner().invoke(main, args + ["--base-url", "https://models.example.org/v1"])
    assert remote.exit_code == 2 and "OPENAI_API_KEY" in remote.output and remote.output.count("\n") == 1
    no_model = CliRunner().invoke(main, ["build", str(TINY), "-o", str(tmp_path / "o"), "--backend", "openai",
                                         "--base-url", "http://127.0.0.1:9/v1"])
    assert no_model.exit_code == 2 and "--model" in no_model.output
    unpriced = CliRunner().invoke(main, args[:-1] + ["my-local-model", "--base-url", "http://localhost:9/v1"])
    assert unpriced.exit_code == 2 and "--price-in" in unpriced.output and unpriced.output.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_plan_estimates_openai_costs(tmp_path):
    runner = CliRunner()
    priced = runner.invoke(main, ["plan", str(TINY), "--json", "--backend", "openai", "--model", MODEL])
    assert priced.exit_code == 0, priced.output
    cost = json.loads(priced.output)["cost_estimate"]
    assert cost["usd"] > 0 and cost["prices"]["input"] == 0.40
    batch = json.loads(runner.invoke(main, ["plan", str(TINY), "--json", "--backend", "openai-batch", "--model",
                                            MODEL]).output)["cost_estimate"]
    assert batch["usd"] == pytest.approx(cost["usd"] / 2, abs=0.011)
    free = runner.invoke(main, ["plan", str(TINY), "--json", "--backend", "openai", "--model", "llama-3-8b",
                                "--price-in", "0", "--price-out", "0"])
    assert json.loads(free.output)["cost_estimate"]["usd"] == 0
    unknown = runner.invoke(main, ["plan", str(TINY), "--backend", "openai", "--model", "llama-3-8b"])
    assert unknown.exit_code == 2 and "no price for model 'llama-3-8b'" in unknown.output


def test_temperature_goes_to_openai_servers(tmp_path):
    with FakeOpenAIServer(FakeOpenAIConfig(seed=1)) as server:
        build(TINY, tmp_path / "ds", count=4, progress=False, log=quiet,
              settings=BackendSettings("openai", llm=options(server, tmp_path, temperature=0.7)))
    from generator.llm.cache import ResponseCache

    assert len(ResponseCache(tmp_path / "cache.sqlite")) > 0
    accounted(tmp_path / "ds", 4)


def test_service_error_exit_code():
    assert ServiceError("x").exit_code == 1
