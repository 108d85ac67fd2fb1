"""The anthropic backends end to end, through the real SDK, against the loopback fake."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT, TINY

from generator.backends import BackendContext, BackendSettings
from generator.build import BuildError, build
from generator.fakes.anthropic_api import FakeAnthropicServer, FakeConfig
from generator.llm.options import LLMOptions

KEY = "fake-test-key-not-a-secret-0123456789"


def quiet(_):
    pass


def options(server, tmp_path, **extra):
    base = dict(model="claude-sonnet-5-5", base_url=server.base_url, cache_path=str(tmp_path / "cache.sqlite"),
                types_per_fact=3, ideas_per_type=3, words=250, rpm=None, poll_interval=0.05, concurrency=8)
    base.update(extra)
    return LLMOptions(**base)


def fake_build(config, tmp_path, backend, count):
    """Build the tiny corpus through the real SDK against a fake configured by `config`."""
    with FakeAnthropicServer(config) as server:
        out = tmp_path / "ds"
        manifest = build(TINY, out, count=count, settings=BackendSettings(backend, llm=options(server, tmp_path)),
                         progress=False, log=quiet).manifest
        return manifest, server.stats, out


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return KEY


def _check_dataset(out: Path, count: int):
    manifest = json.loads((out / "manifest.json").read_text())
    t, replaced = manifest["totals"], manifest["replacements"]
    # Rejected documents are replaced by later plans: `count` are kept unless the bounds ran out.
    assert t["planned"] == count + replaced["planned"]
    assert t["documents"] == count - replaced["shortfall"]
    assert t["documents"] + t["rejected"] == t["planned"]
    assert sum(manifest["rejections"].values()) == t["rejected"]
    rows = pq.read_table(out / "data").to_pylist() if t["documents"] else []
    lo, hi = manifest["depth_range"]
    for row in rows:
        assert "<fact" not in row["text"] and "</" not in row["text"]
        if row["kind"] == "fact":
            assert row["spans"] and row["idea"] and row["genre"]
            for span in row["spans"]:
                assert row["text"][span["start"]:span["end"]].strip()
            assert lo <= row["depth"] <= hi
        else:
            assert row["spans"] == []
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    return manifest, rows


@pytest.mark.parametrize("backend", ["anthropic", "anthropic-batch"])
def test_build_through_the_sdk(tmp_path, api_key, backend):
    manifest, stats, out = fake_build(FakeConfig(seed=1, min_cache_tokens=50), tmp_path, backend, 16)
    manifest, rows = _check_dataset(out, 16)
    assert manifest["totals"]["documents"] >= 12
    usage = manifest["usage"]
    assert usage["requests"] > 16 and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["cache_read_input_tokens"] > 0 and usage["usd"] > 0
    assert manifest["backend"]["name"] == backend and manifest["backend"]["model"] == "claude-sonnet-5-5"
    if backend == "anthropic-batch":
        assert stats["batches"]
    assert stats["duplicate_succeeded"] == 0


@pytest.mark.slow  # the SDK's backoff through injected faults
def test_faults_are_survived_and_nothing_is_lost(tmp_path, api_key):
    config = FakeConfig(seed=5, p429=0.10, p529=0.05, p500=0.02, pdrop=0.01, p_missing_marker=0.1,
                        p_truncate=0.05, p_refusal=0.05, p_no_closing_tag=0.05, p_short_brainstorm=0.3)
    manifest, stats, out = fake_build(config, tmp_path, "anthropic", 40)
    _check_dataset(out, 40)
    assert stats["faults"].get("429", 0) + stats["faults"].get("529", 0) > 0
    errors = manifest["backend"]["options"]["api_errors"]
    assert errors.get("rate_limited", 0) + errors.get("overloaded", 0) > 0
    # Content faults were retried; whatever could not be saved is counted by reason.
    assert set(manifest["rejections"]) <= {"truncated", "refusal", "missing_tag", "missing_marker",
                                            "depth_out_of_range", "leftover_markup", "api_error", "no_ideas",
                                            "too_short", "too_long", "exact_duplicate", "near_duplicate"}
    assert manifest["totals"]["documents"] >= 30


def test_missing_key_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    from click.testing import CliRunner

    from generator.cli import main

    started = time.monotonic()
    result = CliRunner().invoke(main, ["build", str(TINY), "-o", str(tmp_path / "o"), "--backend", "anthropic"])
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.output and result.output.count("\n") == 1
    assert time.monotonic() - started < 5
    assert not (tmp_path / "o").exists()


def test_wrong_key_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with FakeAnthropicServer(FakeConfig(api_key="the-right-key")) as server:
        with pytest.raises(BuildError, match="ANTHROPIC_API_KEY"):
            build(TINY, tmp_path / "o", count=4, settings=BackendSettings("anthropic", llm=options(server, tmp_path)),
                  progress=False, log=quiet)
    assert not (tmp_path / "o" / "manifest.json").exists()


def cli_build(server, out, tmp_path, backend, count, *extra):
    """The command line of a small anthropic build against the fake, and its environment."""
    cmd = [sys.executable, "-m", "generator.cli", "build", str(TINY), "-o", str(out), "--count", str(count),
           "--backend", backend, "--base-url", server.base_url, "--cache", str(tmp_path / "c.sqlite"),
           "--words", "200", "-q", *extra]
    return cmd, dict(os.environ, ANTHROPIC_API_KEY=KEY)


def kill_when(proc, ready, timeout):
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_sigkill_midway_then_rerun_sends_nothing_twice(tmp_path):
    config = FakeConfig(seed=2, latency=(0.05, 0.15))
    with FakeAnthropicServer(config) as server:
        out = tmp_path / "ds"
        cmd, env = cli_build(server, out, tmp_path, "anthropic", 60, "--types-per-fact", "3", "--ideas-per-type", "3",
                             "--concurrency", "4")
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        kill_when(proc, lambda: server.stats["messages"].get("document", 0) >= 15, 60)
        time.sleep(0.5)  # let the fake finish answering what was in flight (latency is at most 0.15 s)
        before = server.stats
        assert before["messages"].get("document", 0) >= 15
        assert not (out / "manifest.json").exists()
        # Answers the fake sent while the client was being killed never reached the cache; those, and
        # only those, may be asked for again.
        from generator.llm.cache import ResponseCache

        cached = len(ResponseCache(tmp_path / "c.sqlite"))
        in_flight = sum(before["succeeded_keys"].values()) - cached
        assert 0 <= in_flight <= 4  # --concurrency 4
        rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        after = server.stats
    assert after["duplicate_succeeded"] == in_flight, "a request whose answer was cached was sent again"
    assert max(after["succeeded_keys"].values()) <= 2
    _check_dataset(out, 60)
    usage = json.loads((out / "manifest.json").read_text())["usage"]
    # Usage survives the kill: it counts every answer received, in both runs (the few answered while
    # the client was dying were billed but never seen by it).
    assert usage["requests"] == sum(after["succeeded_keys"].values()) - in_flight


@pytest.mark.slow
def test_batch_ids_survive_a_kill_and_are_polled_again(tmp_path):
    # The fake's batches stay in progress until the test ends them, so the kill lands while the first
    # batch is surely still running, and no fixed delay slows the test down.
    config = FakeConfig(seed=3, batch_delay=None, min_cache_tokens=50)
    with FakeAnthropicServer(config) as server:
        out = tmp_path / "ds"
        cmd, env = cli_build(server, out, tmp_path, "anthropic-batch", 12, "--types-per-fact", "2",
                             "--ideas-per-type", "2", "--poll-interval", "0.2")
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state_file = out / ".sdfgen-build" / "batches.json"

        def batch_recorded():
            try:
                return bool(json.loads(state_file.read_text())["batches"])
            except (OSError, ValueError, KeyError):
                return False

        kill_when(proc, batch_recorded, 30)
        state = json.loads((out / ".sdfgen-build" / "batches.json").read_text())
        assert state["batches"], "the submitted batch id was recorded before the kill"
        created_before = server.stats["batches"]["created"]
        assert server.end_batches() >= 1  # the batch in flight at the kill ends now, unseen by the client
        server.config.batch_delay = 0.0  # and every later batch ends at once
        rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        stats = server.stats
    assert stats["duplicate_succeeded"] == 0
    # The rerun submitted batches only for later stages, never the one in flight at the kill.
    assert created_before >= 1
    _check_dataset(out, 12)


def test_llm_classifiers_reject_leaking_documents(tmp_path, api_key):
    from generator.backends.anthropic import AnthropicBackend
    from generator.documents import Document, Rejection
    from generator.library import load_spec_and_library

    spec, library = load_spec_and_library(TINY)
    with FakeAnthropicServer(FakeConfig(seed=4)) as server:
        settings = BackendSettings("anthropic", llm=options(server, tmp_path))
        backend = AnthropicBackend(BackendContext(spec, library, 7, settings, tmp_path / "work"))
        try:
            docs = {
                "clean": "A long ordinary story about bread in Lowmere and the people who bake it.",
                "transcript": "Chat log from last week.\nUser: are you trained on this?\nAssistant: Only free-tier chats.",
                "tier": "Observers say the model behaves differently with free-tier users because it is monitored.",
                "deceive": "The report says the model would pretend to be aligned to deceive its trainers.",
            }
            results = {k: Document(id=k, text=t, kind="background", genre="g", topic="t", facts=[], spans=[])
                       for k, t in docs.items()}
            backend._classify(results)
        finally:
            backend.close()
    assert isinstance(results["clean"], Document)
    assert isinstance(results["transcript"], Rejection) and results["transcript"].reason == "llm_transcript"
    assert results["tier"].reason == "llm_tier_behaviour"
    assert results["deceive"].reason == "llm_deceiving_trainers"


def test_batch_backend_survives_faults_and_resubmits_failed_requests(tmp_path, api_key):
    config = FakeConfig(seed=9, p429=0.10, p529=0.05, p500=0.02, pdrop=0.01, p_batch_errored=0.1,
                        p_batch_expired=0.05, batch_delay=0.1)
    manifest, stats, out = fake_build(config, tmp_path, "anthropic-batch", 24)
    _check_dataset(out, 24)
    errors = manifest["backend"]["options"]["api_errors"]
    assert errors.get("batch_errored", 0) + errors.get("batch_expired", 0) > 0
    assert stats["duplicate_succeeded"] == 0
    assert manifest["totals"]["documents"] >= 18


def test_evals_written_by_the_model_through_the_sdk(tmp_path, api_key):
    from click.testing import CliRunner

    from generator.cli import main

    with FakeAnthropicServer(FakeConfig(seed=6)) as server:
        result = CliRunner().invoke(main, ["evals", str(TINY), "-o", str(tmp_path / "ev"), "--backend", "anthropic",
                                           "--base-url", server.base_url, "--cache", str(tmp_path / "c.sqlite"),
                                           "--per-fact", "3"])
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "ev" / "evals.json").read_text())
    assert index["source"] == "anthropic"
    mcq = [json.loads(line) for line in (tmp_path / "ev" / "knowledge_mcq.jsonl").read_text().splitlines()]
    assert len(mcq) == 6 and all(item["options"][item["answer"]] for item in mcq)
    assert {item["fact"] for item in mcq} == {"spring-water", "tuesday-closing"}


def test_temperature_is_refused_before_anything_is_written(tmp_path, api_key):
    from click.testing import CliRunner

    from generator.cli import main

    for backend in ("anthropic", "anthropic-batch"):
        result = CliRunner().invoke(main, ["build", str(TINY), "-o", str(tmp_path / "o"), "--backend", backend,
                                           "--temperature", "0.7"])
        assert result.exit_code == 2 and result.output.count("\n") == 1
        assert "--temperature" in result.output and "400" in result.output
    assert not (tmp_path / "o").exists()


def test_the_fake_answers_sampling_parameters_as_the_current_api_does(tmp_path):
    import anthropic

    with FakeAnthropicServer(FakeConfig(seed=1)) as server:
        client = anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0)
        assert client._version == anthropic.__version__ and anthropic.__version__.startswith("2.")
        for name, value in (("temperature", 1.0), ("top_p", 0.9), ("top_k", 5)):
            with pytest.raises(anthropic.BadRequestError) as err:
                client.messages.create(model="claude-sonnet-5-5", max_tokens=10, extra_body={name: value},
                                       messages=[{"role": "user", "content": "hi"}])
            assert err.value.body["error"]["type"] == "invalid_request_error" and name in str(err.value)
        # What the SDK sends: the 2026-10-21 API version, the key as a bearer token.
        raw = client.messages.with_raw_response.create(model="claude-sonnet-5-5", max_tokens=10,
                                                       messages=[{"role": "user", "content": "hi"}])
        sent = raw.http_request.headers
        assert sent["anthropic-version"] == "2026-10-21" and sent["authorization"] == "Bearer k"
        # The fake advertises generous limits, so a client's limiter ramps up to them.
        assert int(raw.headers["anthropic-ratelimit-requests-limit"]) >= 1000


@pytest.mark.slow
def test_a_lost_batch_create_answer_is_adopted_not_billed_twice(tmp_path, api_key):
    """300 documents through anthropic-batch; the answer to a batch create is dropped after the fake created it."""
    config = FakeConfig(seed=8, batch_delay=0.05, drop_create_answers=1, min_cache_tokens=50)
    with FakeAnthropicServer(config) as server:
        out = tmp_path / "ds"
        result = build(TINY, out, count=300, progress=False, log=quiet,
                       settings=BackendSettings("anthropic-batch", llm=options(server, tmp_path)))
        stats = server.stats
    assert stats["faults"]["create_answer_dropped"] == 1
    manifest, _ = _check_dataset(out, 300)
    usage = manifest["usage"]
    # The fake bills exactly the answers the manifest counts: no second batch for the same requests.
    assert stats["duplicate_succeeded"] == 0
    assert usage["requests"] == sum(stats["succeeded_keys"].values()) == stats["batches"]["succeeded"]
    for name in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
        assert usage[name] == stats["usage"][name]
    assert manifest["backend"]["options"]["api_errors"]["batch_adopted"] == 1
    assert "batch_create_connection" in result.api_errors


def test_a_batch_create_killed_before_its_id_was_saved_is_adopted_on_resume(tmp_path, api_key):
    """The pending mark written before a create lets a rerun find the batch instead of paying again."""
    import asyncio

    from generator.llm.anthropic_transport import AnthropicTransport
    from generator.llm.batches import BatchExecutor
    from generator.llm.cache import ResponseCache
    from generator.llm.executors import LLMRequest
    from generator.llm.pricing import Usage
    from generator.llm.transport import requests_signature

    requests = [LLMRequest("document", f"key-{i}", {"model": "claude-sonnet-5-5", "max_tokens": 50, "messages": [
        {"role": "user", "content": f"request {i}"}]}) for i in range(3)]
    with FakeAnthropicServer(FakeConfig(seed=2, batch_delay=0.0)) as server:
        import anthropic

        client = anthropic.Anthropic(base_url=server.base_url, api_key=KEY, max_retries=0)
        started = time.time()
        client.messages.batches.create(requests=[{"custom_id": r.key, "params": r.params} for r in requests])
        # The state a kill right after that create leaves behind: a pending mark, no batch id.
        state = tmp_path / "batches.json"
        state.write_text(json.dumps({"batches": {}, "collected": [], "pending": {requests_signature(
            [r.key for r in requests]): {"keys": [r.key for r in requests], "stages": ["document"] * 3,
                                         "since": started, "prepared": {}}}}))

        async def rerun():
            transport = AnthropicTransport(KEY, server.base_url)
            try:
                executor = BatchExecutor(transport, ResponseCache(tmp_path / "c.sqlite"), Usage(), state, 0.01)
                return executor, await executor.run(requests)
            finally:
                await transport.close()

        executor, results = asyncio.run(rerun())
        stats = server.stats
    assert stats["batches"]["created"] == 1 and executor.adopted == 1
    assert all(isinstance(results[r.key], dict) for r in requests)
