"""A loopback fake of the Anthropic Messages API, for testing the API path without internet.

It speaks the real HTTP protocol closely enough for the official `anthropic` SDK:

- POST /v1/messages (non-streaming), POST /v1/messages/count_tokens
- POST /v1/messages/batches, GET /v1/messages/batches[/{id}[/results]],
  POST /v1/messages/batches/{id}/cancel, DELETE /v1/messages/batches/{id}
- GET /_fake/stats (no auth): the `stats` snapshot as JSON
- POST /_fake/batches/end (no auth): end every batch now (`end_batches()`; with batch_delay=None
  batches end only then, so a test decides exactly when a batch is in progress and when it is done)

Answers come from `generator.fakes.answers`, which recognises the sdfgen prompt stage. Faults
(random 429/529/500, dropped connections, latency, quality faults) and rate limits (continuous
token buckets, as the real API uses) are configured with `FakeConfig`.

Usage:
    with FakeAnthropicServer(FakeConfig(seed=1)) as server:
        client = anthropic.Anthropic(base_url=server.base_url, api_key="test-key")
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import answers as fake_answers
from .http_server import ApiError, FakeServer, Handler
from .ratelimit import Bucket

__all__ = ["FakeConfig", "FakeAnthropicServer", "serve", "canonical_key", "count_tokens"]

MAX_BODY = 32 * 1024 * 1024
MAX_BATCH_BODY = 256 * 1024 * 1024
CACHE_TTL = {"5m": 300.0, "1h": 3600.0}
CACHE_LOOKBACK = 20  # blocks the real API checks before each breakpoint for an earlier cache hit
CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
CANCEL_GRACE = 0.25  # seconds a canceling batch takes to end
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# Limits the fake enforces and advertises by default, in the headers the real API sends: generous, so
# a rehearsal's limiter ramps up to them instead of crawling at the client's start value (--rpm 50).
DEFAULT_RPM, DEFAULT_INPUT_TPM, DEFAULT_OUTPUT_TPM = 4000, 2_000_000, 400_000
# What API version 2026-10-21 refuses with HTTP 400, even at default values and through extra body fields.
REFUSED_SAMPLING = ("temperature", "top_p", "top_k")


@dataclass
class FakeConfig:
    seed: int = 0
    rpm: int | None = DEFAULT_RPM  # requests per minute (None = unlimited, and no rate-limit headers)
    input_tpm: int | None = DEFAULT_INPUT_TPM  # uncached input tokens (+ cache writes) per minute
    output_tpm: int | None = DEFAULT_OUTPUT_TPM  # output tokens per minute
    p429: float = 0.0  # random rate_limit_error with a short retry-after
    p529: float = 0.0  # random overloaded_error
    p500: float = 0.0  # random api_error
    pdrop: float = 0.0  # close the connection without any response (before doing anything)
    latency: tuple[float, float] = (0.0, 0.0)  # seconds, uniform, per request
    p_missing_marker: float = 0.0  # document without <fact> tags
    p_truncate: float = 0.0  # document longer than max_tokens, cut with stop_reason "max_tokens"
    p_refusal: float = 0.0  # a short refusal instead of the document
    p_no_closing_tag: float = 0.0  # document without its closing </document>
    p_short_brainstorm: float = 0.0  # fewer types/ideas than asked
    p_unsuitable: float = 0.0  # <ideas>UNSUITABLE</ideas>
    batch_delay: float | None = 0.3  # seconds from batch creation to "ended"; None: when told (end_batches)
    p_batch_errored: float = 0.0  # per batch request: errored (api_error)
    p_batch_expired: float = 0.0  # per batch request: expired
    min_cache_tokens: int = 1024  # shortest cacheable prefix
    answers: str = "templates"  # "templates": sentences from the topic pools; "plain": built-in sentences
    api_key: str | None = None  # when set, only this key is accepted (401 otherwise)
    drop_create_answers: int = 0  # create the next N batches, then close the connection instead of answering


# --------------------------------------------------------------------------------------------
# helpers


def count_tokens(chars: int) -> int:
    """The fake's tokenizer: one token per four characters, rounded up."""
    return math.ceil(chars / 4)


def canonical_key(body: Any) -> str:
    """sha256 of the canonical JSON of a request body (or a batch request's params)."""
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rfc3339_seconds(ts: float) -> str:
    return datetime.fromtimestamp(math.ceil(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id(prefix: str, n: int = 22) -> str:
    raw = uuid.uuid4().int
    out = []
    for _ in range(n):
        raw, r = divmod(raw, 62)
        out.append(ALPHABET[r])
    return prefix + "".join(out)


def _block_text(block: Any) -> str:
    """The characters a content block contributes to the token count."""
    if isinstance(block, str):
        return block
    if isinstance(block, dict):
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            return block["text"]
        return json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)
    return json.dumps(block, sort_keys=True)


def _message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b["text"] for b in content
                         if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str))
    return ""


def _validate_params(params: Any) -> None:
    """Raise ApiError(400) the way the real API rejects a malformed Messages request."""
    if not isinstance(params, dict):
        raise ApiError(400, "invalid_request_error", "request body must be a JSON object")
    for name in ("model", "max_tokens", "messages"):
        if name not in params:
            raise ApiError(400, "invalid_request_error", f"{name}: Field required")
    if not isinstance(params["model"], str) or not params["model"]:
        raise ApiError(400, "invalid_request_error", "model: Input should be a valid string")
    mt = params["max_tokens"]
    if isinstance(mt, bool) or not isinstance(mt, int) or mt < 1:
        raise ApiError(400, "invalid_request_error", "max_tokens: Input should be a positive integer")
    messages = params["messages"]
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "invalid_request_error", "messages: at least one message is required")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise ApiError(400, "invalid_request_error", f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if not isinstance(m.get("content"), (str, list)):
            raise ApiError(400, "invalid_request_error", f"messages.{i}.content: Field required")
    if params.get("stream"):
        raise ApiError(400, "invalid_request_error", "stream: this fake supports only non-streaming requests")
    for name in REFUSED_SAMPLING:
        if name in params:
            raise ApiError(400, "invalid_request_error",
                           f"{name}: sampling parameters are not supported by this API version; remove `{name}`")
    system = params.get("system")
    if system is not None and not isinstance(system, (str, list)):
        raise ApiError(400, "invalid_request_error", "system: Input should be a string or a list of blocks")


# --------------------------------------------------------------------------------------------
# rate limits


class _RateLimiter:
    KINDS = (("requests", "rpm", "requests"), ("input-tokens", "input_tpm", "input tokens"),
             ("output-tokens", "output_tpm", "output tokens"))

    def __init__(self, config: FakeConfig):
        self.buckets = {kind: Bucket(getattr(config, attr)) for kind, attr, _ in self.KINDS
                        if getattr(config, attr)}

    def headers(self) -> dict[str, str]:
        now_m, now_w = time.monotonic(), time.time()
        out = {}
        for kind, bucket in self.buckets.items():
            bucket.refill(now_m)
            out[f"anthropic-ratelimit-{kind}-limit"] = str(int(bucket.capacity))
            out[f"anthropic-ratelimit-{kind}-remaining"] = str(max(0, int(bucket.level)))
            out[f"anthropic-ratelimit-{kind}-reset"] = _rfc3339_seconds(
                now_w + bucket.reset_seconds())
        return out

    def acquire(self, input_cost: int, output_reserve: int) -> tuple[str, float] | None:
        """Take one request, the input tokens and the output reservation, or say which bucket is short.

        A request larger than a whole minute's allowance is let through when the bucket is full,
        so that it can eventually succeed.
        """
        now = time.monotonic()
        needs = {"requests": 1, "input-tokens": input_cost, "output-tokens": output_reserve}
        for kind, bucket in self.buckets.items():
            bucket.refill(now)
            wait = bucket.wait_for(needs[kind])
            if wait > 0:
                return kind, wait
        for kind, bucket in self.buckets.items():
            bucket.level -= min(needs[kind], bucket.capacity) if kind == "output-tokens" else needs[kind]
        return None

    def output_reservation(self, max_tokens: int) -> int:
        bucket = self.buckets.get("output-tokens")
        return min(max_tokens, int(bucket.capacity)) if bucket is not None else 0

    def settle_output(self, reserved: int, used: int) -> None:
        bucket = self.buckets.get("output-tokens")
        if bucket is not None:
            bucket.refill(time.monotonic())
            bucket.level = min(bucket.capacity, bucket.level + reserved - used)


# --------------------------------------------------------------------------------------------
# batches


@dataclass
class _Batch:
    id: str
    created: float
    end_at: float | None  # None: in progress until told to end
    requests: list[tuple[str, Any]]
    cancel_at: float | None = None
    ended_at: float | None = None
    results: list[dict] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


# --------------------------------------------------------------------------------------------
# the server


class FakeAnthropicServer(FakeServer):
    thread_name = "fake-anthropic"
    body_limit = MAX_BATCH_BODY  # the larger limit; _route holds non-batch requests to MAX_BODY
    request_id_header = "request-id"
    binary_type = "application/binary"
    counters = ("requests", "messages", "usage", "faults", "rate_limited", "stop_reasons", "batches")

    def __init__(self, config: FakeConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        super().__init__(config or FakeConfig(), host, port)
        self._limiter = _RateLimiter(self.config)
        self._cache: dict[str, float] = {}
        self._stats = {
            "requests": Counter(), "requests_total": 0, "dropped": 0, "messages": Counter(),
            "usage": Counter({"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 0}),
            "faults": Counter(), "rate_limited": Counter(), "stop_reasons": Counter(), "batches": Counter(),
            "succeeded_keys": Counter(),
        }

    # ---- what FakeServer asks of the protocol

    def _request_id(self) -> str:
        return _new_id("req_011", 21)

    def _too_large(self) -> ApiError:
        return ApiError(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.")

    def _error_payload(self, err: ApiError, request_id: str) -> dict:
        return {"type": "error", "error": {"type": err.kind, "message": err.message}, "request_id": request_id}

    def _crash_payload(self, exc: Exception, request_id: str) -> dict:
        return self._error_payload(ApiError(500, "api_error", f"fake server error: {exc!r}"), request_id)

    def _rate_headers(self, counted: bool) -> dict[str, str]:
        return self._limiter.headers()  # on every answer, the control endpoints' too

    # ---- routing

    def _route(self, h: Handler, method: str, path: str, query: dict, raw: bytes):
        if not path.startswith("/v1/"):
            raise ApiError(404, "not_found_error", f"Not found: {path}")
        if not self._authorised(h):
            raise ApiError(401, "authentication_error", "x-api-key header is required")
        self._inject_faults()
        parts = path.split("/")[1:]  # ["v1", "messages", ...]
        limit = MAX_BATCH_BODY if parts[:3] == ["v1", "messages", "batches"] else MAX_BODY
        if len(raw) > limit:
            raise self._too_large()

        def body() -> Any:
            try:
                return json.loads(raw.decode("utf-8")) if raw else {}
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ApiError(400, "invalid_request_error", f"The request body is not valid JSON: {exc}") from None

        if parts == ["v1", "messages"] and method == "POST":
            return self._messages(body())
        if parts == ["v1", "messages", "count_tokens"] and method == "POST":
            params = body()
            _validate_params({**params, "max_tokens": 1} if isinstance(params, dict) else params)
            return 200, {"input_tokens": self._plan_usage(params, commit=False)["total"]}, {}
        if parts[:3] == ["v1", "messages", "batches"]:
            rest = parts[3:]
            if not rest and method == "POST":
                return self._batch_create(body(), h)
            if not rest and method == "GET":
                return self._batch_list(query, h)
            if len(rest) == 1 and method == "GET":
                return 200, self._batch_view(self._batch(rest[0]), h), {}
            if len(rest) == 1 and method == "DELETE":
                return self._batch_delete(rest[0])
            if len(rest) == 2 and rest[1] == "results" and method == "GET":
                return self._batch_results(rest[0])
            if len(rest) == 2 and rest[1] == "cancel" and method == "POST":
                return self._batch_cancel(rest[0], h)
        raise ApiError(404, "not_found_error", f"Not found: {method} {path}")

    def _authorised(self, h: Handler) -> bool:
        given = (h.headers.get("x-api-key") or "").strip()
        auth = h.headers.get("Authorization") or ""
        if not given and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if not given:
            return False
        return self.config.api_key is None or hmac.compare_digest(given, self.config.api_key)

    def _inject_faults(self) -> None:
        """Latency and random failures, drawn from the seeded generator in a fixed number of draws."""
        cfg = self.config
        kind, retry_ms = self._draw_transport_fault(
            (("drop", cfg.pdrop), ("429", cfg.p429), ("529", cfg.p529), ("500", cfg.p500)))
        if kind == "429":
            raise ApiError(429, "rate_limit_error", "Number of concurrent connections has exceeded your rate limit. "
                           "Please try again later.", {"retry-after": "1", "retry-after-ms": str(retry_ms)})
        if kind == "529":
            raise ApiError(529, "overloaded_error", "Overloaded")
        if kind == "500":
            raise ApiError(500, "api_error", "Internal server error")

    # ---- messages

    def _plan_usage(self, params: dict, commit: bool, now: float | None = None) -> dict:
        """Token counts and prompt-cache effect of a request; with commit, writes/refreshes the cache.

        Must be called with self._lock held when commit is true.
        """
        items: list[tuple[str, int, dict | None]] = []  # (canonical json, chars, cache_control)
        for tool in params.get("tools") or []:
            items.append((json.dumps(tool, sort_keys=True), len(_block_text(tool)),
                          tool.get("cache_control") if isinstance(tool, dict) else None))
        system = params.get("system")
        if isinstance(system, str) and system:
            items.append((json.dumps(["system", system]), len(system), None))
        elif isinstance(system, list):
            for block in system:
                bare = {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block
                items.append((json.dumps(["system", bare], sort_keys=True), len(_block_text(block)),
                              block.get("cache_control") if isinstance(block, dict) else None))
        for message in params.get("messages") or []:
            role = message.get("role")
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            for block in blocks:
                bare = {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block
                items.append((json.dumps([role, bare], sort_keys=True), len(_block_text(block)),
                              block.get("cache_control") if isinstance(block, dict) else None))
        total = count_tokens(sum(c for _, c, _ in items))
        breakpoints = [i for i, (_, _, cc) in enumerate(items) if cc]
        if params.get("cache_control") and items and (not breakpoints or breakpoints[-1] != len(items) - 1):
            items[-1] = (items[-1][0], items[-1][1], params["cache_control"])
            breakpoints.append(len(items) - 1)
        plan = {"total": total, "input_tokens": total, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0, "ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
        if not breakpoints:
            return plan
        # Prefix hashes and token counts, block by block.
        model = str(params.get("model"))
        h = hashlib.sha256(model.encode())
        keys, prefix_tokens, chars = [], [], 0
        for canon, c, _ in items:
            h.update(b"\0" + canon.encode("utf-8"))
            keys.append(h.copy().hexdigest())
            chars += c
            prefix_tokens.append(count_tokens(chars))
        last = breakpoints[-1]
        minimum = self.config.min_cache_tokens
        if prefix_tokens[last] < minimum:
            return plan
        now = time.time() if now is None else now
        candidates = sorted({i for b in breakpoints for i in range(max(0, b - CACHE_LOOKBACK + 1), b + 1)},
                            reverse=True)
        read_at = next((i for i in candidates
                        if prefix_tokens[i] >= minimum and self._cache.get(keys[i], 0) > now), None)
        read = prefix_tokens[read_at] if read_at is not None else 0
        creation = prefix_tokens[last] - read
        ttl_name = "1h" if (items[last][2] or {}).get("ttl") == "1h" else "5m"
        plan.update(input_tokens=total - prefix_tokens[last], cache_creation_input_tokens=creation,
                    cache_read_input_tokens=read)
        plan[f"ephemeral_{ttl_name}_input_tokens"] = creation
        if commit:
            if read_at is not None:
                self._cache[keys[read_at]] = max(self._cache[keys[read_at]], now + CACHE_TTL["5m"])
            for b in breakpoints:
                if prefix_tokens[b] >= minimum:
                    ttl = CACHE_TTL["1h" if (items[b][2] or {}).get("ttl") == "1h" else "5m"]
                    self._cache[keys[b]] = max(self._cache.get(keys[b], 0), now + ttl)
        return plan

    def _draw_quality(self) -> fake_answers.Faults:
        """Quality faults for one answer (call with self._lock held); always the same number of draws."""
        cfg = self.config
        r = self._rng
        return fake_answers.Faults(
            missing_marker=r.random() < cfg.p_missing_marker, truncate=r.random() < cfg.p_truncate,
            refusal=r.random() < cfg.p_refusal, no_closing_tag=r.random() < cfg.p_no_closing_tag,
            short_brainstorm=r.random() < cfg.p_short_brainstorm, unsuitable=r.random() < cfg.p_unsuitable,
        )

    def _compose(self, params: dict, faults: fake_answers.Faults, plan: dict, service_tier: str) -> tuple[dict, str, list[str]]:
        """The Message object answering `params` (no locks needed)."""
        messages = params["messages"]
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
        prompt = _message_text(last_user) if last_user else ""
        seed = int(canonical_key({"seed": self.config.seed, "body": params})[:16], 16)
        ans = fake_answers.answer(prompt, random.Random(seed), faults, mode=self.config.answers,
                                  max_tokens=params["max_tokens"])
        text = ans.text
        if messages[-1].get("role") == "assistant":  # prefill: continue from it
            prefill = _message_text(messages[-1])
            if prefill and text.startswith(prefill):
                text = text[len(prefill):]
        limit_chars = 4 * params["max_tokens"]
        stop_reason, stop_sequence = "end_turn", None
        stops = [s for s in params.get("stop_sequences") or [] if isinstance(s, str) and s]
        hits = [(text.find(s), s) for s in stops if 0 <= text.find(s) < limit_chars]
        if hits:
            pos, stop_sequence = min(hits)
            text, stop_reason = text[:pos], "stop_sequence"
        elif len(text) > limit_chars:
            text, stop_reason = text[:limit_chars], "max_tokens"
        output_tokens = max(1, count_tokens(len(text)))
        usage = {
            "input_tokens": plan["input_tokens"],
            "cache_creation_input_tokens": plan["cache_creation_input_tokens"],
            "cache_read_input_tokens": plan["cache_read_input_tokens"],
            "cache_creation": {"ephemeral_5m_input_tokens": plan["ephemeral_5m_input_tokens"],
                               "ephemeral_1h_input_tokens": plan["ephemeral_1h_input_tokens"]},
            "output_tokens": output_tokens,
            "service_tier": service_tier,
        }
        message = {
            "id": _new_id("msg_01"), "type": "message", "role": "assistant", "model": params["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason, "stop_sequence": stop_sequence, "usage": usage,
        }
        return message, ans.stage, ans.faults

    def _record(self, params: dict, message: dict, stage: str, faults: list[str]) -> None:
        """Count a successfully answered request (call with self._lock held)."""
        s = self._stats
        s["messages"][stage] += 1
        s["stop_reasons"][message["stop_reason"]] += 1
        for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
            s["usage"][k] += message["usage"][k]
        for f in faults:
            s["faults"][f] += 1
        s["succeeded_keys"][canonical_key(params)] += 1

    def _messages(self, params: Any):
        _validate_params(params)
        with self._lock:
            plan = self._plan_usage(params, commit=False)
            reserve = self._limiter.output_reservation(params["max_tokens"])
            short = self._limiter.acquire(plan["input_tokens"] + plan["cache_creation_input_tokens"], reserve)
            if short is not None:
                kind, wait = short
                self._stats["rate_limited"][kind] += 1
                name = dict((k, label) for k, _, label in _RateLimiter.KINDS)[kind]
                limit = int(self._limiter.buckets[kind].capacity)
                raise ApiError(429, "rate_limit_error",
                               f"This request would exceed the rate limit for your organization of {limit} {name} "
                               "per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.",
                               {"retry-after": str(max(1, math.ceil(wait))),
                                "retry-after-ms": str(max(1, math.ceil(wait * 1000)))})
            plan = self._plan_usage(params, commit=True)
            faults = self._draw_quality()
        try:
            message, stage, applied = self._compose(params, faults, plan, "standard")
        except Exception:
            with self._lock:
                self._limiter.settle_output(reserve, 0)
            raise
        with self._lock:
            self._limiter.settle_output(reserve, message["usage"]["output_tokens"])
            self._record(params, message, stage, applied)
        return 200, message, {}

    # ---- batches

    def _batch(self, batch_id: str) -> _Batch:
        return self._find(self._batches, batch_id, "not_found_error", f"No message batch found with id {batch_id!r}")

    @staticmethod
    def _host_url(h: Handler | None, fallback: str) -> str:
        host = h.headers.get("Host") if h is not None else None
        return f"http://{host}" if host else fallback

    def _batch_create(self, body: Any, h: Handler):
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "invalid_request_error", "requests: at least one request is required")
        if len(requests) > 100_000:
            raise ApiError(400, "invalid_request_error", "requests: at most 100,000 requests per batch")
        seen = set()
        items = []
        for i, r in enumerate(requests):
            if not isinstance(r, dict) or not isinstance(r.get("custom_id"), str) \
                    or not CUSTOM_ID_RE.match(r["custom_id"]):
                raise ApiError(400, "invalid_request_error",
                               f"requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$")
            if r["custom_id"] in seen:
                raise ApiError(400, "invalid_request_error",
                               f"Duplicate custom_id {r['custom_id']!r}: every custom_id must be unique")
            if not isinstance(r.get("params"), dict):
                raise ApiError(400, "invalid_request_error", f"requests.{i}.params: Field required")
            seen.add(r["custom_id"])
            items.append((r["custom_id"], r["params"]))
        now = time.time()
        delay = self.config.batch_delay
        batch = _Batch(id=_new_id("msgbatch_01"), created=now, end_at=None if delay is None else now + delay,
                       requests=items)
        self._add_batch(batch, len(items))
        return 200, self._batch_view(batch, h), {}

    def end_batches(self) -> int:
        """End every batch still in progress now; return how many there were."""
        now = time.time()
        with self._lock:
            batches = list(self._batches.values())
        ended = 0
        for batch in batches:
            with batch.lock:
                if batch.results is None and (batch.end_at is None or batch.end_at > now):
                    batch.end_at = now
                    ended += 1
            self._finalize(batch)
        return ended

    def _finalize(self, batch: _Batch) -> None:
        """Work out every result once the batch's end time has passed."""
        with batch.lock:
            if batch.results is not None or batch.end_at is None or time.time() < batch.end_at:
                return
            n = len(batch.requests)
            done = n
            delay = self.config.batch_delay
            if batch.cancel_at is not None:
                done = min(n, int(n * (batch.cancel_at - batch.created) / delay)) if delay else 0
            results = []
            for index, (custom_id, params) in enumerate(batch.requests):
                if index >= done:
                    results.append({"custom_id": custom_id, "result": {"type": "canceled"}})
                    with self._lock:
                        self._stats["batches"]["canceled"] += 1
                    continue
                with self._lock:
                    u = self._rng.random()
                    errored = u < self.config.p_batch_errored
                    expired = not errored and u < self.config.p_batch_errored + self.config.p_batch_expired
                    faults = self._draw_quality()
                if errored or expired:
                    kind = "errored" if errored else "expired"
                    with self._lock:
                        self._stats["faults"][f"batch_{kind}"] += 1
                        self._stats["batches"][kind] += 1
                    result = ({"type": "errored", "error": {"type": "error", "error": {
                        "type": "api_error", "message": "Internal server error"}}} if errored else {"type": "expired"})
                    results.append({"custom_id": custom_id, "result": result})
                    continue
                try:
                    _validate_params(params)
                except ApiError as err:
                    with self._lock:
                        self._stats["batches"]["errored"] += 1
                    results.append({"custom_id": custom_id, "result": {"type": "errored", "error": {
                        "type": "error", "error": {"type": err.kind, "message": err.message}}}})
                    continue
                with self._lock:
                    plan = self._plan_usage(params, commit=True)
                message, stage, applied = self._compose(params, faults, plan, "batch")
                with self._lock:
                    self._record(params, message, stage, applied)
                    self._stats["batches"]["succeeded"] += 1
                results.append({"custom_id": custom_id, "result": {"type": "succeeded", "message": message}})
            # Results are not in request order in the real API either.
            random.Random(f"{self.config.seed}:{batch.id}").shuffle(results)
            batch.results = results
            batch.ended_at = max(time.time(), batch.end_at)

    def _batch_view(self, batch: _Batch, h: Handler | None) -> dict:
        self._finalize(batch)
        ended = batch.results is not None
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for r in batch.results:
                counts[r["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        status = "ended" if ended else ("canceling" if batch.cancel_at is not None else "in_progress")
        return {
            "id": batch.id, "type": "message_batch", "processing_status": status,
            "request_counts": counts,
            "ended_at": _rfc3339(batch.ended_at) if ended else None,
            "created_at": _rfc3339(batch.created),
            "expires_at": _rfc3339(batch.created + 86400),
            "archived_at": None,
            "cancel_initiated_at": _rfc3339(batch.cancel_at) if batch.cancel_at is not None else None,
            "results_url": (f"{self._host_url(h, self.base_url)}/v1/messages/batches/{batch.id}/results"
                            if ended else None),
        }

    def _batch_list(self, query: dict, h: Handler):
        try:
            limit = max(1, min(1000, int(query.get("limit", 20))))
        except ValueError:
            raise ApiError(400, "invalid_request_error", "limit: Input should be a valid integer") from None
        with self._lock:
            batches = sorted(self._batches.values(), key=lambda b: b.created, reverse=True)
        ids = [b.id for b in batches]
        if query.get("after_id") in ids:
            batches = batches[ids.index(query["after_id"]) + 1:]
        elif query.get("before_id") in ids:
            batches = batches[:ids.index(query["before_id"])][-limit:]
        page = batches[:limit]
        data = [self._batch_view(b, h) for b in page]
        return 200, {"data": data, "has_more": len(batches) > len(page),
                     "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}, {}

    def _batch_results(self, batch_id: str):
        batch = self._batch(batch_id)
        self._finalize(batch)
        if batch.results is None:
            raise ApiError(404, "not_found_error", f"Results for message batch {batch_id!r} are not available yet; "
                           "the batch is still processing.")
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch.results)
        return 200, lines.encode("utf-8"), {}

    def _batch_cancel(self, batch_id: str, h: Handler):
        batch = self._batch(batch_id)
        self._finalize(batch)
        with batch.lock:
            if batch.results is None and batch.cancel_at is None:
                now = time.time()
                batch.cancel_at = now
                batch.end_at = now + CANCEL_GRACE if batch.end_at is None else min(batch.end_at, now + CANCEL_GRACE)
                with self._lock:
                    self._stats["batches"]["cancel_requests"] += 1
        return 200, self._batch_view(batch, h), {}

    def _batch_delete(self, batch_id: str):
        batch = self._batch(batch_id)
        self._finalize(batch)
        if batch.results is None:
            raise ApiError(400, "invalid_request_error",
                           f"Message batch {batch_id!r} is still processing; cancel it before deleting.")
        with self._lock:
            self._batches.pop(batch_id, None)
        return 200, {"id": batch_id, "type": "message_batch_deleted"}, {}


def serve(config: FakeConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the fake in the foreground until interrupted (for `sdfgen fake-api`)."""
    FakeAnthropicServer(config, host, port).serve_until_interrupted("fake Anthropic API")
