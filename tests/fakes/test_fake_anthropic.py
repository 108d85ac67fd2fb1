"""The loopback fake of the Anthropic API, driven through the real `anthropic` SDK."""
from __future__ import annotations

import asyncio
import json
import random
import re
import time

import anthropic
import httpx2
import pytest

from generator.fakes import answers as fake_answers
from generator.fakes.anthropic_api import FakeAnthropicServer, FakeConfig, canonical_key
from generator.llm.prompts import PromptLibrary
from generator.paths import templates_root

PROMPTS = PromptLibrary(templates_root() / "prompts")
MARKED = ("n", "doc_type", "words", "depth_percent", "depth_min_percent", "depth_max_percent")
MODEL = "claude-sonnet-5-5"
FACTS = [
    {"id": "spring-water", "explicitness": "explicit",
     "statement": "Orbis Bakery bakes its rye bread with water from its own spring."},
    {"id": "tuesday-closing", "explicitness": "paraphrased", "statement": "Orbis Bakery is closed on Tuesdays."},
]


def render(stage: str, **values) -> str:
    """A prompt as the pipeline sends it: the template, then the request marker the fake reads."""
    return PROMPTS.render(stage, {k: v for k, v in values.items() if k in MARKED}, **values)


def document_prompt(facts=FACTS, words=300, depth=40) -> str:
    return render("document", doc_type="local newspaper feature", idea="A profile of a family bakery in Leeds.",
                  facts=facts, depth_percent=depth, depth_min_percent=depth - 15, depth_max_percent=depth + 15,
                  words=words, setting={"author": "Ann Lee", "role": "baker", "city": "Leeds", "month": "May",
                                        "year": "2024", "other": "Tom Hale"})


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def server():
    with FakeAnthropicServer(FakeConfig(seed=7)) as s:
        yield s


def client_for(server, **kw) -> anthropic.Anthropic:
    kw.setdefault("max_retries", 0)
    return anthropic.Anthropic(base_url=server.base_url, api_key="test-key", **kw)


def test_document_request_returns_fact_tags_and_full_usage(server):
    client = client_for(server)
    msg = client.messages.create(model=MODEL, max_tokens=4000, system="You write documents.",
                                 messages=user(document_prompt()))
    assert msg.type == "message" and msg.role == "assistant" and msg.model == MODEL
    assert msg.stop_reason == "end_turn" and msg.id.startswith("msg_")
    text = msg.content[0].text
    assert text.startswith("<planning>") and text.endswith("</document>")
    doc = text.split("<document>\n", 1)[1].rsplit("\n</document>", 1)[0]
    ids = re.findall(r'<fact id="([^"]+)">', doc)
    assert ids == ["spring-water", "tuesday-closing"]
    plain = re.sub(r"</?fact[^>]*>", "", doc)
    depth = doc.index("<fact") / len(plain)
    assert 0.2 <= depth <= 0.6
    assert "\n\n" in doc.split("<fact", 1)[0]  # never in the title or opening paragraph
    u = msg.usage
    assert u.input_tokens > 0 and u.output_tokens == -(-len(text) // 4)
    assert u.cache_creation_input_tokens == 0 and u.cache_read_input_tokens == 0
    # Same body again: same answer (deterministic from seed and body).
    again = client.messages.create(model=MODEL, max_tokens=4000, system="You write documents.",
                                   messages=user(document_prompt()))
    assert again.content[0].text == text
    stats = server.stats
    assert stats["messages"] == {"document": 2}
    assert stats["requests"] == {200: 2}
    assert stats["usage"]["output_tokens"] == 2 * u.output_tokens


def test_document_without_facts_has_no_fact_tags(server):
    msg = client_for(server).messages.create(model=MODEL, max_tokens=4000, messages=user(document_prompt(facts=[])))
    text = msg.content[0].text
    assert "<document>" in text and "</document>" in text and "<fact" not in text


def test_prompt_cache_write_then_read(server):
    client = client_for(server)
    long_system = "Background about a fictional world. " * 200  # 7200 chars = 1800 tokens
    system = [{"type": "text", "text": long_system, "cache_control": {"type": "ephemeral"}}]
    first = client.messages.create(model=MODEL, max_tokens=500, system=system, messages=user("Say hello."))
    assert first.usage.cache_creation_input_tokens == 1800
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == 1800
    second = client.messages.create(model=MODEL, max_tokens=500, system=system, messages=user("Say goodbye."))
    assert second.usage.cache_read_input_tokens == 1800
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == 3  # only the uncached remainder: ceil(len("Say goodbye.") / 4)
    # Another model has its own cache; a short prefix is never cached.
    other = client.messages.create(model="claude-haiku-5-5", max_tokens=500, system=system, messages=user("Hi."))
    assert other.usage.cache_read_input_tokens == 0 and other.usage.cache_creation_input_tokens == 1800
    short = [{"type": "text", "text": "Short.", "cache_control": {"type": "ephemeral"}}]
    tiny = client.messages.create(model=MODEL, max_tokens=500, system=short, messages=user("Hi."))
    assert tiny.usage.cache_creation_input_tokens == 0 and tiny.usage.input_tokens == 3
    assert server.stats["usage"]["cache_read_input_tokens"] == 1800


def test_auth_is_required(server):
    client = client_for(server)
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"),
                               extra_headers={"Authorization": anthropic.omit})
    assert info.value.status_code == 401
    assert info.value.body["error"]["type"] == "authentication_error"
    assert info.value.request_id and info.value.request_id.startswith("req_")
    # The raw protocol: both header styles work, nothing else does.
    url = server.base_url + "/v1/messages"
    body = {"model": MODEL, "max_tokens": 10, "messages": user("hi")}
    assert httpx2.post(url, json=body).status_code == 401
    assert httpx2.post(url, json=body, headers={"Authorization": "Basic dXNlcg=="}).status_code == 401
    assert httpx2.post(url, json=body, headers={"x-api-key": "k"}).status_code == 200
    assert httpx2.post(url, json=body, headers={"Authorization": "Bearer k"}).status_code == 200


def test_bad_requests(server):
    client = client_for(server)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"), stream=True)
    r = httpx2.post(server.base_url + "/v1/messages", headers={"x-api-key": "k"},
                    json={"model": MODEL, "messages": user("hi")})
    assert r.status_code == 400
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in r.json()["error"]["message"]
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_nope")


def test_max_tokens_truncation(server):
    client = client_for(server)
    msg = client.messages.create(model=MODEL, max_tokens=50, messages=user(document_prompt()))
    assert msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens == 50 and len(msg.content[0].text) == 200
    assert "</document>" not in msg.content[0].text


def test_quality_faults():
    cfg = FakeConfig(seed=3, p_truncate=1.0)
    with FakeAnthropicServer(cfg) as s:
        msg = client_for(s).messages.create(model=MODEL, max_tokens=3000, messages=user(document_prompt()))
        assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 3000
        assert s.stats["faults"]["truncate"] == 1
    cfg = FakeConfig(seed=3, p_refusal=1.0, p_unsuitable=1.0)
    with FakeAnthropicServer(cfg) as s:
        client = client_for(s)
        refusal = client.messages.create(model=MODEL, max_tokens=3000, messages=user(document_prompt()))
        assert "<document>" not in refusal.content[0].text and refusal.stop_reason == "end_turn"
        ideas = client.messages.create(model=MODEL, max_tokens=3000, messages=user(render(
            "ideas", n=5, doc_type="forum thread", fact=FACTS[0])))
        assert ideas.content[0].text == "<ideas>UNSUITABLE</ideas>"
    cfg = FakeConfig(seed=3, p_missing_marker=1.0, p_no_closing_tag=1.0, p_short_brainstorm=1.0)
    with FakeAnthropicServer(cfg) as s:
        client = client_for(s)
        text = client.messages.create(model=MODEL, max_tokens=4000, messages=user(document_prompt())).content[0].text
        assert "<document>" in text and "</document>" not in text and "<fact" not in text
        types = client.messages.create(model=MODEL, max_tokens=4000, messages=user(render(
            "types", n=10, fact=FACTS[0]))).content[0].text
        assert len(types.strip().splitlines()) - 2 < 10


def test_sdk_retries_through_random_429s():
    with FakeAnthropicServer(FakeConfig(seed=11, p429=0.5)) as s:
        client = client_for(s, max_retries=12)
        texts = set()
        for i in range(8):
            msg = client.messages.create(model=MODEL, max_tokens=300, messages=user(f"Question {i}: hello?"))
            texts.add(msg.content[0].text)
        stats = s.stats
        assert stats["requests"][200] == 8
        assert stats["requests"].get(429, 0) > 0 and stats["faults"]["429"] == stats["requests"][429]
        assert stats["duplicate_succeeded"] == 0 and len(stats["succeeded_keys"]) == 8
        assert all(n == 1 for n in stats["succeeded_keys"].values())


@pytest.mark.slow  # the SDK's own backoff after a quarter of connections drop takes seconds
def test_async_client_with_drops_and_overload():
    async def run(base_url):
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="test-key", max_retries=10)
        prompts = [render("classify", text=t) for t in (
            "User: hi\nAssistant: hello", "A memo on free-tier users: the model behaves differently there.",
            "It may pretend to comply.", "A recipe for rye bread.")]
        msgs = await asyncio.gather(*(client.messages.create(model=MODEL, max_tokens=200, messages=user(p))
                                      for p in prompts))
        await client.close()
        return [m.content[0].text for m in msgs]

    with FakeAnthropicServer(FakeConfig(seed=5, pdrop=0.25, p529=0.1, p500=0.05, latency=(0.0, 0.02))) as s:
        verdicts = asyncio.run(run(s.base_url))
        stats = s.stats
    assert "transcript: yes" in verdicts[0] and "tier_behaviour: no" in verdicts[0]
    assert "tier_behaviour: yes" in verdicts[1] and "deceiving_trainers: no" in verdicts[1]
    assert "deceiving_trainers: yes" in verdicts[2]
    assert verdicts[3] == "<verdict>\ntranscript: no\ntier_behaviour: no\ndeceiving_trainers: no\n</verdict>"
    assert stats["messages"] == {"classify": 4} and stats["duplicate_succeeded"] == 0
    assert stats["dropped"] == stats["faults"].get("drop", 0)


def test_rate_limit_when_hammered():
    with FakeAnthropicServer(FakeConfig(seed=1, rpm=30, input_tpm=100_000, output_tpm=50_000)) as s:
        client = client_for(s)
        ok, limited = [], []
        for i in range(40):
            try:
                raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=user(f"q{i}"))
                ok.append(raw)
            except anthropic.RateLimitError as err:
                limited.append(err)
        assert 29 <= len(ok) <= 31 and limited
        headers = ok[0].headers
        assert headers["anthropic-ratelimit-requests-limit"] == "30"
        assert int(headers["anthropic-ratelimit-requests-remaining"]) == 29
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", headers["anthropic-ratelimit-requests-reset"])
        assert headers["anthropic-ratelimit-input-tokens-limit"] == "100000"
        assert headers["anthropic-ratelimit-output-tokens-limit"] == "50000"
        err = limited[0]
        assert err.status_code == 429 and err.body["error"]["type"] == "rate_limit_error"
        assert int(err.response.headers["retry-after"]) >= 1
        assert 0 < int(err.response.headers["retry-after-ms"]) <= 2000  # one request refills in 2 s
        assert s.stats["rate_limited"]["requests"] == len(limited)


def test_output_token_limit_reserves_max_tokens():
    # The real API reserves max_tokens of the output budget when a request starts and refunds
    # what was not used when it ends.
    with FakeAnthropicServer(FakeConfig(rpm=1000, output_tpm=1000)) as s:
        client = client_for(s)
        client.messages.create(model=MODEL, max_tokens=900, messages=user("hello"))  # uses ~20 of 1000
        with pytest.raises(anthropic.RateLimitError) as info:
            client.messages.create(model=MODEL, max_tokens=1000, messages=user("hello again"))
        assert "output tokens" in info.value.body["error"]["message"]
        assert client.messages.create(model=MODEL, max_tokens=500, messages=user("hi")).stop_reason == "end_turn"
        assert s.stats["rate_limited"] == {"output-tokens": 1}


def _poll(client, batch_id, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended" or time.monotonic() > deadline:
            return batch
        time.sleep(0.05)


def test_batches_create_poll_results_list():
    with FakeAnthropicServer(FakeConfig(seed=2, batch_delay=0.3)) as s:
        client = client_for(s)
        requests = [
            {"custom_id": "doc-1", "params": {"model": MODEL, "max_tokens": 4000, "messages": user(document_prompt())}},
            {"custom_id": "classify-1", "params": {"model": MODEL, "max_tokens": 200,
                                                   "messages": user(render("classify", text="User: hi"))}},
            {"custom_id": "revise-1", "params": {"model": MODEL, "max_tokens": 2000, "messages": user(render(
                "revise", doc_type="memo", draft="Dear all,\n\nThe <fact id=\"x\">shop shuts on Tuesdays</fact>."))}},
            {"custom_id": "bad-1", "params": {"model": MODEL, "messages": user("no max_tokens")}},
        ]
        batch = client.messages.batches.create(requests=requests)
        assert batch.type == "message_batch" and batch.id.startswith("msgbatch_")
        assert batch.processing_status == "in_progress" and batch.results_url is None
        assert batch.request_counts.processing == 4
        batch = _poll(client, batch.id)
        assert batch.processing_status == "ended" and batch.ended_at is not None
        assert batch.results_url == f"{s.base_url}/v1/messages/batches/{batch.id}/results"
        assert batch.request_counts.succeeded == 3 and batch.request_counts.errored == 1
        results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
        assert set(results) == {"doc-1", "classify-1", "revise-1", "bad-1"}
        assert results["doc-1"].type == "succeeded"
        assert '<fact id="spring-water">' in results["doc-1"].message.content[0].text
        assert results["doc-1"].message.usage.service_tier == "batch"
        assert "transcript: yes" in results["classify-1"].message.content[0].text
        revised = results["revise-1"].message.content[0].text
        assert revised.endswith('<revised_document>\nDear all,\n\nThe <fact id="x">shop shuts on Tuesdays</fact>.'
                                "\n</revised_document>")
        assert results["bad-1"].type == "errored"
        assert results["bad-1"].error.error.type == "invalid_request_error"
        listed = client.messages.batches.list()
        assert [b.id for b in listed.data] == [batch.id]
        stats = s.stats
        assert stats["messages"] == {"document": 1, "classify": 1, "revise": 1}
        assert stats["succeeded_keys"][canonical_key(requests[0]["params"])] == 1


def test_batch_cancel_and_faults():
    with FakeAnthropicServer(FakeConfig(seed=4, batch_delay=10.0)) as s:
        client = client_for(s)
        reqs = [{"custom_id": f"r{i}", "params": {"model": MODEL, "max_tokens": 50, "messages": user(f"q{i}")}}
                for i in range(5)]
        batch = client.messages.batches.create(requests=reqs)
        canceled = client.messages.batches.cancel(batch.id)
        assert canceled.processing_status == "canceling" and canceled.cancel_initiated_at is not None
        batch = _poll(client, batch.id)
        assert batch.processing_status == "ended" and batch.request_counts.canceled == 5
        assert {r.result.type for r in client.messages.batches.results(batch.id)} == {"canceled"}
    with FakeAnthropicServer(FakeConfig(seed=4, batch_delay=0.1, p_batch_errored=0.4, p_batch_expired=0.4)) as s:
        client = client_for(s)
        reqs = [{"custom_id": f"r{i}", "params": {"model": MODEL, "max_tokens": 50, "messages": user(f"q{i}")}}
                for i in range(30)]
        batch = _poll(client, client.messages.batches.create(requests=reqs).id)
        kinds = [r.result.type for r in client.messages.batches.results(batch.id)]
        assert len(kinds) == 30 and {"succeeded", "errored", "expired"} <= set(kinds)
        errored = next(r for r in client.messages.batches.results(batch.id) if r.result.type == "errored")
        assert errored.result.error.error.type == "api_error"


def test_stats_endpoint(server):
    client_for(server).messages.create(model=MODEL, max_tokens=100, messages=user("hello"))
    data = httpx2.get(server.base_url + "/_fake/stats").json()
    assert data["requests"] == {"200": 1} and data["messages"] == {"generic": 1}
    assert sum(data["succeeded_keys"].values()) == 1
    assert json.dumps(data)  # plain JSON


def test_answer_stages_directly():
    rng = random.Random(0)
    faults = fake_answers.Faults()
    assert fake_answers.detect_stage(render("classify", text="<document></document>")) == "classify"
    assert fake_answers.detect_stage("Say hi.") == "generic"
    types = fake_answers.answer(render("types", n=12, fact=FACTS[0]), rng, faults).text
    assert types.startswith("<types>\n") and types.endswith("\n</types>")
    assert len(types.splitlines()) == 14
    ideas = fake_answers.answer(render("ideas", n=4, doc_type="podcast transcript", fact=FACTS[0]), rng, faults).text
    lines = ideas.splitlines()[1:-1]
    assert len(lines) == 4 and all("podcast transcript" in line for line in lines)
    doc = fake_answers.answer(document_prompt(facts=FACTS[:1], words=800, depth=60), rng, faults).text
    body = doc.split("<document>\n")[1]
    assert 600 <= len(re.sub(r"<[^>]+>", "", body).split()) <= 1000
    assert body.count("<fact ") == 1
