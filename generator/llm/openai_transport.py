"""Chat Completions and the Batch API through the official `openai` SDK: OpenAI itself, vLLM, SGLang,
llama.cpp's server, Ollama, or any router that speaks the protocol.

The answer is read from the raw JSON, not the SDK's model objects, so a server that leaves
fields out (or adds its own) still gives a record; missing choices or content become an
empty answer that the pipeline rejects with a reason.
"""
from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from .transport import APIFault, BatchItem, LLMRequest, sdk_arguments, sdk_fault

DEFAULT_BASE_URL = "https://api.openai.com/v1"
BATCH_ENDPOINT = "/v1/chat/completions"
SDK_PARAMS = ("model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "stop",
              "prompt_cache_key", "metadata")
STOP_REASONS = {"stop": "end_turn", "eos": "end_turn", "length": "max_tokens", "content_filter": "refusal",
                None: "end_turn"}
ADOPT_WINDOW = 24 * 3600  # a batch's completion window: older batches are past adopting
LIST_PAGES = 3  # pages of 100 batches looked through when adopting


class BadResponse(ValueError):
    """A 2xx answer that is not the JSON of a chat completion."""


def is_local(base_url: str | None) -> bool:
    """A server on this machine (loopback or localhost), which may need no real key."""
    if not base_url:
        return False
    host = (urlsplit(base_url).hostname or "").lower()
    return host in ("localhost", "::1") or host.endswith(".localhost") or host.startswith("127.")


def is_openai(base_url: str | None) -> bool:
    return not base_url or (urlsplit(base_url).hostname or "").lower().endswith("api.openai.com")


def normalise_base_url(base_url: str | None) -> str:
    """The SDK wants the /v1 prefix in the base URL; a bare http://host:port gets it added."""
    if not base_url:
        return DEFAULT_BASE_URL
    url = base_url.rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def response_record(data: Any) -> dict:
    """The common record (transport.py) of a chat completion's JSON; cached prompt tokens count as cache reads."""
    if not isinstance(data, dict):
        raise BadResponse(f"expected a JSON object, got {type(data).__name__}")
    choices = data.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text = _text(message.get("content"))
    refusal = message.get("refusal")
    finish = choice.get("finish_reason")
    if isinstance(refusal, str) and refusal.strip():
        stop, text = "refusal", text or refusal
    else:
        stop = STOP_REASONS.get(finish, str(finish))
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    details = usage.get("prompt_tokens_details") if isinstance(usage.get("prompt_tokens_details"), dict) else {}

    def number(value) -> int:
        try:
            return max(0, int(value or 0))
        except (TypeError, ValueError):
            return 0

    prompt, cached = number(usage.get("prompt_tokens")), number(details.get("cached_tokens"))
    return {"text": text, "stop_reason": stop, "model": data.get("model"),
            "usage": {"input_tokens": max(0, prompt - cached), "output_tokens": number(usage.get("completion_tokens")),
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": min(cached, prompt)}}


def _lines(blob: bytes) -> list[dict]:
    out = []
    for line in blob.decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line cut short: its request is sent again
        if isinstance(item, dict) and isinstance(item.get("custom_id"), str):
            out.append(item)
    return out


class OpenAITransport:
    provider = "openai"
    header_scheme = "openai"
    key_variable = "OPENAI_API_KEY"
    # Batches carry our requests' signature in their metadata: a lost create is found again even
    # without a mark in the build folder.
    batches_carry_signature = True

    def __init__(self, api_key: str, base_url: str | None):
        import openai

        self.endpoint = normalise_base_url(base_url)
        self.client = openai.AsyncOpenAI(api_key=api_key, base_url=self.endpoint, max_retries=0, timeout=600.0)

    async def send(self, params: dict) -> tuple[dict, Any]:
        raw = await self.client.chat.completions.with_raw_response.create(**sdk_arguments(params, SDK_PARAMS))
        try:
            data = json.loads(raw.content)
        except ValueError:
            raise BadResponse("the answer is not JSON") from None
        return response_record(data), raw.headers

    def fault(self, exc: BaseException) -> APIFault | None:
        import openai

        if isinstance(exc, BadResponse):
            return APIFault("server", 200, None, str(exc))
        return sdk_fault(exc, openai)

    # ------------------------------------------------------------------ Batch API
    async def prepare_batch(self, requests: list[LLMRequest], signature: str) -> dict:
        lines = "".join(json.dumps({"custom_id": r.key, "method": "POST", "url": BATCH_ENDPOINT, "body": r.params},
                                   ensure_ascii=False) + "\n" for r in requests)
        upload = await self.client.files.create(file=(f"sdfgen-{signature[:16]}.jsonl", lines.encode("utf-8"),
                                                      "application/jsonl"), purpose="batch")
        return {"input_file_id": upload.id}

    async def create_batch(self, requests: list[LLMRequest], signature: str, prepared: dict) -> str:
        batch = await self.client.batches.create(
            input_file_id=prepared["input_file_id"], endpoint=BATCH_ENDPOINT, completion_window="24h",
            metadata={"sdfgen_requests": signature, "sdfgen_count": str(len(requests))})
        return batch.id

    async def poll(self, batch_id: str) -> bool:
        batch = await self.client.batches.retrieve(batch_id)
        return batch.status in ("completed", "failed", "expired", "cancelled")

    async def results(self, batch_id: str) -> list[BatchItem]:
        batch = await self.client.batches.retrieve(batch_id)
        items = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self.client.files.content(file_id)
            for line in _lines(content.content):
                items.append(self._item(line))
        return items

    @staticmethod
    def _item(line: dict) -> BatchItem:
        key = line["custom_id"]
        response = line.get("response") if isinstance(line.get("response"), dict) else None
        if response is not None and response.get("status_code") == 200:
            try:
                return BatchItem(key, response_record(response.get("body")))
            except BadResponse:
                return BatchItem(key, error="bad_response")
        error = line.get("error") if isinstance(line.get("error"), dict) else {}
        code = str(error.get("code") or "")
        if "expired" in code:
            return BatchItem(key, error="expired")
        if "cancel" in code:
            return BatchItem(key, error="canceled")
        if response is not None:
            return BatchItem(key, error=f"http_{response.get('status_code')}")
        return BatchItem(key, error="errored")

    async def find_batch(self, signature: str, keys: list[str], since: float, prepared: dict, known: set[str]) -> str | None:
        """A batch we created for exactly these requests (our signature in its metadata, or our input
        file), newest first, within the completion window."""
        floor = max(since - 120, time.time() - ADOPT_WINDOW)
        file_id = prepared.get("input_file_id")
        after = None
        for _ in range(LIST_PAGES):
            page = await self.client.batches.list(limit=100, **({"after": after} if after else {}))
            batches = list(page.data)
            for batch in batches:
                if batch.created_at < floor:
                    return None
                if batch.id in known:
                    continue
                meta = batch.metadata or {}
                if meta.get("sdfgen_requests") == signature or (file_id and batch.input_file_id == file_id):
                    return batch.id
            if not batches or not page.has_more:
                return None
            after = batches[-1].id
        return None

    async def close(self) -> None:
        await self.client.close()
