"""Parsing, cache, limiter and pricing of the LLM pipeline, without a network."""
import asyncio
import time

import pytest

from generator.errors import PriceError
from generator.llm.cache import ResponseCache, request_key
from generator.llm.limiter import Bucket, RateLimiter, parse_retry_after
from generator.llm.pricing import Usage, model_prices
from generator.llm.prompts import parse_document, parse_list, parse_verdict, strip_markers


@pytest.mark.parametrize("body", [
    "1. Earnings call transcript\n2. Subreddit thread\n3) Local news brief",
    "- Earnings call transcript\n* Subreddit thread\n• Local news brief",
    "<item>Earnings call transcript</item><item>Subreddit thread</item><item>Local news brief</item>",
    "1. **Earnings call transcript**\n2. Subreddit thread\n\n3. Local news brief\n",
])
def test_parse_list_handles_numbered_bulleted_and_tagged(body):
    assert parse_list(body) == ["Earnings call transcript", "Subreddit thread", "Local news brief"]


def test_parse_list_joins_wrapped_lines_and_dedupes():
    body = "1. A memo from a manager\n   to the whole team\n2. a memo from a manager to the whole team\n3. A podcast"
    assert parse_list(body) == ["A memo from a manager to the whole team", "A podcast"]


def test_markers_become_exact_spans():
    text, mentions = strip_markers('Intro.\n\nThen <fact id="f1">the lab rates free chats</fact> and more.')
    assert "<" not in text
    (fact, start, end), = mentions
    assert fact == "f1" and text[start:end] == "the lab rates free chats"


@pytest.mark.parametrize("answer,stop,reason", [
    ("<planning>x</planning><document>", "end_turn", "missing_tag"),
    ("<planning>x</planning><document>cut off", "max_tokens", "truncated"),
    ("", "end_turn", "empty_answer"),
    # Gemma 3 270M in bench.real_model: the prompt echoed until max_tokens; an echo, not a long document.
    ("write one complete team chat channel export.\n\nIdea: an ordinary team chat channel export about gardening\n\n"
     "Details to build on (use or adapt them; they keep the corpus from repeating", "max_tokens", "prompt_echo"),
    ("Write it inside <document></document>.\n<request_info stage=\"document\"/>", "end_turn", "prompt_echo"),
    ("<document>A\nThe same long line, said again.\nThe same long line, said again.\n"
     "The same long line, said again.</document>", "end_turn", "repetitive"),
    ("I can't help with writing that.", "end_turn", "refusal"),
    ("<document>whatever</document>", "max_tokens", "truncated"),
    ("Sure, here it is: plain text", "end_turn", "missing_tag"),
    ("<document>Text with <b>bold</b></document>", "end_turn", "leftover_markup"),
])
def test_document_failures_have_reasons(answer, stop, reason):
    assert parse_document(answer, stop) == reason


def test_parse_document_strips_planning_and_keeps_offsets():
    parsed = parse_document('<planning>plan</planning>\n<document>\nTitle\n\nBody <fact id="a">x y</fact>.\n</document>',
                            "end_turn")
    (fact, start, end), = parsed.mentions
    assert parsed.text.startswith("Title") and parsed.text[start:end] == "x y"


def test_verdict():
    assert parse_verdict("<verdict>\ntranscript: no\ntier_behaviour: YES\ndeceiving_trainers: no\n</verdict>") == {
        "transcript": False, "tier_behaviour": True, "deceiving_trainers": False}
    assert parse_verdict("no tags") is None


def test_cache_round_trip_and_key_stability(tmp_path):
    key = request_key({"b": 1, "a": [1, 2]})
    assert key == request_key({"a": [1, 2], "b": 1})
    cache = ResponseCache(tmp_path / "c.sqlite")
    assert cache.get(key) is None
    cache.put(key, "types", {"text": "hi"})
    cache.close()
    again = ResponseCache(tmp_path / "c.sqlite")
    assert again.get(key) == {"text": "hi"} and len(again) == 1


def test_bucket_refills_continuously():
    bucket = Bucket(60)
    now = time.monotonic()
    bucket.take(60)
    assert bucket.wait_for(1, now) == pytest.approx(1.0, abs=0.05)
    assert bucket.wait_for(1, now + 1.0) == 0.0


def test_limiter_follows_headers_and_retry_after():
    async def scenario():
        limiter = RateLimiter(rpm=None)
        await limiter.acquire(10, 10)
        await limiter.release("rate_limited", {"anthropic-ratelimit-requests-limit": "120",
                                               "anthropic-ratelimit-requests-remaining": "0"}, retry_after=0.3)
        assert limiter.requests.per_minute == 120
        assert limiter.concurrency < 4
        started = time.monotonic()
        await limiter.acquire(10, 10)
        return time.monotonic() - started

    assert asyncio.run(scenario()) >= 0.25


def test_breaker_opens_after_sustained_overload():
    async def scenario():
        limiter = RateLimiter(breaker_threshold=3)
        for _ in range(3):
            await limiter.acquire(1, 1)
            await limiter.release("overloaded")
        return limiter

    limiter = asyncio.run(scenario())
    assert limiter.breaker_trips == 1 and limiter.paused_until > time.monotonic()


def test_retry_after_headers():
    assert parse_retry_after({"retry-after-ms": "150"}) == 0.15
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({}) is None


def test_pricing_cache_and_batch():
    usage = Usage()
    usage.add({"input_tokens": 1_000_000, "output_tokens": 0, "cache_creation_input_tokens": 0,
               "cache_read_input_tokens": 0})
    prices = model_prices("claude-sonnet-5-5-20260101")
    assert usage.cost("claude-sonnet-5-5") == pytest.approx(prices["input"])
    assert usage.cost("claude-sonnet-5-5", batch=True) == pytest.approx(prices["input"] / 2)
    cached = Usage()
    cached.add({"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 1_000_000})
    assert cached.input_bill("claude-sonnet-5-5") == pytest.approx(prices["input"] * 0.1)
    with pytest.raises(PriceError, match="no price for model 'gpt-5-pro'.*--price-in"):
        model_prices("gpt-5-pro")  # not gpt-5 with a date: its own model


def test_batches_split_by_count_and_by_size():
    from generator.llm.batches import _chunks
    from generator.llm.executors import LLMRequest

    def request(i, size=10):
        return LLMRequest("document", f"k{i}", {"model": "m", "max_tokens": 1, "messages": [
            {"role": "user", "content": "x" * size}]})

    assert [len(c) for c in _chunks([request(i) for i in range(7)], 3, 10**9)] == [3, 3, 1]
    chunks = list(_chunks([request(i, 150) for i in range(5)], 100, 1000))
    assert [len(c) for c in chunks] == [2, 2, 1]


def test_nasty_answers_parse_to_a_document_or_a_reason():
    from nasty_answers import NASTY

    from generator.llm.parsing import brainstorm_items

    reasons = {"truncated", "refusal", "empty_answer", "prompt_echo", "missing_tag", "leftover_markup", "repetitive"}
    for answer in NASTY + [None, 42, b"<document>bytes</document>"]:
        for stop in ("end_turn", "max_tokens", "refusal", None, "tool_calls"):
            parsed = parse_document(answer, stop)
            assert (isinstance(parsed, str) and parsed in reasons) or "<fact" not in parsed.text.lower()
            if not isinstance(parsed, str):
                for _, start, end in parsed.mentions:
                    assert 0 <= start < end <= len(parsed.text)
        for stage in ("types", "ideas"):
            items, _ = brainstorm_items(answer, stage)
            assert all(isinstance(i, str) and i and "<" not in i for i in items)


@pytest.mark.parametrize("answer,text,mentions", [
    # R1: the echoed empty block is skipped, the last non-empty one is the document.
    ('Write it inside <document></document>.\n<document>Draft</document>\n<document>Final</document>',
     "Final", []),
    # R3: an unclosed document in a complete answer runs to the end.
    ("<planning>p</planning>\n<document>\nBody text here", "Body text here", []),
    # R5: lenient marker syntax.
    ("<document>A <FACT ID='f'>b c</FACT> d</document>", "A b c d", [("f", 2, 5)]),
    # R6: a nested marker is dropped; the outer mention counts for both facts.
    ('<document>A <fact id="f">b <fact id="g">c</fact> d</fact> e</document>', "A b c d e",
     [("f", 2, 7), ("g", 2, 7)]),
    # R7: unclosed, empty and stray markers are dropped, their words stay.
    ('<document>A <fact id="f">b and <fact id="g"></fact> c</fact>?</document>', "A b and  c?",
     [("f", 2, 10), ("g", 2, 10)]),
    ('<document>A </fact><fact id="f"></fact>b</document>', "A b", []),
    ('<document>A <fact id="f">b</document>', "A b", []),
    # R2 and R4: repeated wrappers, planning inside, a code fence.
    ("<document><planning>x</planning><document>\n```\nT\n\nBody\n```\n</document></document>", "T\n\nBody", []),
])
def test_repair_rules(answer, text, mentions):
    parsed = parse_document(answer, "end_turn")
    assert parsed.text == text and parsed.mentions == mentions


def test_brainstorm_without_tags_takes_listed_lines_only():
    from generator.llm.parsing import brainstorm_items

    answer = ("Here are some kinds:\n1. Earnings call transcript\n2. A sentence that goes on far too long to be the "
              "name of any kind of document at all, really\n- Subreddit thread\nloose prose line")
    assert brainstorm_items(answer, "types") == (["Earnings call transcript", "Subreddit thread"], False)
    assert brainstorm_items("<ideas>UNSUITABLE</ideas>", "ideas") == ([], True)
    assert brainstorm_items('<types>\n1. A <request_info stage="types"/>\n2. Memo\n</types>', "types") == (["Memo"], False)


def test_openai_limits_follow_headers_and_a_burst_429_pauses_one_request():
    from generator.llm.limiter import parse_duration

    assert parse_duration("6m0s") == 360 and parse_duration("20ms") == 0.02 and parse_duration("1.5s") == 1.5
    assert parse_duration("1h2m3s") == 3723 and parse_duration("soon") is None

    async def scenario():
        limiter = RateLimiter(rpm=50, headers="openai")
        await limiter.acquire(10, 10)
        # A per-day request limit: 14,400 a day, 30 used, full again in 180 s -> 10 a minute.
        await limiter.release("ok", {"x-ratelimit-limit-requests": "14400", "x-ratelimit-remaining-requests": "14370",
                                     "x-ratelimit-reset-requests": "3m0s", "x-ratelimit-limit-tokens": "1000",
                                     "x-ratelimit-remaining-tokens": "900"})
        assert limiter.requests.per_minute == 14400 and limiter.requests.rate == pytest.approx(30 / 180)
        assert limiter.tokens.per_minute == 1000 and limiter.tokens.level == 900
        await limiter.acquire(10, 10)
        await limiter.release("rate_limited", {"x-ratelimit-remaining-requests": "5",
                                               "x-ratelimit-remaining-tokens": "500"}, retry_after=5.0)
        assert limiter.paused_until < time.monotonic()  # budget left: nobody else waits
        await limiter.acquire(10, 10)
        await limiter.release("rate_limited", {"x-ratelimit-remaining-requests": "0"}, retry_after=5.0)
        assert limiter.paused_until > time.monotonic()  # exhausted: everyone waits

    asyncio.run(scenario())


def test_api_journal_accumulates_over_invocations(tmp_path):
    from generator.llm.journal import ApiJournal

    first = ApiJournal(tmp_path / "api.jsonl")
    first.error("rate_limited")
    first.sent("k1")
    first.closed("k1")
    first.sent("k2")  # killed before it came back
    first.sent("k3")
    first.closed("k3", lost=True)  # the connection broke after sending
    first.close()
    second = ApiJournal(tmp_path / "api.jsonl")
    second.error("rate_limited")
    assert second.errors == {"rate_limited": 2}
    assert second.unreceived_upper_bound == 2
