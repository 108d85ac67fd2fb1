"""A loopback fake of an OpenAI-compatible API, for testing the OpenAI path without internet.

It speaks the real HTTP protocol closely enough for the official `openai` SDK:

- POST /v1/chat/completions (non-streaming), GET /v1/models
- POST /v1/files (multipart, purpose "batch"), GET /v1/files/{id}, GET /v1/files/{id}/content
- POST /v1/batches, GET /v1/batches[/{id}], POST /v1/batches/{id}/cancel
- GET /_fake/stats (no auth), POST /_fake/batches/end (no auth)

Every answer is a pure function of the request's content (the fake's seed, the model, the
messages and max_tokens): the answer text from `generator.fakes.answers`, which reads the
`<request_info .../>` marker every sdfgen prompt ends with, and the quality faults too. So the
same request gets the same answer whether it comes alone or inside a batch, in any order, and a
build through `--backend openai` gives the same bytes as one through `--backend openai-batch`.

Transport faults (429, 500, dropped connections) are drawn from a seeded stream; they are
injected before the rate limit counts the request, like a proxy in front of the server.
Limits are continuous buckets (requests, and tokens = prompt + max_tokens, as OpenAI counts),
advertised in `x-ratelimit-*` headers on every answer, with `retry-after` on 429s. Prefix caching
is automatic, as OpenAI's and vLLM's: the system message, once seen, is reported as
`usage.prompt_tokens_details.cached_tokens` when it is at least `min_cache_tokens` long.
"""
from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import answers as fake_answers
from .anthropic_api import _new_id, canonical_key, count_tokens
from .http_server import ApiError, FakeServer, Handler
from .ratelimit import Bucket

__all__ = ["FakeOpenAIConfig", "FakeOpenAIServer", "serve"]

MAX_BODY = 32 * 1024 * 1024
MAX_FILE = 200 * 1024 * 1024
DEFAULT_RPM, DEFAULT_TPM = 5000, 4_000_000
CACHE_BLOCK = 128  # OpenAI caches prefixes in 128-token steps


@dataclass
class FakeOpenAIConfig:
    seed: int = 0
    rpm: int | None = DEFAULT_RPM  # requests per minute (None: unlimited, no headers)
    tpm: int | None = DEFAULT_TPM  # prompt + max_tokens per minute
    p429: float = 0.0  # 429 with budget left (a burst limit) and a short retry-after
    p500: float = 0.0
    pdrop: float = 0.0  # close the connection without answering, before doing anything
    latency: tuple[float, float] = (0.0, 0.0)
    # Quality faults, drawn from the request's content, never from call order.
    p_missing_marker: float = 0.0
    p_truncate: float = 0.0
    p_refusal: float = 0.0  # message.refusal set, no content
    p_no_closing_tag: float = 0.0
    p_short_brainstorm: float = 0.0
    p_unsuitable: float = 0.0
    batch_delay: float | None = 0.3  # seconds until a batch completes; None: when told (end_batches)
    p_batch_errored: float = 0.0  # per batch request: a 500 in the error file
    p_batch_expired: float = 0.0  # per batch request: expired, in the error file
    min_cache_tokens: int = 1024
    answers: str = "templates"
    api_key: str | None = None  # when set, only this key is accepted (401 otherwise)
    drop_create_answers: int = 0  # create the next N batches, then drop the connection instead of answering
    script: list[str] | None = None  # document answers to give instead, chosen by request content (tests)


def _content_text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _duration(seconds: float) -> str:
    """OpenAI's reset format: "20ms", "1.5s", "6m0s"."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s"


@dataclass
class _Batch:
    id: str
    input_file_id: str
    metadata: dict
    created: float
    end_at: float | None
    lines: list[dict]
    status: str = "in_progress"
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed_at: float | None = None
    counts: dict = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})


class FakeOpenAIServer(FakeServer):
    thread_name = "fake-openai"
    path_prefix = "/v1"  # the openai SDK's base_url includes it
    body_limit = MAX_FILE  # the larger limit; _route holds chat completions to MAX_BODY
    request_id_header = "x-request-id"
    binary_type = "application/octet-stream"
    counters = ("requests", "completions", "usage", "faults", "batches")

    def __init__(self, config: FakeOpenAIConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        super().__init__(config or FakeOpenAIConfig(), host, port)
        self._buckets = {name: Bucket(limit) for name, limit in (("requests", self.config.rpm),
                                                                  ("tokens", self.config.tpm)) if limit}
        self._prefixes: set[str] = set()
        self._files: dict[str, dict] = {}
        self._stats = {"requests": Counter(), "requests_total": 0, "dropped": 0, "completions": Counter(),
                       "usage": Counter({"prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0}),
                       "faults": Counter(), "rate_limited": 0, "batches": Counter(), "succeeded_keys": Counter(),
                       "answered_at": []}

    def end_batches(self) -> int:
        now = time.time()
        ended = 0
        with self._lock:
            batches = list(self._batches.values())
        for batch in batches:
            if batch.status == "in_progress" and (batch.end_at is None or batch.end_at > now):
                batch.end_at = now
                ended += 1
            self._finalize(batch)
        return ended

    # ---- what FakeServer asks of the protocol
    def _request_id(self) -> str:
        return "req_" + _new_id("", 24)

    def _too_large(self) -> ApiError:
        return ApiError(413, "invalid_request_error", "Request too large")

    def _error_payload(self, err: ApiError, request_id: str) -> dict:
        return {"error": {"message": err.message, "type": err.kind, "param": None, "code": None}}

    def _crash_payload(self, exc: Exception, request_id: str) -> dict:
        return {"error": {"message": f"fake server error: {exc!r}", "type": "server_error"}}

    def _rate_headers(self, counted: bool) -> dict[str, str]:
        out: dict[str, str] = {}
        if not counted:  # the control endpoints' answers carry none
            return out
        now = time.monotonic()
        for name, bucket in self._buckets.items():
            bucket.refill(now)
            out[f"x-ratelimit-limit-{name}"] = str(int(bucket.capacity))
            out[f"x-ratelimit-remaining-{name}"] = str(max(0, int(bucket.level)))
            out[f"x-ratelimit-reset-{name}"] = _duration(bucket.reset_seconds())
        return out

    def _route(self, h: Handler, method: str, path: str, query: dict, raw: bytes):
        if not path.startswith("/v1/"):
            raise ApiError(404, "invalid_request_error", f"Unknown request URL: {method} {path}")
        given = (h.headers.get("Authorization") or "")[7:].strip()
        if not given or (self.config.api_key is not None and given != self.config.api_key):
            raise ApiError(401, "invalid_request_error", "Incorrect API key provided.")
        self._inject_faults()
        parts = path.split("/")[2:]

        def body() -> Any:
            try:
                return json.loads(raw.decode("utf-8")) if raw else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise ApiError(400, "invalid_request_error", "We could not parse the JSON body of your request.") \
                    from None

        if parts == ["chat", "completions"] and method == "POST":
            if len(raw) > MAX_BODY:
                raise self._too_large()
            return self._completions(body())
        if parts == ["models"] and method == "GET":
            return 200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "sdfgen"}]}, {}
        if parts == ["files"] and method == "POST":
            return self._upload(h, raw)
        if parts[:1] == ["files"] and len(parts) == 2 and method == "GET":
            return 200, self._file(parts[1])["view"], {}
        if parts[:1] == ["files"] and len(parts) == 3 and parts[2] == "content" and method == "GET":
            return 200, self._file(parts[1])["data"], {}
        if parts == ["batches"] and method == "POST":
            return self._batch_create(body())
        if parts == ["batches"] and method == "GET":
            return self._batch_list(query)
        if parts[:1] == ["batches"] and len(parts) == 2 and method == "GET":
            return 200, self._batch_view(self._batch(parts[1])), {}
        if parts[:1] == ["batches"] and len(parts) == 3 and parts[2] == "cancel" and method == "POST":
            batch = self._batch(parts[1])
            if batch.status == "in_progress":
                batch.end_at = time.time()
                batch.status = "cancelling"
            return 200, self._batch_view(batch), {}
        raise ApiError(404, "invalid_request_error", f"Unknown request URL: {method} {path}")

    def _inject_faults(self) -> None:
        cfg = self.config
        kind, retry_ms = self._draw_transport_fault((("drop", cfg.pdrop), ("429", cfg.p429), ("500", cfg.p500)))
        if kind == "429":
            raise ApiError(429, "requests", "Rate limit reached for requests (burst). Please try again shortly.",
                           {"retry-after": "1", "retry-after-ms": str(retry_ms)})
        if kind == "500":
            raise ApiError(500, "server_error", "The server had an error while processing your request.")

    # ---- chat completions
    @staticmethod
    def _validate(params: Any) -> None:
        if not isinstance(params, dict):
            raise ApiError(400, "invalid_request_error", "body must be a JSON object")
        if not isinstance(params.get("model"), str) or not params["model"]:
            raise ApiError(400, "invalid_request_error", "you must provide a model parameter")
        messages = params.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "invalid_request_error", "messages: at least one message is required")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant"):
                raise ApiError(400, "invalid_request_error", f"messages[{i}].role: invalid value")
        if params.get("stream"):
            raise ApiError(400, "invalid_request_error", "stream: this fake supports only non-streaming requests")
        limit = params.get("max_completion_tokens", params.get("max_tokens"))
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ApiError(400, "invalid_request_error", "max_tokens must be a positive integer")

    def _prompt_tokens(self, params: dict) -> tuple[int, int, str]:
        """(prompt tokens, tokens of the leading system messages, prefix key)."""
        messages = params["messages"]
        chars = sum(len(_content_text(m.get("content"))) for m in messages)
        prefix = []
        for m in messages:
            if m.get("role") not in ("system", "developer"):
                break
            prefix.append(_content_text(m.get("content")))
        prefix_chars = sum(len(p) for p in prefix)
        key = hashlib.sha256((params["model"] + "\0" + "\0".join(prefix)).encode()).hexdigest()
        return count_tokens(chars), count_tokens(prefix_chars), key

    def _answer(self, params: dict) -> tuple[dict, str]:
        """The completion for `params`, a function of its content alone (stage of the prompt returned too)."""
        cfg = self.config
        content_key = canonical_key({"seed": cfg.seed, "model": params["model"], "messages": params["messages"],
                                     "max": params.get("max_completion_tokens", params.get("max_tokens"))})
        rng = random.Random(int(content_key[:16], 16))
        faults = fake_answers.Faults(
            missing_marker=rng.random() < cfg.p_missing_marker, truncate=rng.random() < cfg.p_truncate,
            refusal=rng.random() < cfg.p_refusal, no_closing_tag=rng.random() < cfg.p_no_closing_tag,
            short_brainstorm=rng.random() < cfg.p_short_brainstorm, unsuitable=rng.random() < cfg.p_unsuitable)
        last_user = next((m for m in reversed(params["messages"]) if m.get("role") == "user"), {})
        prompt = _content_text(last_user.get("content"))
        max_tokens = params.get("max_completion_tokens", params.get("max_tokens")) or 4096
        ans = fake_answers.answer(prompt, rng, faults, mode=cfg.answers, max_tokens=max_tokens)
        text, refusal = ans.text, None
        if ans.stage == "document" and cfg.script:
            text = cfg.script[int(content_key[16:24], 16) % len(cfg.script)]
        elif ans.stage == "document" and "refusal" in ans.faults:
            text, refusal = None, text
        finish = "stop"
        if text is not None and len(text) > 4 * max_tokens:
            text, finish = text[:4 * max_tokens], "length"
        completion_tokens = max(1, count_tokens(len(text or refusal or "")))
        message = {"role": "assistant", "content": text, "refusal": refusal}
        return {"id": "chatcmpl-" + content_key[:24], "object": "chat.completion", "created": int(time.time()),
                "model": params["model"], "choices": [{"index": 0, "message": message, "finish_reason": finish,
                                                       "logprobs": None}],
                "usage": {"completion_tokens": completion_tokens}}, ans.stage

    def _usage(self, params: dict, completion: dict) -> None:
        """Fill in the usage of a completion, with the cache effect of its system prefix (lock held)."""
        total, prefix, key = self._prompt_tokens(params)
        cached = 0
        if prefix >= self.config.min_cache_tokens:
            if key in self._prefixes:
                cached = prefix // CACHE_BLOCK * CACHE_BLOCK
            self._prefixes.add(key)
        u = completion["usage"]
        u.update(prompt_tokens=total, total_tokens=total + u["completion_tokens"],
                 prompt_tokens_details={"cached_tokens": cached, "audio_tokens": 0},
                 completion_tokens_details={"reasoning_tokens": 0, "audio_tokens": 0})
        s = self._stats
        s["usage"]["prompt_tokens"] += total
        s["usage"]["completion_tokens"] += u["completion_tokens"]
        s["usage"]["cached_tokens"] += cached

    def _completions(self, params: Any):
        self._validate(params)
        total, _, _ = self._prompt_tokens(params)
        max_tokens = params.get("max_completion_tokens", params.get("max_tokens")) or 4096
        with self._lock:
            now = time.monotonic()
            need = {"requests": 1, "tokens": total + max_tokens}
            for name, bucket in self._buckets.items():
                bucket.refill(now)
                amount = min(need[name], bucket.capacity)
                if bucket.level < amount:
                    self._stats["rate_limited"] += 1
                    wait = (amount - bucket.level) / bucket.rate
                    raise ApiError(429, name, f"Rate limit reached for {name} per min: Limit "
                                   f"{int(bucket.capacity)}. Please try again in {_duration(wait)}.",
                                   {"retry-after": str(max(1, math.ceil(wait))),
                                    "retry-after-ms": str(max(1, math.ceil(wait * 1000)))})
            for name, bucket in self._buckets.items():
                bucket.level -= min(need[name], bucket.capacity)
        completion, stage = self._answer(params)
        with self._lock:
            self._usage(params, completion)
            self._stats["completions"][stage] += 1
            self._stats["succeeded_keys"][canonical_key(params)] += 1
            self._stats["answered_at"].append(time.monotonic())
        return 200, completion, {}

    # ---- files
    def _upload(self, h: Handler, raw: bytes):
        parser = email.parser.BytesParser(policy=email.policy.HTTP)
        message = parser.parsebytes(b"Content-Type: " + (h.headers.get("Content-Type") or "").encode() + b"\r\n\r\n"
                                    + raw)
        fields, data, name = {}, None, "upload.jsonl"
        for part in message.iter_parts() if message.is_multipart() else []:
            field_name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                data, name = part.get_payload(decode=True), part.get_filename()
            elif field_name:
                fields[field_name] = part.get_payload(decode=True).decode("utf-8", "replace")
        if data is None:
            raise ApiError(400, "invalid_request_error", "file: a file is required")
        if fields.get("purpose") != "batch":
            raise ApiError(400, "invalid_request_error", "purpose: this fake stores only purpose=batch files")
        return 200, self._store_file(data, name, "batch")["view"], {}

    def _store_file(self, data: bytes, name: str, purpose: str) -> dict:
        file_id = _new_id("file-", 24)
        view = {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                "filename": name, "purpose": purpose, "status": "processed"}
        with self._lock:
            self._files[file_id] = {"view": view, "data": data}
        return self._files[file_id]

    def _file(self, file_id: str) -> dict:
        return self._find(self._files, file_id, "invalid_request_error", f"No such File object: {file_id}")

    # ---- batches
    def _batch_create(self, body: Any):
        if not isinstance(body, dict) or body.get("endpoint") != "/v1/chat/completions":
            raise ApiError(400, "invalid_request_error", "endpoint: this fake batches /v1/chat/completions only")
        if body.get("completion_window") != "24h":
            raise ApiError(400, "invalid_request_error", "completion_window: must be 24h")
        source = self._file(str(body.get("input_file_id")))
        lines, seen = [], set()
        for n, line in enumerate(source["data"].decode("utf-8").splitlines(), 1):
            try:
                item = json.loads(line)
            except ValueError:
                raise ApiError(400, "invalid_request_error", f"line {n}: not JSON") from None
            if item.get("custom_id") in seen or item.get("url") != "/v1/chat/completions" or item.get("method") != "POST":
                raise ApiError(400, "invalid_request_error", f"line {n}: duplicate custom_id, or wrong url/method")
            seen.add(item["custom_id"])
            lines.append(item)
        now, delay = time.time(), self.config.batch_delay
        batch = _Batch(_new_id("batch_", 24), source["view"]["id"], dict(body.get("metadata") or {}), now,
                       None if delay is None else now + delay, lines)
        batch.counts["total"] = len(lines)
        self._add_batch(batch, len(lines))
        return 200, self._batch_view(batch), {}

    def _batch(self, batch_id: str) -> _Batch:
        return self._find(self._batches, batch_id, "invalid_request_error", f"No batch found with id '{batch_id}'")

    def _finalize(self, batch: _Batch) -> None:
        with self._lock:
            if batch.status not in ("in_progress", "cancelling") or batch.end_at is None or time.time() < batch.end_at:
                return
            cancelled = batch.status == "cancelling"
            batch.status = "finalizing"  # claimed: no other thread finalises it
        out, errors = [], []
        for item in batch.lines:
            key = item["custom_id"]
            digest = int(hashlib.sha256(f"{self.config.seed}:{key}:{batch.id}".encode()).hexdigest()[:12], 16)
            u = (digest % 10**6) / 10**6
            if cancelled:
                errors.append({"id": "batch_req_" + key[:12], "custom_id": key, "response": None,
                               "error": {"code": "batch_cancelled", "message": "cancelled"}})
                continue
            if u < self.config.p_batch_errored:
                errors.append({"id": "batch_req_" + key[:12], "custom_id": key, "response": {
                    "status_code": 500, "request_id": "req_x", "body": {"error": {"message": "server error",
                                                                                 "type": "server_error"}}},
                               "error": None})
                continue
            if u < self.config.p_batch_errored + self.config.p_batch_expired:
                errors.append({"id": "batch_req_" + key[:12], "custom_id": key, "response": None,
                               "error": {"code": "batch_expired", "message": "This request could not be executed "
                                         "before the completion window expired."}})
                continue
            params = item.get("body") or {}
            try:
                self._validate(params)
            except ApiError as err:
                errors.append({"id": "batch_req_" + key[:12], "custom_id": key, "response": {
                    "status_code": err.status, "request_id": "req_x", "body": {"error": {"message": err.message}}},
                               "error": None})
                continue
            completion, stage = self._answer(params)
            with self._lock:
                self._usage(params, completion)
                self._stats["completions"][stage] += 1
                self._stats["succeeded_keys"][canonical_key(params)] += 1
            out.append({"id": "batch_req_" + key[:12], "custom_id": key,
                        "response": {"status_code": 200, "request_id": "req_" + key[:12], "body": completion},
                        "error": None})
        random.Random(f"{self.config.seed}:{batch.id}").shuffle(out)  # not in request order, as the real API
        blob = lambda items: "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items).encode()  # noqa: E731
        batch.output_file_id = self._store_file(blob(out), f"{batch.id}_output.jsonl", "batch_output")["view"]["id"] \
            if out else None
        batch.error_file_id = self._store_file(blob(errors), f"{batch.id}_error.jsonl", "batch_output")["view"]["id"] \
            if errors else None
        batch.counts.update(completed=len(out), failed=len(errors))
        with self._lock:
            batch.completed_at = time.time()
            batch.status = "cancelled" if cancelled else "completed"
            self._stats["batches"]["completed"] += 1

    def _batch_view(self, batch: _Batch) -> dict:
        self._finalize(batch)
        return {"id": batch.id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
                "input_file_id": batch.input_file_id, "completion_window": "24h", "status": batch.status,
                "output_file_id": batch.output_file_id, "error_file_id": batch.error_file_id,
                "created_at": int(batch.created), "in_progress_at": int(batch.created),
                "expires_at": int(batch.created) + 86400, "completed_at": int(batch.completed_at)
                if batch.completed_at else None, "request_counts": dict(batch.counts), "metadata": batch.metadata}

    def _batch_list(self, query: dict):
        try:
            limit = max(1, min(100, int(query.get("limit", 20))))
        except ValueError:
            raise ApiError(400, "invalid_request_error", "limit: must be an integer") from None
        with self._lock:
            batches = sorted(self._batches.values(), key=lambda b: (b.created, b.id), reverse=True)
        ids = [b.id for b in batches]
        if query.get("after") in ids:
            batches = batches[ids.index(query["after"]) + 1:]
        page = batches[:limit]
        data = [self._batch_view(b) for b in page]
        return 200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                     "last_id": data[-1]["id"] if data else None, "has_more": len(batches) > len(page)}, {}


def serve(config: FakeOpenAIConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the fake in the foreground until interrupted (for `sdfgen fake-api --protocol openai`)."""
    FakeOpenAIServer(config, host, port).serve_until_interrupted("fake OpenAI-compatible API")
