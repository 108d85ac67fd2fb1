"""Batch APIs (Anthropic Message Batches, OpenAI Batch): submit, remember, poll, map results by custom id.

The custom id of a request is its cache key, so results map back exactly whatever order they
come in. Errored, expired and canceled requests are resubmitted in the next round, up to
`max_rounds`. Batch ids live in the build folder (`batches.json`), so a restarted build polls
them again instead of paying twice.

A create call whose answer is lost (connection closed, 5xx) may still have created a batch,
and a kill between the create and saving its id leaves one unrecorded. So before each create
the executor writes a *pending* mark (the requests' signature, the time, the uploaded file);
before retrying a create of unknown outcome, and when it finds a pending mark on resume, it
lists recent batches and adopts the one made for these requests (transport.find_batch) instead
of creating a second, billed, batch.
"""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from .cache import ResponseCache
from .executors import APIUnreachable, Failure, FatalAPIError, auth_error
from .journal import ApiJournal
from .limiter import parse_retry_after
from .pricing import Usage
from .transport import LLMRequest, requests_signature

BATCH_LIMITS = {"anthropic": (100_000, 256 * 1024 * 1024), "openai": (50_000, 190 * 1024 * 1024)}
ADOPT_WINDOW = 24 * 3600
MAX_CONNECTION_FAILURES = 6  # batch calls in a row without any HTTP answer: the API is out of reach


def _backoff(attempt: int) -> float:
    return min(8.0, 0.5 * 2 ** attempt)


def _unreachable(transport, what: str, n: int) -> APIUnreachable:
    return APIUnreachable(f"cannot reach the batch API at {transport.endpoint} ({what}: {n} attempts in a row got "
                          "no answer); nothing was published, and rerunning the same command resumes the build")


class BatchExecutor:
    batch = True

    def __init__(self, transport, cache: ResponseCache, usage: Usage, state_path: Path, poll_interval: float = 5.0,
                 max_rounds: int = 4, log=None, journal: ApiJournal | None = None, attempts: int = 10):
        self.transport = transport
        self.cache = cache
        self.usage = usage
        self.state_path = Path(state_path)
        self.poll_interval = poll_interval
        self.max_rounds = max_rounds
        self.attempts = attempts
        self.journal = journal or ApiJournal(None)
        self.sent = 0
        self.adopted = 0
        self.log = log or (lambda message: None)

    @property
    def errors(self):
        return self.journal.errors

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, json.JSONDecodeError):
            state = {}
        state.setdefault("batches", {})
        state.setdefault("pending", {})
        state.setdefault("collected", [])
        return state

    def _save(self, state: dict) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_path)

    @staticmethod
    def _known(state: dict) -> set[str]:
        return set(state["batches"]) | set(state["collected"])

    # ------------------------------------------------------------------ calls
    async def _call(self, make, what: str, before_retry=None):
        """A batch API call, retried through 429/529/5xx and dropped connections (the SDK's own
        retries are off so that every retry is ours to count). `before_retry(fault)` may end the
        retries with a value of its own (create: a batch found to exist after all)."""
        connection_failures = 0
        for attempt in range(self.attempts):
            try:
                return await make()
            except Exception as exc:  # noqa: BLE001 - classified below
                fault = self.transport.fault(exc)
                if fault is None:
                    raise
                self.journal.error(f"batch_{what}_{fault.status or 'connection'}")
                if fault.kind == "auth":
                    raise auth_error(self.transport, fault) from None
                if fault.kind == "invalid":
                    raise FatalAPIError(f"the batch API at {self.transport.endpoint} refused {what}: HTTP "
                                        f"{fault.status}: {fault.message}") from None
                if before_retry is not None and (found := await before_retry(fault)) is not None:
                    return found
                connection_failures = connection_failures + 1 if fault.kind == "connection" else 0
                if connection_failures >= MAX_CONNECTION_FAILURES:
                    raise _unreachable(self.transport, what, connection_failures)
                await asyncio.sleep(parse_retry_after(fault.headers) or _backoff(attempt))
        raise FatalAPIError(f"the batch API at {self.transport.endpoint} kept failing on {what} after "
                            f"{self.attempts} attempts; nothing was published, and rerunning the same "
                            "command resumes the build")

    async def _find(self, signature: str, keys: list[str], since: float, prepared: dict, state: dict) -> str | None:
        return await self._call(lambda: self.transport.find_batch(signature, keys, since, prepared, self._known(state)),
                                "list")

    def _record(self, state: dict, batch_id: str, keys: list[str], stages: list[str], signature: str) -> None:
        state["batches"][batch_id] = {"keys": keys, "stages": stages}
        state["pending"].pop(signature, None)
        self._save(state)

    async def _create(self, chunk: list[LLMRequest], state: dict) -> str:
        keys, stages = [r.key for r in chunk], [r.stage for r in chunk]
        signature = requests_signature(keys)
        if getattr(self.transport, "batches_carry_signature", False):
            # Our signature is in each batch's metadata: one made for these requests in the last day,
            # by this build or an earlier one, is adopted even without a mark.
            found = await self._find(signature, keys, time.time() - ADOPT_WINDOW, {}, state)
            if found:
                return self._adopt(state, found, keys, stages, signature)
        prepared = await self._call(lambda: self.transport.prepare_batch(chunk, signature), "upload")
        since = time.time()
        state["pending"][signature] = {"keys": keys, "stages": stages, "since": since, "prepared": prepared}
        self._save(state)
        adopted = []

        async def look_for_it(fault) -> str | None:
            if fault.kind == "server" or (fault.kind == "connection" and fault.maybe_billed):
                # The batch may exist although its answer never came: look before creating another.
                found = await self._find(signature, keys, since, prepared, state)
                if found:
                    adopted.append(self._adopt(state, found, keys, stages, signature))
                    return found
            return None

        batch_id = await self._call(lambda: self.transport.create_batch(chunk, signature, prepared), "create",
                                    look_for_it)
        if not adopted:
            self.sent += len(chunk)
            self._record(state, batch_id, keys, stages, signature)
            self.log(f"submitted batch {batch_id} with {len(chunk)} requests")
        return batch_id

    def _adopt(self, state: dict, batch_id: str, keys: list[str], stages: list[str], signature: str) -> str:
        self.adopted += 1
        self.journal.error("batch_adopted")
        self._record(state, batch_id, keys, stages, signature)
        self.log(f"adopted batch {batch_id}, created earlier for the same {len(keys)} requests")
        return batch_id

    async def _resume_pending(self, state: dict) -> None:
        """Creates a killed or failed run left unconfirmed: adopt their batch if one was made."""
        for signature, mark in list(state["pending"].items()):
            found = await self._find(signature, mark["keys"], mark["since"], mark.get("prepared") or {}, state)
            if found:
                self._adopt(state, found, mark["keys"], mark["stages"], signature)
            else:
                # Not listed: most likely never created. Counted as possibly billed all the same.
                self.journal.lost_requests(len(mark["keys"]))
                state["pending"].pop(signature)
                self._save(state)

    # ------------------------------------------------------------------ run
    async def run(self, requests: list[LLMRequest]) -> dict[str, dict | Failure]:
        results: dict[str, dict | Failure] = {}
        by_key = {}
        for request in requests:
            cached = self.cache.get(request.key)
            if cached is not None:
                results[request.key] = cached
            else:
                by_key[request.key] = request
        last_error: dict[str, str] = {}
        state = self._state()
        await self._resume_pending(state)
        for _ in range(self.max_rounds):
            state = self._state()
            in_flight = {k for b in state["batches"].values() for k in b["keys"]}
            new = [r for k, r in by_key.items() if k not in results and k not in in_flight]
            for chunk in _chunks(new, *BATCH_LIMITS.get(self.transport.provider, BATCH_LIMITS["openai"])):
                await self._create(chunk, state)
            for batch_id in list(state["batches"]):
                await self._collect(batch_id, state, by_key, results, last_error)
            if all(k in results for k in by_key):
                break
        for key in by_key:
            if key not in results:
                self.journal.error("batch_gave_up")
                results[key] = Failure("api_error", f"batch request never succeeded ({last_error.get(key, 'unknown')})")
        return results

    async def _collect(self, batch_id: str, state: dict, by_key: dict, results: dict, last_error: dict) -> None:
        while not await self._call(lambda: self.transport.poll(batch_id), "retrieve"):
            await asyncio.sleep(self.poll_interval)
        entry = state["batches"][batch_id]
        stages = dict(zip(entry["keys"], entry["stages"]))
        answered = set()
        for item in await self._call(lambda: self.transport.results(batch_id), "results"):
            answered.add(item.key)
            if item.record is not None:
                self.cache.put(item.key, stages.get(item.key, "?"), item.record)
                self.usage.add(item.record["usage"])
                if item.key in by_key:
                    results[item.key] = item.record
            else:
                self.journal.error(f"batch_{item.error}")
                last_error[item.key] = item.error
        for key in set(entry["keys"]) - answered:
            last_error.setdefault(key, "no result")
        del state["batches"][batch_id]
        state["collected"].append(batch_id)
        self._save(state)


def _chunks(requests: list[LLMRequest], max_requests: int, max_bytes: int):
    chunk, size = [], 0
    for request in requests:
        blob = len(json.dumps(request.params)) + 200
        if chunk and (len(chunk) >= max_requests or size + blob > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(request)
        size += blob
    if chunk:
        yield chunk
