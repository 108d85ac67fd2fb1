"""The rate-limit bucket both loopback API fakes enforce their limits with."""
from __future__ import annotations

import time


class Bucket:
    """A continuously refilled token bucket holding at most one minute's allowance, as the real APIs limit."""

    def __init__(self, per_minute: int):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.t = time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
        self.t = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` (at most a full bucket) is available; 0 when it is now."""
        return max(0.0, (min(amount, self.capacity) - self.level) / self.rate)

    def reset_seconds(self) -> float:
        """Seconds until the bucket is full again."""
        return (self.capacity - self.level) / self.rate
