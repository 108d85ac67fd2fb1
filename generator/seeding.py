"""Per-purpose random generators.

Every random choice for a document comes from a generator seeded by
(corpus seed, document id, purpose), never from a shared stream, so a document's
content depends only on the seed and its plan: not on order, workers or resumes.
"""
from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, *parts: object) -> int:
    key = "\x1f".join([str(seed), *map(str, parts)]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def rng_for(seed: int, *parts: object) -> random.Random:
    return random.Random(derive_seed(seed, *parts))
