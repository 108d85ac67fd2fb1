"""`--backend anthropic` (Messages API) and `--backend anthropic-batch` (Message Batches, half price).

The staged pipeline is llm_pipeline.StagedLLMBackend; this module adds what is Anthropic's: the
key, the async client, the executors and the request shape. The universe context is the first
system block, with `cache_control`, so repeated prefixes bill at cache-read rates.
"""
from __future__ import annotations

import os

from ..errors import BuildError
from ..llm.cache import ResponseCache, default_cache_path, request_key
from ..llm.executors import BatchExecutor, LLMRequest, MessagesExecutor
from ..llm.limiter import RateLimiter
from ..llm.pricing import JournalUsage
from .llm_pipeline import StagedLLMBackend

KEY_VARIABLE = "ANTHROPIC_API_KEY"


def require_key() -> str:
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if not key:
        raise BuildError(f"{KEY_VARIABLE} is not set; the anthropic backends need it (or use the default "
                         "offline backend)")
    return key


class AnthropicBackend(StagedLLMBackend):
    name = "anthropic"
    batch = False

    @classmethod
    def check_settings(cls, settings) -> None:
        require_key()  # fail at once, before anything is written

    def __init__(self, context):
        import anthropic

        super().__init__(context)
        options = self.options
        base_url = options.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self.endpoint = base_url or "https://api.anthropic.com"
        self.client = anthropic.AsyncAnthropic(api_key=require_key(), base_url=base_url, max_retries=0, timeout=600.0)
        self.cache = ResponseCache(options.cache_path or default_cache_path("anthropic"))
        self.usage = JournalUsage(context.work / "usage.jsonl")
        self.executor = self._executor(context)

    def _executor(self, context):
        o = self.options
        limiter = RateLimiter(o.rpm, o.input_tpm, o.output_tpm, o.concurrency)
        return MessagesExecutor(self.client, self.cache, limiter, self.usage, o.api_attempts, self.log)

    def request(self, stage: str, user: str, sample: int, max_tokens: int) -> LLMRequest:
        params = {
            "model": self.options.model, "max_tokens": int(max_tokens),
            "system": [{"type": "text", "text": self.system_text, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": user}],
        }
        if self.options.temperature is not None:
            params["temperature"] = self.options.temperature
        key = request_key({"endpoint": self.endpoint, "params": params, "stage": stage,
                           "template_version": self.prompts.versions.get(stage, "0"), "sample": sample})
        return LLMRequest(stage, key, params)

    def usage_manifest(self) -> dict:
        return self.usage.as_manifest(self.options.model, batch=self.batch)

    def backend_manifest(self) -> dict:
        return {"name": self.name, "model": self.options.model, "options": {
            **self.options.manifest(), "stage_failures": self.stage_failures,
            "api_errors": dict(self.executor.errors), "cache_hits": self.cache.hits,
            "ideas_per_fact": {k: len(v) for k, v in self.ideas.items()}}}

    async def close_client(self) -> None:
        await self.client.close()

    def close(self) -> None:
        super().close()
        self.cache.close()
        self.usage.close()


class AnthropicBatchBackend(AnthropicBackend):
    name = "anthropic-batch"
    batch = True
    unit_size = 1_000_000  # one unit: every document request goes into the same batches

    def _executor(self, context):
        return BatchExecutor(self.client, self.cache, self.usage, context.work / "batches.json",
                             self.options.poll_interval, log=self.log)
