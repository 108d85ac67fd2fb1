"""Client-side throughput control for the Messages API.

Three token buckets (requests, input tokens, output tokens per minute) refill
continuously, as the API's own limits do, and are re-synchronised from the
`anthropic-ratelimit-*` headers of every response. A 429 pauses everyone until its
`retry-after`; sustained 529s open a circuit breaker that pauses all requests with a
growing cool-down. Concurrency is additive-increase / multiplicative-decrease, so
it adapts to what the server tolerates instead of hammering it.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    per_minute: float | None
    level: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.level = self.per_minute or 0.0

    def refill(self, now: float) -> None:
        if self.per_minute is None:
            return
        self.level = min(self.per_minute, self.level + (now - self.stamp) * self.per_minute / 60.0)
        self.stamp = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until `amount` is available (0 if now)."""
        if self.per_minute is None:
            return 0.0
        self.refill(now)
        amount = min(amount, self.per_minute)  # a request larger than a minute's budget waits for a full bucket
        if self.level >= amount:
            return 0.0
        return (amount - self.level) * 60.0 / self.per_minute

    def take(self, amount: float) -> None:
        if self.per_minute is not None:
            self.level -= min(amount, self.per_minute)

    def sync(self, limit: str | None, remaining: str | None, reset: str | None, now: float) -> None:
        """Follow the server's view of this bucket."""
        try:
            if limit is not None:
                self.per_minute = float(limit)
            if remaining is not None and self.per_minute is not None:
                self.refill(now)
                self.level = min(self.level, float(remaining))
        except ValueError:
            return


class RateLimiter:
    def __init__(self, rpm: float | None = None, input_tpm: float | None = None, output_tpm: float | None = None,
                 max_concurrency: int = 16, breaker_threshold: int = 3):
        self.requests = Bucket(rpm)
        self.input_tokens = Bucket(input_tpm)
        self.output_tokens = Bucket(output_tpm)
        self.max_concurrency = max_concurrency
        self.concurrency = float(min(4, max_concurrency))
        self.in_flight = 0
        self.paused_until = 0.0
        self.breaker_threshold = breaker_threshold
        self.consecutive_overloads = 0
        self.breaker_trips = 0
        self.rate_limited = 0
        self.overloaded = 0
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self, input_tokens: int, output_tokens: int) -> None:
        cond = self._condition()
        async with cond:
            while True:
                now = time.monotonic()
                waits = [self.paused_until - now,
                         self.requests.wait_for(1, now),
                         self.input_tokens.wait_for(input_tokens, now),
                         self.output_tokens.wait_for(output_tokens, now)]
                wait = max(waits)
                if wait <= 0 and self.in_flight < max(1, int(self.concurrency)):
                    self.requests.take(1)
                    self.input_tokens.take(input_tokens)
                    self.output_tokens.take(output_tokens)
                    self.in_flight += 1
                    return
                try:
                    await asyncio.wait_for(cond.wait(), timeout=max(wait, 0.005) if wait > 0 else None)
                except asyncio.TimeoutError:
                    pass

    async def release(self, outcome: str, headers=None, retry_after: float | None = None,
                      output_tokens_used: int | None = None, output_tokens_reserved: int = 0) -> None:
        cond = self._condition()
        async with cond:
            self.in_flight -= 1
            now = time.monotonic()
            if headers is not None:
                self._follow_headers(headers, now)
            if output_tokens_used is not None and self.output_tokens.per_minute is not None:
                # We reserved max_tokens; give back what the answer did not use.
                self.output_tokens.level = min(self.output_tokens.per_minute,
                                               self.output_tokens.level + max(0, output_tokens_reserved - output_tokens_used))
            if outcome == "ok":
                self.consecutive_overloads = 0
                self.concurrency = min(self.max_concurrency, self.concurrency + 1.0 / max(self.concurrency, 1.0))
            elif outcome == "rate_limited":
                self.rate_limited += 1
                self.concurrency = max(1.0, self.concurrency / 2)
                self.paused_until = max(self.paused_until, now + (retry_after if retry_after is not None else 1.0))
            elif outcome == "overloaded":
                self.overloaded += 1
                self.consecutive_overloads += 1
                self.concurrency = max(1.0, self.concurrency / 2)
                if self.consecutive_overloads >= self.breaker_threshold:
                    # Circuit open: everyone waits, longer each time the server stays overloaded.
                    self.breaker_trips += 1
                    cool = min(60.0, 0.5 * 2 ** min(self.breaker_trips, 7))
                    self.paused_until = max(self.paused_until, now + cool)
                    self.consecutive_overloads = 0
                elif retry_after is not None:
                    self.paused_until = max(self.paused_until, now + retry_after)
            elif outcome == "error":
                self.concurrency = max(1.0, self.concurrency * 0.75)
            cond.notify_all()

    def _follow_headers(self, headers, now: float) -> None:
        get = headers.get
        for bucket, name in ((self.requests, "requests"), (self.input_tokens, "input-tokens"),
                             (self.output_tokens, "output-tokens")):
            prefix = f"anthropic-ratelimit-{name}"
            bucket.sync(get(f"{prefix}-limit"), get(f"{prefix}-remaining"), get(f"{prefix}-reset"), now)


def parse_retry_after(headers) -> float | None:
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return float(value)
        except ValueError:
            try:
                when = dt.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S %Z").replace(tzinfo=dt.timezone.utc)
                return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
            except ValueError:
                return None
    return None
