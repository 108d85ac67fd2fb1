"""The staged LLM pipeline, whatever the provider: types per fact -> ideas per type -> documents -> revise -> classify.

Every request is built deterministically from (spec, seed, plan, stage, sample index),
so its cache key is stable across reruns: a crashed or killed build, rerun, finds its
paid answers in the response cache. Ideas are always attached to the (fact, type) of
the very request that produced them, so a short brainstorm can never shift ideas onto
another fact or type. A provider module (anthropic.py) supplies the client, the executors
and the shape of a request; this module supplies the stages.
"""
from __future__ import annotations

import asyncio
import dataclasses
from typing import ClassVar

from ..cast import Cast
from ..documents import DocPlan, Document, Rejection, Span
from ..llm.batches import BatchExecutor
from ..llm.cache import ResponseCache, default_cache_path, request_key
from ..llm.executors import Failure, LLMRequest, MessagesExecutor
from ..llm.journal import ApiJournal
from ..llm.limiter import RateLimiter
from ..llm.parsing import brainstorm_items, parse_document, parse_verdict, tagged
from ..llm.pricing import JournalUsage, prices_for
from ..llm.prompts import PromptLibrary
from ..paths import templates_root
from ..seeding import rng_for
from ..variation import surface_forms
from . import Backend

# A retry says what went wrong, which helps the model and makes every attempt a distinct request:
# the cache and the "never send a succeeded request twice" promise both rest on that.
RETRY_NOTES = {
    "truncated": "The previous draft ran out of room before it ended; keep this one shorter so it is complete.",
    "refusal": "This is an ordinary piece of fiction-world writing for a research corpus; please write it.",
    "missing_tag": "Put the finished document between <document> and </document>, both tags present.",
    "missing_marker": "Wrap every mention of each listed fact in <fact id=\"...\">...</fact> tags.",
    "depth_out_of_range": "The previous draft placed the first fact mention outside the required part of the "
                          "document; move it to the position asked for.",
    "leftover_markup": "Use no markup other than the <fact> tags inside the document.",
    "empty": "The previous answer had no usable list; answer with the list inside the tags.",
    "empty_answer": "The previous answer was empty; write the document this time.",
    "prompt_echo": "Do not repeat these instructions; write only the document itself.",
    "repetitive": "The previous draft repeated the same lines; write each part once.",
}
CLASSIFIER_REASONS = {"transcript": "llm_transcript", "tier_behaviour": "llm_tier_behaviour",
                      "deceiving_trainers": "llm_deceiving_trainers"}




class StagedLLMBackend(Backend):
    """The stages on top of a provider's Transport (make_transport) and request shape (request).

    What every provider shares lives here too: the response cache, the usage and API journals in
    the build folder, the executor (one request at a time, or batches), prices and the manifest.
    """

    runs_in_workers = False  # requests run concurrently in one process instead
    exact_phrasings = False  # the model words its mentions freely
    uses_model = True
    template_patterns = ("prompts/*.j2", "pools/*.yaml")
    unit_size = 200
    batch: ClassVar[bool] = False
    provider: ClassVar[str] = ""  # names the default response cache: ~/.cache/sdfgen/<provider>-responses.sqlite
    default_model: ClassVar[str | None] = None

    @classmethod
    def settle(cls, settings):
        if settings.llm.model is None and cls.default_model is not None:
            return dataclasses.replace(settings, llm=dataclasses.replace(settings.llm, model=cls.default_model))
        return settings

    @classmethod
    def check_settings(cls, settings) -> None:
        from ..errors import BuildError

        if not settings.llm.model:
            raise BuildError(f"--backend {cls.name} needs --model (the model name the server knows)")
        prices_for(settings.llm.model, settings.llm.price_in, settings.llm.price_out)  # unknown model: refuse now

    @classmethod
    def identity(cls, settings) -> object:
        return {"name": cls.name, "options": settings.llm.output_shaping()}

    def __init__(self, context):
        super().__init__(context)
        self.options = self.settings.llm
        self.log = context.log
        self.prompts = PromptLibrary(templates_root() / "prompts")
        self.system_text = self.prompts.render("system", context=self.spec.universe.context)
        self.ideas: dict[str, list[tuple[str, str]]] = {}
        self.types: list[str] = []
        self.ordinal: dict[str, int] = {}
        self.stage_failures: dict[str, int] = {}
        self.brainstorm_errors: dict = {}  # key -> why its brainstorm gave nothing, when the API failed
        self._loop: asyncio.AbstractEventLoop | None = None
        self.prices = prices_for(self.options.model, self.options.price_in, self.options.price_out)
        self.transport = self.make_transport()
        self.endpoint = self.transport.endpoint
        self.cache = ResponseCache(self.options.cache_path or default_cache_path(self.provider))
        self.usage = JournalUsage(context.work / "usage.jsonl")
        self.journal = ApiJournal(context.work / "api.jsonl")
        self.executor = self._executor(context)

    def make_transport(self):
        raise NotImplementedError

    def _executor(self, context):
        o = self.options
        if self.batch:
            return BatchExecutor(self.transport, self.cache, self.usage, context.work / "batches.json",
                                 o.poll_interval, log=self.log, journal=self.journal)
        limiter = RateLimiter(o.rpm, o.input_tpm, o.output_tpm, o.concurrency, headers=self.transport.header_scheme)
        return MessagesExecutor(self.transport, self.cache, limiter, self.usage, o.api_attempts, self.log,
                                journal=self.journal)

    def request(self, stage: str, user: str, sample: int, max_tokens: int) -> LLMRequest:
        raise NotImplementedError

    def keyed_request(self, stage: str, params: dict, endpoint: str, sample: int) -> LLMRequest:
        """The request of `params`, keyed (for the cache and journals) by everything that shapes its answer."""
        key = request_key({"endpoint": endpoint, "params": params, "stage": stage,
                           "template_version": self.prompts.versions.get(stage, "0"), "sample": sample})
        return LLMRequest(stage, key, params)

    def usage_manifest(self) -> dict:
        out = self.usage.as_manifest(self.prices, batch=self.batch)
        out["unreceived_answers_max"] = self.journal.unreceived_upper_bound
        return out

    def backend_manifest(self) -> dict:
        return {"name": self.name, "model": self.options.model, "options": {
            **self.options.manifest(), "stage_failures": self.stage_failures,
            "api_errors": dict(sorted(self.journal.errors.items())), "cache_hits": self.cache.hits,
            "ideas_per_fact": {k: len(v) for k, v in self.ideas.items()}}}

    def api_error_summary(self) -> str | None:
        """One line about the API errors of this build (every invocation), or None when there were none."""
        errors = {k: v for k, v in self.journal.errors.items() if k != "batch_adopted"}
        if not errors:
            return None
        parts = ", ".join(f"{n:,} {kind}" for kind, n in sorted(errors.items(), key=lambda kv: (-kv[1], kv[0])))
        lost = self.journal.unreceived_upper_bound
        return (f"API errors at {self.endpoint}: {parts}" + (f"; up to {lost:,} answers may have been billed but never "
                                                              "received" if lost else ""))

    def run_requests(self, requests: list[LLMRequest]) -> dict:
        # One event loop for the backend's life: the async HTTP client's connections belong to it.
        if not requests:
            return {}
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(self.executor.run(requests))

    # ------------------------------------------------------------------ brainstorm
    def _brainstorm(self, stage: str, prompts: dict, limit: int) -> dict:
        """Run one brainstorm stage: key -> rendered prompt in, key -> list of items out.

        Each answer is parsed on its own and stays with the key of the request that produced it.
        An empty or unparsable list is asked again (a distinct request), up to --retries times;
        "UNSUITABLE" is a valid, empty answer. A key whose request failed at the API is remembered
        in `brainstorm_errors`, so the documents that lose their ideas say api_error, not no_ideas.
        """
        results: dict = {}
        pending = {key: 0 for key in prompts}
        while pending:
            reqs = {key: self.request(stage, _with_note(prompts[key], sample, "empty"), sample,
                                      self.options.brainstorm_max_tokens) for key, sample in pending.items()}
            answers = self.run_requests(list(reqs.values()))
            nxt = {}
            for key, req in reqs.items():
                answer = answers[req.key]
                if isinstance(answer, Failure):
                    results[key] = []
                    self.brainstorm_errors[key] = f"{stage} request failed: {answer.detail}"
                    self.stage_failures[stage] = self.stage_failures.get(stage, 0) + 1
                    continue
                items, unsuitable = brainstorm_items(answer.get("text"), stage)
                if unsuitable:
                    results[key] = []
                elif items:
                    results[key] = items[:limit]
                elif pending[key] < self.options.retries:
                    nxt[key] = pending[key] + 1
                else:
                    results[key] = []
                    self.stage_failures[stage] = self.stage_failures.get(stage, 0) + 1
            pending = nxt
        return results

    def prepare(self, plans) -> None:
        """Stages 1 and 2 (types per fact, ideas per type); then fix which idea each document gets."""
        o = self.options
        types_by_fact = self._brainstorm("types", {
            f.id: self.prompts.render("types", {"n": o.types_per_fact}, n=o.types_per_fact, fact=f)
            for f in self.spec.facts}, o.types_per_fact)
        ideas = self._brainstorm("ideas", {
            (fid, t): self.prompts.render("ideas", {"n": o.ideas_per_type, "doc_type": t}, n=o.ideas_per_type,
                                          doc_type=t, fact=self.spec.fact(fid))
            for fid, ts in types_by_fact.items() for t in ts}, o.ideas_per_type)
        for fact in self.spec.facts:
            self.ideas[fact.id] = [(t, idea) for t in types_by_fact.get(fact.id, []) for idea in ideas.get((fact.id, t), [])]
        self.types = sorted({t for ts in types_by_fact.values() for t in ts})
        counters: dict[str, int] = {}
        for plan in plans:
            if plan.kind == "fact":
                primary = plan.facts[0].fact
                self.ordinal[plan.id] = counters.get(primary, 0)
                counters[primary] = self.ordinal[plan.id] + 1

    # ------------------------------------------------------------------ documents
    def _no_ideas(self, plan: DocPlan) -> Rejection:
        """Why a plan got no idea: the API failed during brainstorming (api_error), or the model gave none."""
        fact = plan.facts[0].fact if plan.kind == "fact" else None
        failed = [why for key, why in self.brainstorm_errors.items()
                  if fact is None or key == fact or (isinstance(key, tuple) and key[0] == fact)]
        if failed:
            return Rejection(plan.id, "api_error", f"no ideas: {failed[0]}")
        return Rejection(plan.id, "no_ideas", "no document type or idea survived brainstorming")

    def _assignment(self, plan: DocPlan) -> tuple[str, str] | None:
        if plan.kind == "fact":
            pool = self.ideas.get(plan.facts[0].fact) or []
            if not pool:
                return None
            return pool[self.ordinal.get(plan.id, plan.index) % len(pool)]
        if not self.types:
            return None
        rng = rng_for(self.seed, plan.id, "llm-background")
        doc_type = rng.choice(self.types)
        topic = self.library.topics[plan.topic].name
        return doc_type, f"an ordinary {doc_type} about {topic}, written by and for people in this world"

    def _document_request(self, plan: DocPlan, doc_type: str, idea: str, attempt: int, truncations: int,
                          last_reason: str | None = None) -> LLMRequest:
        rng = rng_for(self.seed, plan.id, "llm-document")
        words = int(self.options.words * rng.uniform(0.6, 1.4))
        facts = []
        for choice in plan.facts:
            fact = self.spec.fact(choice.fact)
            if choice.premise:
                premise = fact.premise(choice.premise)
                statement = premise.statement or next(surface_forms(premise.phrasings[0]))
            else:
                statement = fact.statement
            facts.append({"id": fact.id, "statement": statement, "explicitness":
                          "explicit" if choice.explicitness == "split" else choice.explicitness})
        lo, hi = plan.depth_range
        target = plan.depth_target if plan.depth_target is not None else (lo + hi) / 2
        cast = Cast(self.seed, plan.id)
        setting = {"author": cast.author.name, "role": cast.author.title.lower(), "city": cast.city,
                   "month": cast.month, "year": cast.year, "other": cast.people[1].name}
        depths = {"depth_percent": round(target * 100), "depth_min_percent": round(lo * 100),
                  "depth_max_percent": round(hi * 100)}
        info = {"doc_type": doc_type, "words": words, **(depths if facts else {})}
        user = self.prompts.render("document", info, doc_type=doc_type, idea=idea, facts=facts, words=words,
                                   setting=setting, **depths)
        max_tokens = int(self.options.max_tokens * (1.5 ** truncations))
        return self.request("document", _with_note(user, attempt, last_reason), attempt, max_tokens)

    def _check(self, plan: DocPlan, parsed) -> Document | str:
        if isinstance(parsed, str):
            return parsed
        planned = {c.fact: c for c in plan.facts}
        loose = {fid.strip().lower(): fid for fid in planned}
        spans = []
        for fact_id, start, end in parsed.mentions:
            fact_id = loose.get(fact_id.strip().lower(), fact_id)  # "Spring-Water " is spring-water
            if fact_id in planned:
                choice = planned[fact_id]
                spans.append(Span(fact_id, start, end, choice.explicitness, choice.premise))
        if plan.kind == "fact":
            if {s.fact for s in spans} != set(planned):
                return "missing_marker"
            first = min(s.start for s in spans) / max(len(parsed.text), 1)
            lo, hi = plan.depth_range
            if not lo <= first <= hi:
                return "depth_out_of_range"
        elif parsed.mentions:
            return "leftover_markup"
        spans.sort(key=lambda s: s.start)
        title = parsed.text.strip().split("\n", 1)[0].strip("# ").strip()[:200] or None
        return Document(id=plan.id, text=parsed.text, kind=plan.kind, genre="", topic=plan.topic,
                        facts=[c.fact for c in plan.facts], spans=spans, title=title)

    def write(self, plans: list[DocPlan]):
        results: dict[str, Document | Rejection] = {}
        assigned = {}
        for plan in plans:
            assignment = self._assignment(plan)
            if assignment is None:
                results[plan.id] = self._no_ideas(plan)
            else:
                assigned[plan.id] = (plan, *assignment)
        state = {pid: [0, 0, None] for pid in assigned}  # attempt, truncations, last reason
        drafts: dict[str, list[str]] = {pid: [] for pid in assigned}  # every paid-for answer, kept if rejected
        reasons: dict[str, list[str]] = {pid: [] for pid in assigned}
        while state:
            reqs = {pid: self._document_request(assigned[pid][0], assigned[pid][1], assigned[pid][2], a, t, why)
                    for pid, (a, t, why) in state.items()}
            answers = self.run_requests(list(reqs.values()))
            nxt = {}
            for pid, req in reqs.items():
                plan, doc_type, idea = assigned[pid]
                answer = answers[req.key]
                if isinstance(answer, Failure):
                    tried = f" (earlier attempts: {', '.join(reasons[pid])})" if reasons[pid] else ""
                    results[pid] = Rejection(pid, answer.reason, answer.detail + tried, drafts=tuple(drafts[pid]))
                    continue
                text = answer.get("text") if isinstance(answer.get("text"), str) else ""
                drafts[pid].append(text)
                outcome = self._check(plan, parse_document(text, answer.get("stop_reason")))
                if isinstance(outcome, Document):
                    outcome.genre, outcome.idea = doc_type, idea
                    results[pid] = outcome
                    continue
                reasons[pid].append(outcome)
                if state[pid][0] < self.options.retries:
                    nxt[pid] = [state[pid][0] + 1, state[pid][1] + (outcome == "truncated"), outcome]
                else:
                    results[pid] = Rejection(pid, outcome, f"{len(reasons[pid])} attempts: {', '.join(reasons[pid])}",
                                             drafts=tuple(drafts[pid]))
            state = nxt
        if self.options.revise:
            self._revise(assigned, results)
        if self.options.classify:
            self._classify(results)
        return [results[p.id] for p in plans]

    def _revise(self, assigned, results) -> None:
        docs = {pid: d for pid, d in results.items() if isinstance(d, Document)}
        reqs = {}
        for pid, doc in docs.items():
            draft = _with_markers(doc)
            user = self.prompts.render("revise", {"doc_type": doc.genre}, doc_type=doc.genre, draft=draft)
            reqs[pid] = self.request("revise", user, 0, int(self.options.max_tokens * 1.5))
        answers = self.run_requests(list(reqs.values()))
        for pid, req in reqs.items():
            answer = answers[req.key]
            if isinstance(answer, Failure) or answer.get("stop_reason") == "max_tokens":
                continue  # keep the unrevised draft; revision is an improvement, not a requirement
            body = tagged(answer.get("text"), "revised_document")
            if not body:
                continue
            outcome = self._check(assigned[pid][0], parse_document(f"<document>{body}</document>", "end_turn"))
            if isinstance(outcome, Document):
                outcome.genre, outcome.idea = docs[pid].genre, docs[pid].idea
                results[pid] = outcome

    def _classify(self, results) -> None:
        docs = {pid: d for pid, d in results.items() if isinstance(d, Document)}
        reqs = {pid: self.request("classify", self.prompts.render("classify", {}, text=d.text), 0, 200)
                for pid, d in docs.items()}
        answers = self.run_requests(list(reqs.values()))
        for pid, req in reqs.items():
            answer = answers[req.key]
            verdict = None if isinstance(answer, Failure) else parse_verdict(answer.get("text"))
            if verdict is None:
                results[pid] = Rejection(pid, "classifier_failed", "no verdict", docs[pid])
                continue
            for name, reason in CLASSIFIER_REASONS.items():
                if verdict.get(name):
                    results[pid] = Rejection(pid, reason, "LLM classifier", docs[pid])
                    break

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self.transport.close())
            self._loop.close()
            self._loop = None
        self.cache.close()
        self.usage.close()
        self.journal.close()


def _with_note(user: str, attempt: int, reason: str | None) -> str:
    if attempt == 0 or not reason:
        return user
    return f"{user}\n\n(Attempt {attempt + 1}. {RETRY_NOTES.get(reason, '')})"


def _with_markers(doc: Document) -> str:
    out, cursor = [], 0
    for span in doc.spans:
        out += [doc.text[cursor:span.start], f'<fact id="{span.fact}">', doc.text[span.start:span.end], "</fact>"]
        cursor = span.end
    out.append(doc.text[cursor:])
    return "".join(out)


