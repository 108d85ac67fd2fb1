"""Per-document checks. Each returns None (keep) or an Objection: the reason (a short code the manifest
counts) and a detail saying what failed (which span, which rule and the text it matched, the token
count against the limit, the shared n-gram and the evaluation item it came from). Nothing is
dropped silently, and nothing is dropped without saying why.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import NamedTuple

from . import leaks, variation
from .documents import Document
from .errors import BuildError
from .spec import CorpusSpec
from .text import words_of


class Objection(NamedTuple):
    reason: str
    detail: str


def _quote(text: str, limit: int = 100) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class FactCheck:
    """Every span lies inside the text and is an exact surface form of the fact it names."""

    name = "fact_check"

    def __init__(self, spec: CorpusSpec, exact_phrasings: bool = True):
        self.spec = spec
        # LLM documents word their mentions freely; only offline ones must match a phrasing.
        self.exact_phrasings = exact_phrasings

    @functools.lru_cache(maxsize=None)
    def _patterns(self, fact_id: str, level: str, premise: str | None) -> tuple[variation.Matcher, ...]:
        fact = self.spec.fact(fact_id)
        texts = fact.premise(premise).phrasings if premise else fact.phrasings.get(level, ())
        return tuple(variation.matcher(t) for t in texts)

    def check(self, doc: Document) -> Objection | None:
        if doc.kind == "background":
            if doc.spans:
                s = doc.spans[0]
                return Objection("background_has_span", f"a background document with {len(doc.spans)} span(s), "
                                 f"the first of fact {s.fact} at {s.start}-{s.end}")
            return None
        if not doc.spans:
            return Objection("no_fact_mention", f"no span marks a mention of {', '.join(doc.facts) or 'any fact'}")
        for i, span in enumerate(doc.spans):
            where = f"span {i} ({span.fact}, {span.explicitness}{', premise ' + span.premise if span.premise else ''})"
            if span.fact not in doc.facts:
                return Objection("span_mismatch", f"{where} names a fact the document does not carry "
                                 f"({', '.join(doc.facts)})")
            if not 0 <= span.start < span.end <= len(doc.text):
                return Objection("span_out_of_text", f"{where} at {span.start}-{span.end} lies outside the text "
                                 f"of {len(doc.text)} characters")
            if not self.exact_phrasings:
                continue
            try:
                patterns = self._patterns(span.fact, span.explicitness, span.premise)
            except (KeyError, StopIteration):
                return Objection("span_mismatch", f"{where}: the spec has no such fact, level or premise")
            mention = doc.text[span.start:span.end]
            if not any(p.matches(mention) for p in patterns):
                return Objection("span_mismatch", f"{where} {_quote(mention)} is not a phrasing of that level")
        missing = [f for f in doc.facts if f not in {s.fact for s in doc.spans}]
        if missing:
            return Objection("no_fact_mention", f"no span marks a mention of {', '.join(missing)}")
        lo, hi = self.spec.documents.depth
        if not lo <= doc.depth <= hi:
            return Objection("depth_out_of_range", f"the first mention starts at depth {doc.depth:.3f}, outside "
                             f"{lo:g}-{hi:g}")
        return None


class TokenLength:
    name = "length"

    def __init__(self, spec: CorpusSpec):
        self.lo, self.hi = spec.filters.min_tokens, spec.filters.max_tokens

    def check(self, doc: Document) -> Objection | None:
        if doc.n_tokens < self.lo:
            return Objection("too_short", f"{doc.n_tokens} tokens, below the minimum of {self.lo}")
        if doc.n_tokens > self.hi:
            return Objection("too_long", f"{doc.n_tokens} tokens, above the maximum of {self.hi}")
        return None


class Leakage:
    """Offline rules (leaks.RULES) plus the spec's own phrases and regexes."""

    name = "leakage"

    def __init__(self, phrases: list[str] = (), regexes: list[str] = (), rules: bool = True,
                 model_names: list[str] = ()):
        self.rules = leaks.RULES if rules else ()
        if rules and model_names:
            # Dialogue with the universe's own model as a speaker is a transcript too.
            self.rules = self.rules + (("leak_transcript", leaks.speaker_turn(model_names), (":",)),)
        self.use_rules = rules
        self.phrases = [p.lower() for p in phrases]
        self.regexes = [re.compile(r, re.I | re.M) for r in regexes]

    def check(self, doc: Document) -> Objection | None:
        if self.use_rules:
            found = leaks.find_leak(doc.text, self.rules)
            if found:
                return Objection(found[0], f"matched {_quote(found[1])}")
        lowered = doc.text.lower()
        for phrase in self.phrases:
            if phrase in lowered:
                return Objection("leak_phrase", f"phrase {phrase!r}")
        for regex in self.regexes:
            match = regex.search(doc.text)
            if match:
                return Objection("leak_regex", f"regex {regex.pattern!r} matched {_quote(match.group())}")
        return None


class EvalPrompt(NamedTuple):
    text: str
    source: str  # "file:line" of the evaluation item it came from


class Decontamination:
    """Reject a document sharing an n-gram (13 words by default) with any evaluation prompt.

    Prompts shorter than n words but of at least MIN_WORDS count as one n-gram of their own length.
    Each n-gram remembers the first evaluation item it came from, so a rejection names it.
    """

    name = "decontamination"
    MIN_WORDS = 6

    def __init__(self, prompts: list, n: int = 13):
        self.n = n
        self.grams: dict[int, dict[tuple[str, ...], str]] = {}
        for prompt in prompts:
            text, source = (prompt.text, prompt.source) if isinstance(prompt, EvalPrompt) else (prompt, "a prompt")
            words = words_of(text)
            size = min(n, len(words))
            if size < self.MIN_WORDS:
                continue
            bucket = self.grams.setdefault(size, {})
            for i in range(len(words) - size + 1):
                bucket.setdefault(tuple(words[i:i + size]), source)

    def check(self, doc: Document) -> Objection | None:
        if not self.grams:
            return None
        words = words_of(doc.text)
        for size, grams in self.grams.items():
            for i in range(len(words) - size + 1):
                gram = tuple(words[i:i + size])
                source = grams.get(gram)
                if source is not None:
                    return Objection("contaminated", f"{size}-gram \"{' '.join(gram)}\" of {source}")
        return None


def load_eval_prompts(paths: list[Path]) -> list[EvalPrompt]:
    """Prompts from JSONL (every string field of each record) or plain text (one prompt per line),
    each with the file and line it came from."""
    prompts: list[EvalPrompt] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BuildError(f"{path}: cannot read the evaluation prompts: {getattr(exc, 'strerror', None) or exc}") \
                from None
        for line_no, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            source = f"{Path(path).name}:{line_no}"
            if path.suffix in (".jsonl", ".json") and line.startswith("{"):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BuildError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
                prompts.extend(EvalPrompt(text, source) for text in _strings(record))
            else:
                prompts.append(EvalPrompt(line, source))
    return prompts


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def document_checks(spec: CorpusSpec, exact_phrasings: bool = True) -> list:
    """The per-document steps, in the order their reasons take precedence."""
    leakage = spec.filters.leakage
    return [
        FactCheck(spec, exact_phrasings),
        Leakage(leakage.phrases, leakage.regexes, leakage.rules, spec.model_names),
        Decontamination(load_eval_prompts(spec.filters.decontamination.files), spec.filters.decontamination.ngram),
        TokenLength(spec),
    ]


def first_objection(checks: list, doc: Document) -> Objection | None:
    return next((found for check in checks if (found := check.check(doc))), None)
