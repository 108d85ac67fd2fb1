"""The Anthropic Messages and Message Batches APIs through the official `anthropic` SDK (2.x).

The SDK's own retries are off (max_retries=0): every retry is the executor's, so it is counted,
paced by the limiter and journalled.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from .transport import APIFault, BatchItem, LLMRequest, sdk_arguments, sdk_fault

SDK_PARAMS = ("model", "max_tokens", "messages", "system", "metadata", "stop_sequences", "cache_control")
# Sampling parameters API version 2026-10-21 (anthropic SDK 2.x) refuses with HTTP 400.
REFUSED_PARAMS = ("temperature", "top_p", "top_k")


def response_record(message) -> dict:
    """The common record (transport.py) of a Message, from the SDK object or its JSON."""
    get = (lambda o, k, d=None: o.get(k, d)) if isinstance(message, dict) else (lambda o, k, d=None: getattr(o, k, d))
    blocks = get(message, "content") or []
    text = "".join(get(b, "text", "") or "" for b in blocks)
    usage = get(message, "usage") or {}
    return {
        "text": text, "stop_reason": get(message, "stop_reason"), "model": get(message, "model"),
        "usage": {"input_tokens": get(usage, "input_tokens", 0) or 0, "output_tokens": get(usage, "output_tokens", 0) or 0,
                  "cache_creation_input_tokens": get(usage, "cache_creation_input_tokens", 0) or 0,
                  "cache_read_input_tokens": get(usage, "cache_read_input_tokens", 0) or 0},
    }


def _timestamp(value) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class AnthropicTransport:
    provider = "anthropic"
    header_scheme = "anthropic"
    key_variable = "ANTHROPIC_API_KEY"

    def __init__(self, api_key: str, base_url: str | None):
        import anthropic

        self.endpoint = base_url or "https://api.anthropic.com"
        self.client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=600.0)

    async def send(self, params: dict) -> tuple[dict, Any]:
        raw = await self.client.messages.with_raw_response.create(**sdk_arguments(params, SDK_PARAMS))
        message = await raw.parse()
        return response_record(message), raw.headers

    def fault(self, exc: BaseException) -> APIFault | None:
        import anthropic

        return sdk_fault(exc, anthropic)

    # ------------------------------------------------------------------ Message Batches
    async def prepare_batch(self, requests: list[LLMRequest], signature: str) -> dict:
        return {}  # the requests travel in the create call itself

    async def create_batch(self, requests: list[LLMRequest], signature: str, prepared: dict) -> str:
        batch = await self.client.messages.batches.create(
            requests=[{"custom_id": r.key, "params": r.params} for r in requests])
        return batch.id

    async def poll(self, batch_id: str) -> bool:
        """True once the batch has ended."""
        batch = await self.client.messages.batches.retrieve(batch_id)
        return batch.processing_status == "ended"

    async def results(self, batch_id: str) -> list[BatchItem]:
        items = []
        async for item in await self.client.messages.batches.results(batch_id):
            kind = item.result.type
            if kind == "succeeded":
                items.append(BatchItem(item.custom_id, response_record(item.result.message)))
            else:
                items.append(BatchItem(item.custom_id, error=kind))
        return items

    async def find_batch(self, signature: str, keys: list[str], since: float, prepared: dict, known: set[str]) -> str | None:
        """A batch created for exactly these requests since `since` (minus clock slack), if the API shows one.

        The Message Batches API keeps no metadata, so a candidate is a batch we do not already know
        with the same number of requests, created after we sent the create; an ended one is checked
        against our custom ids through its results; one still in progress cannot be, and is adopted
        on those grounds (the custom ids of its results decide later which answers are ours: any of
        ours it lacks are sent again).
        """
        count = len(keys)
        in_progress = []
        page = await self.client.messages.batches.list(limit=100)
        for batch in page.data:
            if batch.id in known or _timestamp(batch.created_at) < since - 120:
                continue
            counts = batch.request_counts
            total = sum(getattr(counts, f, 0) or 0 for f in ("processing", "succeeded", "errored", "canceled", "expired"))
            if total != count:
                continue
            if batch.processing_status == "ended":
                ids = {item.key for item in await self.results(batch.id)}
                if ids == set(keys):
                    return batch.id
            else:
                in_progress.append((_timestamp(batch.created_at), batch.id))
        return min(in_progress)[1] if in_progress else None

    async def close(self) -> None:
        await self.client.close()
