"""What the executors need from a provider, whatever its protocol: one request, one batch, and what went wrong.

A Transport (anthropic_transport.py, openai_transport.py) turns a request's params into a
response record of one shape for every provider:

    {"text": str, "stop_reason": "end_turn" | "max_tokens" | "refusal" | ..., "model": str,
     "usage": {"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}}

where `input_tokens` are the uncached input tokens, and it names every failure as an APIFault,
so that the executors (executors.py, batches.py) count, retry and give up the same way for all.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class LLMRequest:
    stage: str
    key: str
    params: dict[str, Any]

    def estimated_input_tokens(self) -> int:
        chars = 0
        system = self.params.get("system")
        if isinstance(system, str):
            chars += len(system)
        elif isinstance(system, list):
            chars += sum(len(b.get("text", "")) for b in system if isinstance(b, dict))
        for message in self.params["messages"]:
            content = message["content"]
            chars += len(content) if isinstance(content, str) else sum(len(b.get("text", "")) for b in content)
        return chars // 4 + 1

    @property
    def max_output_tokens(self) -> int:
        p = self.params
        return int(p.get("max_tokens") or p.get("max_completion_tokens") or 0)


@dataclass(frozen=True)
class APIFault:
    """One failed attempt, named the same way for every provider.

    kind: rate_limited (429), overloaded (529), auth (401/403), invalid (other 4xx: the request
    itself is wrong), server (5xx and 408/409), connection (no HTTP answer at all).
    `maybe_billed`: the request may have reached the server and been answered (and billed)
    even though no answer arrived: a connection lost after sending, or a timeout.
    """

    kind: str
    status: int | None = None
    headers: Mapping[str, str] | None = None
    message: str = ""
    maybe_billed: bool = False

    @property
    def label(self) -> str:
        """The counter this fault is journalled under."""
        if self.kind in ("rate_limited", "overloaded", "connection"):
            return self.kind
        if self.kind == "invalid":
            return "invalid_request"
        return f"http_{self.status}" if self.status else self.kind


@dataclass(frozen=True)
class BatchItem:
    """One request's outcome in a finished batch: a response record, or the kind of failure."""

    key: str
    record: dict | None = None
    error: str | None = None  # errored | expired | canceled | http_<status>


def requests_signature(keys) -> str:
    """The identity of a batch's requests: sha256 of its sorted custom ids. Stored with the batch
    (OpenAI metadata) or recomputed from its results (Anthropic), so that a batch whose create call
    lost its answer can be recognised and adopted instead of being created and billed twice."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


def connection_fault(exc: BaseException, status_error_types=()) -> APIFault:
    """A fault for an exception that carried no HTTP answer: was the request possibly delivered?"""
    import httpx2

    cause = exc.__cause__ or exc.__context__
    never_sent = isinstance(cause, (httpx2.ConnectError, httpx2.ConnectTimeout))
    return APIFault("connection", None, None, f"{type(exc).__name__}: {type(cause).__name__ if cause else exc}",
                    maybe_billed=not never_sent)


def sdk_fault(exc: BaseException, sdk) -> APIFault | None:
    """The fault of an exception raised by an SDK of the `anthropic`/`openai` family (both name their
    HTTP-status and no-answer errors APIStatusError and APIConnectionError); None for anything else."""
    if isinstance(exc, sdk.APIStatusError):
        return status_fault(exc.status_code, exc.response.headers, error_message(exc.body) or str(exc))
    if isinstance(exc, sdk.APIConnectionError):
        return connection_fault(exc)
    return None


def status_fault(status: int, headers, message: str) -> APIFault:
    if status == 429:
        kind = "rate_limited"
    elif status == 529:
        kind = "overloaded"
    elif status in (401, 403):
        kind = "auth"
    elif status >= 500 or status in (408, 409):
        kind = "server"
    else:
        kind = "invalid"
    return APIFault(kind, status, headers, message[:300])


def error_message(body) -> str:
    """The human part of an API error body ({"error": {"message": ...}} in both protocols)."""
    try:
        return str(body["error"]["message"])[:300]
    except (TypeError, KeyError):
        try:
            return str(body["message"])[:300]
        except (TypeError, KeyError):
            return str(body)[:300] if body else ""


def sdk_arguments(params: dict, sdk_params: tuple[str, ...]) -> dict:
    """Parameters the SDK names go as keywords; any others travel in extra_body, so the body is exactly `params`."""
    named = {k: v for k, v in params.items() if k in sdk_params}
    extra = {k: v for k, v in params.items() if k not in sdk_params}
    if extra:
        named["extra_body"] = extra
    return named
