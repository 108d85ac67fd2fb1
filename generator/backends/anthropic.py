"""`--backend anthropic` (Messages API) and `--backend anthropic-batch` (Message Batches, half price).

The staged pipeline and everything providers share is llm_pipeline.StagedLLMBackend; this module
adds what is Anthropic's: the key, the transport and the request shape. The universe context is
the first system block, with `cache_control`, so repeated prefixes bill at cache-read rates.
API version 2026-10-21 (sent by anthropic SDK 2.x) refuses sampling parameters, so --temperature
is refused here before anything is written.
"""
from __future__ import annotations

import os

from ..errors import BuildError
from ..llm.anthropic_transport import AnthropicTransport
from ..llm.executors import LLMRequest
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
    provider = "anthropic"
    default_model = "claude-sonnet-5-5"
    batch = False

    @classmethod
    def check_settings(cls, settings) -> None:
        require_key()  # fail at once, before anything is written
        if settings.llm.temperature is not None:
            raise BuildError(f"--temperature is refused by the Anthropic API (version 2026-10-21 answers HTTP 400 "
                             f"to temperature, top_p and top_k); drop it for --backend {cls.name}")
        super().check_settings(settings)

    def make_transport(self):
        base_url = self.options.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        return AnthropicTransport(require_key(), base_url)

    def request(self, stage: str, user: str, sample: int, max_tokens: int) -> LLMRequest:
        params = {
            "model": self.options.model, "max_tokens": int(max_tokens),
            "system": [{"type": "text", "text": self.system_text, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": user}],
        }
        return self.keyed_request(stage, params, self.endpoint, sample)


class AnthropicBatchBackend(AnthropicBackend):
    name = "anthropic-batch"
    batch = True
    unit_size = 1_000_000  # one unit: every document request goes into the same batches
