"""Requests one by one, concurrently, through any provider's Transport (batches: batches.py).

The executor looks in the response cache first and stores every successful response the
moment it arrives, so a rerun sends only what never succeeded. Failures come back as values
with a reason; nothing is dropped silently. Two kinds of failure stop the whole build instead,
because nothing after them can succeed: refused credentials, and a server that cannot be reached
at all (`max_connection_failures` attempts in a row without any HTTP answer).
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from .cache import ResponseCache
from .journal import ApiJournal
from .limiter import RateLimiter, parse_retry_after
from .pricing import Usage
from .transport import LLMRequest

__all__ = ["APIUnreachable", "FatalAPIError", "Failure", "LLMRequest", "MessagesExecutor", "gather_or_cancel"]

MAX_CONNECTION_FAILURES = 20


class FatalAPIError(RuntimeError):
    """Authentication or permission failure: no point in continuing (exit 2)."""


class APIUnreachable(FatalAPIError):
    """No HTTP answer at all, attempt after attempt: the server is down or the URL is wrong (exit 1)."""


@dataclass
class Failure:
    reason: str
    detail: str = ""


def auth_error(transport, fault) -> FatalAPIError:
    return FatalAPIError(f"the API at {transport.endpoint} refused the credentials (HTTP {fault.status}: "
                         f"{fault.message or 'no message'}); check {transport.key_variable}")


async def gather_or_cancel(coroutines) -> list:
    """Run coroutines concurrently; when one raises, cancel the rest and raise that error."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    if not tasks:
        return []
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()
        return [t.result() for t in tasks]
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class MessagesExecutor:
    batch = False

    def __init__(self, transport, cache: ResponseCache, limiter: RateLimiter, usage: Usage, max_attempts: int = 10,
                 log=None, journal: ApiJournal | None = None, max_connection_failures: int = MAX_CONNECTION_FAILURES):
        self.transport = transport
        self.cache = cache
        self.limiter = limiter
        self.usage = usage
        self.max_attempts = max_attempts
        self.journal = journal or ApiJournal(None)
        self.max_connection_failures = max_connection_failures
        self.connection_failures = 0  # in a row, across all requests; any HTTP answer resets it
        self.sent = 0
        self.log = log or (lambda message: None)
        self._jitter = random.Random()

    @property
    def errors(self):
        return self.journal.errors

    async def run(self, requests: list[LLMRequest]) -> dict[str, dict | Failure]:
        results: dict[str, dict | Failure] = {}
        todo, seen = [], set()
        for request in requests:
            cached = self.cache.get(request.key)
            if cached is not None:
                results[request.key] = cached
            elif request.key not in seen:
                seen.add(request.key)
                todo.append(request)
        answers = await gather_or_cancel(self._one(r) for r in todo)
        results.update({r.key: a for r, a in zip(todo, answers)})
        return results

    async def _one(self, request: LLMRequest) -> dict | Failure:
        reserve = request.max_output_tokens
        last = "no attempt"
        for attempt in range(self.max_attempts):
            await self.limiter.acquire(request.estimated_input_tokens(), reserve)
            self.sent += 1
            self.journal.sent(request.key)
            try:
                record, headers = await self.transport.send(request.params)
            except asyncio.CancelledError:
                await self.limiter.release("error")
                raise
            except Exception as exc:  # noqa: BLE001 - classified below; anything unknown is re-raised
                fault = self.transport.fault(exc)
                if fault is None:
                    await self.limiter.release("error")
                    raise
                outcome = await self._failed(request, fault, attempt)
                if isinstance(outcome, Failure):
                    return outcome
                last = outcome
                continue
            self.connection_failures = 0
            self.journal.closed(request.key)
            await self.limiter.release("ok", headers, output_tokens_used=record["usage"]["output_tokens"],
                                       output_tokens_reserved=reserve)
            self.cache.put(request.key, request.stage, record)
            self.usage.add(record["usage"])
            return record
        self.journal.error("gave_up")
        return Failure("api_error", f"gave up after {self.max_attempts} attempts ({last})")

    async def _failed(self, request: LLMRequest, fault, attempt: int) -> str | Failure:
        """Count one failed attempt and wait as it asks; a Failure ends the request, a string says why to retry."""
        self.journal.closed(request.key, lost=fault.maybe_billed)
        self.journal.error(fault.label)
        if fault.kind == "connection":
            self.connection_failures += 1
            await self.limiter.release("error")
            if self.connection_failures >= self.max_connection_failures:
                raise APIUnreachable(f"cannot reach the API at {self.transport.endpoint} ({fault.message}; "
                                     f"{self.connection_failures} attempts in a row got no answer); nothing was "
                                     "published, and rerunning the same command resumes the build")
            # A refused connection costs nothing and answers at once: retry soon, so that an API out of
            # reach is named within seconds rather than after minutes of ever longer waits.
            await self._backoff(attempt, cap=30.0 if fault.maybe_billed else 1.0)
            return fault.message
        self.connection_failures = 0
        retry_after = parse_retry_after(fault.headers)
        if fault.kind == "auth":
            await self.limiter.release("error")
            raise auth_error(self.transport, fault)
        if fault.kind == "invalid":
            await self.limiter.release("error")
            return Failure("invalid_request", f"HTTP {fault.status}: {fault.message}")
        if fault.kind == "rate_limited":
            await self.limiter.release("rate_limited", fault.headers, retry_after)
            # A 429 that left budget (a burst or concurrency limit) pauses only this request.
            await asyncio.sleep(retry_after if retry_after is not None else 1.0)
            return "rate limited"
        await self.limiter.release("overloaded" if fault.kind == "overloaded" else "error", fault.headers, retry_after)
        await self._backoff(attempt)
        return f"HTTP {fault.status}" if fault.status else fault.kind

    async def _backoff(self, attempt: int, cap: float = 30.0) -> None:
        await asyncio.sleep(min(cap, 0.25 * 2 ** attempt) * (0.5 + self._jitter.random()))
