"""`--backend openai` (Chat Completions) and `--backend openai-batch` (the Batch API, half price):
OpenAI's models, or any model behind an OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama).

The staged pipeline and everything providers share is llm_pipeline.StagedLLMBackend; this module
adds the key, the transport and the request shape. The universe context is the system message,
first and byte-identical in every request, so OpenAI's and vLLM's automatic prefix caching
apply; the tokens they report as cached count as cache reads in the manifest.
"""
from __future__ import annotations

import hashlib
import os

from ..errors import BuildError
from ..llm.executors import LLMRequest
from ..llm.openai_transport import OpenAITransport, is_local, is_openai, normalise_base_url
from .llm_pipeline import StagedLLMBackend

KEY_VARIABLE = "OPENAI_API_KEY"
LOCAL_PLACEHOLDER_KEY = "sdfgen-local-server"  # sent to a loopback server when no key is set


def _base_url(settings) -> str | None:
    return settings.llm.base_url or os.environ.get("OPENAI_BASE_URL") or None


def api_key(settings) -> str:
    """The key from OPENAI_API_KEY; a server on this machine may go without one."""
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if key:
        return key
    if is_local(_base_url(settings)):
        return LOCAL_PLACEHOLDER_KEY
    raise BuildError(f"{KEY_VARIABLE} is not set; --backend {settings.name} needs it (a server on this machine, "
                     "--base-url http://127.0.0.1:PORT/v1, needs none)")


class OpenAIBackend(StagedLLMBackend):
    name = "openai"
    provider = "openai"
    default_model = None  # no sensible default across servers: --model is required
    batch = False

    @classmethod
    def check_settings(cls, settings) -> None:
        api_key(settings)
        super().check_settings(settings)

    def make_transport(self):
        return OpenAITransport(api_key(self.settings), _base_url(self.settings))

    def request(self, stage: str, user: str, sample: int, max_tokens: int) -> LLMRequest:
        base_url = _base_url(self.settings)
        params = {"model": self.options.model,
                  "messages": [{"role": "system", "content": self.system_text}, {"role": "user", "content": user}]}
        # OpenAI's own models (reasoning ones too) take max_completion_tokens; compatible servers all know max_tokens.
        params["max_completion_tokens" if is_openai(base_url) else "max_tokens"] = int(max_tokens)
        if self.options.temperature is not None:
            params["temperature"] = self.options.temperature
        if is_openai(base_url):
            # Routes requests with the same prefix to the same cache; derived from the prefix alone.
            params["prompt_cache_key"] = "sdfgen-" + hashlib.sha256(self.system_text.encode()).hexdigest()[:24]
        return self.keyed_request(stage, params, normalise_base_url(base_url), sample)


class OpenAIBatchBackend(OpenAIBackend):
    name = "openai-batch"
    batch = True
    unit_size = 1_000_000  # one unit: every document request goes into the same batches
