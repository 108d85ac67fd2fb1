"""Client-side throughput control for the LLM APIs.

Token buckets (requests, input tokens, output tokens, and the combined tokens OpenAI
counts) refill continuously, as the APIs' own limits do, and are re-synchronised from the
rate-limit headers of every response: `anthropic-ratelimit-*` for Anthropic,
`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` for OpenAI-compatible servers. A
server that sends no such headers is paced by the flags alone (--rpm, --input-tpm,
--output-tpm). A 429 that exhausted a bucket pauses everyone until its `retry-after`; a
429 while the headers still show budget (a concurrency or burst limit) makes only that
request wait. Sustained 529s open a circuit breaker that pauses all requests with a
growing cool-down. Concurrency is additive-increase / multiplicative-decrease, so it
adapts to what the server tolerates instead of hammering it.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    per_minute: float | None  # the capacity: a minute's allowance, or the server's stated limit
    level: float = 0.0
    stamp: float = field(default_factory=time.monotonic)
    rate: float | None = None  # refill per second; per_minute / 60 unless the server's reset times say otherwise

    def __post_init__(self) -> None:
        self.level = self.per_minute or 0.0

    def _rate(self) -> float:
        return self.rate if self.rate is not None else self.per_minute / 60.0

    def refill(self, now: float) -> None:
        if self.per_minute is None:
            return
        self.level = min(self.per_minute, self.level + (now - self.stamp) * self._rate())
        self.stamp = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until `amount` is available (0 if now)."""
        if self.per_minute is None:
            return 0.0
        self.refill(now)
        amount = min(amount, self.per_minute)  # a request larger than a minute's budget waits for a full bucket
        if self.level >= amount:
            return 0.0
        return (amount - self.level) / self._rate()

    def take(self, amount: float) -> None:
        if self.per_minute is not None:
            self.level -= min(amount, self.per_minute)

    def sync(self, limit: str | None, remaining: str | None, reset: str | None, now: float) -> None:
        """Follow the server's view of this bucket (Anthropic: only ever lower our level)."""
        try:
            if limit is not None:
                self.per_minute = float(limit)
            if remaining is not None and self.per_minute is not None:
                self.refill(now)
                self.level = min(self.level, float(remaining))
        except ValueError:
            return

    def follow(self, limit: str | None, remaining: str | None, reset_seconds: float | None, now: float,
               unanswered: int) -> None:
        """Take the server's count as the truth (OpenAI-style headers).

        `remaining` is what the server had left when it answered; requests still unanswered
        were sent after it counted, so they come off it. Attempts the server never counted
        (an injected 500, a 429 from a concurrency limit) are thereby given back. When the
        reset time says how long the deficit takes to refill, the refill rate follows it,
        so a per-day or per-second limit paces correctly, not only a per-minute one.
        """
        try:
            cap = float(limit) if limit is not None else self.per_minute
            left = float(remaining) if remaining is not None else None
        except ValueError:
            return
        if cap is None or cap <= 0:
            return
        self.per_minute = cap
        self.stamp = now
        if left is None:
            return
        self.level = max(-cap, min(cap, left - unanswered))
        deficit = cap - left
        if reset_seconds is not None and reset_seconds > 0.001 and deficit >= 1:
            self.rate = min(cap, max(cap / 86400.0, deficit / reset_seconds))
        else:
            self.rate = None


class RateLimiter:
    def __init__(self, rpm: float | None = None, input_tpm: float | None = None, output_tpm: float | None = None,
                 max_concurrency: int = 16, breaker_threshold: int = 3, headers: str = "anthropic"):
        self.requests = Bucket(rpm)
        self.input_tokens = Bucket(input_tpm)
        self.output_tokens = Bucket(output_tpm)
        self.tokens = Bucket(None)  # input + max output, as OpenAI counts; known only from headers
        self.header_scheme = headers
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
                         self.output_tokens.wait_for(output_tokens, now),
                         self.tokens.wait_for(input_tokens + output_tokens, now)]
                wait = max(waits)
                if wait <= 0 and self.in_flight < max(1, int(self.concurrency)):
                    self.requests.take(1)
                    self.input_tokens.take(input_tokens)
                    self.output_tokens.take(output_tokens)
                    self.tokens.take(input_tokens + output_tokens)
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
                if not self._budget_left(headers):
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

    def _budget_left(self, headers) -> bool:
        """Whether a 429's headers still show requests and tokens to spend (a concurrency or burst limit,
        not an exhausted bucket): then only the refused request waits, everyone else carries on."""
        if headers is None:
            return False
        names = (("x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens") if self.header_scheme == "openai"
                 else ("anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-input-tokens-remaining"))
        seen = False
        for name in names:
            value = headers.get(name)
            if value is None:
                continue
            try:
                if float(value) < 1:
                    return False
            except ValueError:
                return False
            seen = True
        return seen

    def _follow_headers(self, headers, now: float) -> None:
        get = headers.get
        if self.header_scheme == "openai":
            unanswered = max(0, self.in_flight)
            for bucket, name in ((self.requests, "requests"), (self.tokens, "tokens")):
                bucket.follow(get(f"x-ratelimit-limit-{name}"), get(f"x-ratelimit-remaining-{name}"),
                              parse_duration(get(f"x-ratelimit-reset-{name}")), now, unanswered if name == "requests" else 0)
            return
        for bucket, name in ((self.requests, "requests"), (self.input_tokens, "input-tokens"),
                             (self.output_tokens, "output-tokens")):
            prefix = f"anthropic-ratelimit-{name}"
            bucket.sync(get(f"{prefix}-limit"), get(f"{prefix}-remaining"), get(f"{prefix}-reset"), now)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(value: str | None) -> float | None:
    """Seconds in an OpenAI reset header: "1s", "6m0s", "20ms", "1h2m3.5s" (or a bare number of seconds)."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


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
