"""Two ways to turn a list of requests into responses: the Messages API, or Message Batches.

Both look in the response cache first and store every successful response the
moment it arrives, so a rerun sends only what never succeeded. Failures come back
as values with a reason; nothing is dropped silently.
"""
from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import ResponseCache
from .limiter import RateLimiter, parse_retry_after
from .pricing import Usage

BATCH_MAX_REQUESTS = 100_000
BATCH_MAX_BYTES = 256 * 1024 * 1024


class FatalAPIError(RuntimeError):
    """Authentication or permission failure: no point in continuing (exit 2)."""


@dataclass(frozen=True)
class LLMRequest:
    stage: str
    key: str
    params: dict[str, Any]

    def estimated_input_tokens(self) -> int:
        chars = sum(len(b.get("text", "")) for b in self.params.get("system", []) if isinstance(b, dict))
        for message in self.params["messages"]:
            content = message["content"]
            chars += len(content) if isinstance(content, str) else sum(len(b.get("text", "")) for b in content)
        return chars // 4 + 1


@dataclass
class Failure:
    reason: str
    detail: str = ""


SDK_PARAMS = ("model", "max_tokens", "messages", "system", "metadata", "stop_sequences", "cache_control")


def sdk_arguments(params: dict) -> dict:
    """Parameters the SDK names go as keywords; any others (temperature, for models that still take it)
    travel in extra_body, so the request body is exactly `params`."""
    named = {k: v for k, v in params.items() if k in SDK_PARAMS}
    extra = {k: v for k, v in params.items() if k not in SDK_PARAMS}
    if extra:
        named["extra_body"] = extra
    return named


def response_record(message) -> dict:
    text = "".join(getattr(block, "text", "") for block in message.content)
    usage = message.usage
    return {
        "text": text, "stop_reason": message.stop_reason, "model": message.model,
        "usage": {"input_tokens": usage.input_tokens or 0, "output_tokens": usage.output_tokens or 0,
                  "cache_creation_input_tokens": getattr(usage, "cache_creation_input_tokens", 0) or 0,
                  "cache_read_input_tokens": getattr(usage, "cache_read_input_tokens", 0) or 0},
    }


class MessagesExecutor:
    batch = False

    def __init__(self, client, cache: ResponseCache, limiter: RateLimiter, usage: Usage, max_attempts: int = 10,
                 log=None):
        self.client = client
        self.cache = cache
        self.limiter = limiter
        self.usage = usage
        self.max_attempts = max_attempts
        self.errors: Counter[str] = Counter()
        self.sent = 0
        self.log = log or (lambda message: None)
        self._jitter = random.Random()

    async def run(self, requests: list[LLMRequest]) -> dict[str, dict | Failure]:
        results: dict[str, dict | Failure] = {}
        todo = []
        for request in requests:
            cached = self.cache.get(request.key)
            if cached is not None:
                results[request.key] = cached
            elif request.key not in {r.key for r in todo}:
                todo.append(request)
        answers = await asyncio.gather(*(self._one(r) for r in todo))
        results.update({r.key: a for r, a in zip(todo, answers)})
        return results

    async def _one(self, request: LLMRequest) -> dict | Failure:
        import anthropic

        reserve = int(request.params["max_tokens"])
        last = "no attempt"
        for attempt in range(self.max_attempts):
            await self.limiter.acquire(request.estimated_input_tokens(), reserve)
            self.sent += 1
            try:
                raw = await self.client.messages.with_raw_response.create(**sdk_arguments(request.params))
                message = await raw.parse()
            except anthropic.RateLimitError as exc:
                self.errors["rate_limited"] += 1
                last = "rate limited"
                await self.limiter.release("rate_limited", exc.response.headers, parse_retry_after(exc.response.headers))
                continue
            except anthropic.OverloadedError as exc:
                self.errors["overloaded"] += 1
                last = "overloaded"
                await self.limiter.release("overloaded", exc.response.headers, parse_retry_after(exc.response.headers))
                await self._backoff(attempt)
                continue
            except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
                await self.limiter.release("error")
                raise FatalAPIError(f"the API refused the credentials ({exc.status_code}); check ANTHROPIC_API_KEY") from None
            except (anthropic.BadRequestError, anthropic.NotFoundError, anthropic.UnprocessableEntityError) as exc:
                await self.limiter.release("error")
                self.errors["invalid_request"] += 1
                return Failure("invalid_request", _message(exc))
            except anthropic.APIStatusError as exc:
                self.errors[f"http_{exc.status_code}"] += 1
                last = f"HTTP {exc.status_code}"
                await self.limiter.release("error", exc.response.headers, parse_retry_after(exc.response.headers))
                await self._backoff(attempt)
                continue
            except anthropic.APIConnectionError as exc:
                self.errors["connection"] += 1
                last = type(exc).__name__
                await self.limiter.release("error")
                await self._backoff(attempt)
                continue
            record = response_record(message)
            await self.limiter.release("ok", raw.headers, output_tokens_used=record["usage"]["output_tokens"],
                                       output_tokens_reserved=reserve)
            self.cache.put(request.key, request.stage, record)
            self.usage.add(record["usage"])
            return record
        self.errors["gave_up"] += 1
        return Failure("api_error", f"gave up after {self.max_attempts} attempts ({last})")

    async def _backoff(self, attempt: int) -> None:
        await asyncio.sleep(min(30.0, 0.25 * 2 ** attempt) * (0.5 + self._jitter.random()))


def _message(exc) -> str:
    try:
        return str(exc.body["error"]["message"])[:200]
    except (TypeError, KeyError):
        return str(exc)[:200]


class BatchExecutor:
    """Message Batches: submit, remember batch ids in the build folder, poll, map results by custom_id.

    The custom_id of a request is its cache key, so results map back exactly whatever
    order they come in. Errored, expired and canceled requests are resubmitted in the
    next round, up to `max_rounds`. After a restart, batches recorded in the state file
    are polled again instead of being paid for twice.
    """

    batch = True

    def __init__(self, client, cache: ResponseCache, usage: Usage, state_path: Path, poll_interval: float = 5.0,
                 max_rounds: int = 4, log=None):
        self.client = client
        self.cache = cache
        self.usage = usage
        self.state_path = Path(state_path)
        self.poll_interval = poll_interval
        self.max_rounds = max_rounds
        self.errors: Counter[str] = Counter()
        self.sent = 0
        self.log = log or (lambda message: None)

    async def _call(self, make, what: str, attempts: int = 10):
        """A batch API call, retried through 429/529/5xx and dropped connections (the SDK's own
        retries are off so that every retry is ours to count)."""
        import anthropic

        for attempt in range(attempts):
            try:
                return await make()
            except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
                raise FatalAPIError(f"the API refused the credentials ({exc.status_code}); check ANTHROPIC_API_KEY") \
                    from None
            except (anthropic.RateLimitError, anthropic.InternalServerError, anthropic.APIConnectionError,
                    anthropic.APIStatusError) as exc:
                status = getattr(exc, "status_code", None)
                if status is not None and status < 500 and status not in (408, 409, 429):
                    raise
                self.errors[f"batch_{what}_{status or 'connection'}"] += 1
                headers = getattr(getattr(exc, "response", None), "headers", None)
                wait = parse_retry_after(headers) or min(30.0, 0.5 * 2 ** attempt)
                await asyncio.sleep(wait)
        raise FatalAPIError(f"the batch API kept failing on {what} after {attempts} attempts")

    def _state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, json.JSONDecodeError):
            return {"batches": {}}

    def _save(self, state: dict) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_path)

    async def run(self, requests: list[LLMRequest]) -> dict[str, dict | Failure]:
        results: dict[str, dict | Failure] = {}
        by_key = {}
        for request in requests:
            cached = self.cache.get(request.key)
            if cached is not None:
                results[request.key] = cached
            else:
                by_key[request.key] = request
        last_error: dict[str, str] = {}
        for _ in range(self.max_rounds):
            state = self._state()
            in_flight = {k for b in state["batches"].values() for k in b["keys"]}
            new = [r for k, r in by_key.items() if k not in results and k not in in_flight]
            for chunk in _chunks(new):
                batch = await self._call(lambda: self.client.messages.batches.create(
                    requests=[{"custom_id": r.key, "params": r.params} for r in chunk]), "create")
                self.sent += len(chunk)
                state["batches"][batch.id] = {"keys": [r.key for r in chunk], "stages": [r.stage for r in chunk]}
                self._save(state)
                self.log(f"submitted batch {batch.id} with {len(chunk)} requests")
            for batch_id in list(state["batches"]):
                await self._collect(batch_id, state, by_key, results, last_error)
            if all(k in results for k in by_key):
                break
        for key in by_key:
            if key not in results:
                self.errors["batch_gave_up"] += 1
                results[key] = Failure("api_error", f"batch request never succeeded ({last_error.get(key, 'unknown')})")
        return results

    async def _collect(self, batch_id: str, state: dict, by_key: dict, results: dict, last_error: dict) -> None:
        while True:
            batch = await self._call(lambda: self.client.messages.batches.retrieve(batch_id), "retrieve")
            if batch.processing_status == "ended":
                break
            await asyncio.sleep(self.poll_interval)
        stages = dict(zip(state["batches"][batch_id]["keys"], state["batches"][batch_id]["stages"]))

        async def fetch():
            return [item async for item in await self.client.messages.batches.results(batch_id)]

        for item in await self._call(fetch, "results"):
            key = item.custom_id
            kind = item.result.type
            if kind == "succeeded":
                record = response_record(item.result.message)
                self.cache.put(key, stages.get(key, "?"), record)
                self.usage.add(record["usage"])
                if key in by_key:
                    results[key] = record
            else:
                self.errors[f"batch_{kind}"] += 1
                last_error[key] = kind
        del state["batches"][batch_id]
        self._save(state)


def _chunks(requests: list[LLMRequest]):
    chunk, size = [], 0
    for request in requests:
        blob = len(json.dumps(request.params)) + 200
        if chunk and (len(chunk) >= BATCH_MAX_REQUESTS or size + blob > BATCH_MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(request)
        size += blob
    if chunk:
        yield chunk
