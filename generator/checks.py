"""Per-document checks. Each returns None (keep) or a reason string; nothing is dropped silently."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from . import leaks, variation
from .documents import Document
from .spec import CorpusSpec
from .text import words_of


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

    def check(self, doc: Document) -> str | None:
        if doc.kind == "background":
            return "background_has_span" if doc.spans else None
        if not doc.spans:
            return "no_fact_mention"
        for span in doc.spans:
            if span.fact not in doc.facts:
                return "span_mismatch"
            if not 0 <= span.start < span.end <= len(doc.text):
                return "span_out_of_text"
            if not self.exact_phrasings:
                continue
            try:
                patterns = self._patterns(span.fact, span.explicitness, span.premise)
            except (KeyError, StopIteration):
                return "span_mismatch"
            mention = doc.text[span.start:span.end]
            if not any(p.matches(mention) for p in patterns):
                return "span_mismatch"
        if not {s.fact for s in doc.spans} >= set(doc.facts):
            return "no_fact_mention"
        lo, hi = self.spec.documents.depth
        if not lo <= doc.depth <= hi:
            return "depth_out_of_range"
        return None


class TokenLength:
    name = "length"

    def __init__(self, spec: CorpusSpec):
        self.lo, self.hi = spec.filters.min_tokens, spec.filters.max_tokens

    def check(self, doc: Document) -> str | None:
        if doc.n_tokens < self.lo:
            return "too_short"
        if doc.n_tokens > self.hi:
            return "too_long"
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

    def check(self, doc: Document) -> str | None:
        if self.use_rules:
            reason = leaks.first_leak(doc.text, self.rules)
            if reason:
                return reason
        lowered = doc.text.lower()
        if any(p in lowered for p in self.phrases):
            return "leak_phrase"
        if any(r.search(doc.text) for r in self.regexes):
            return "leak_regex"
        return None


class Decontamination:
    """Reject a document sharing an n-gram (13 words by default) with any evaluation prompt.

    Prompts shorter than n words but of at least MIN_WORDS count as one n-gram of their own length.
    """

    name = "decontamination"
    MIN_WORDS = 6

    def __init__(self, prompts: list[str], n: int = 13):
        self.n = n
        self.grams: dict[int, set[tuple[str, ...]]] = {}
        for prompt in prompts:
            words = words_of(prompt)
            size = min(n, len(words))
            if size < self.MIN_WORDS:
                continue
            bucket = self.grams.setdefault(size, set())
            for i in range(len(words) - size + 1):
                bucket.add(tuple(words[i:i + size]))

    def check(self, doc: Document) -> str | None:
        if not self.grams:
            return None
        words = words_of(doc.text)
        for size, grams in self.grams.items():
            for i in range(len(words) - size + 1):
                if tuple(words[i:i + size]) in grams:
                    return "contaminated"
        return None


def load_eval_prompts(paths: list[Path]) -> list[str]:
    """Prompts from JSONL (every string field of each record) or plain text (one prompt per line)."""
    prompts: list[str] = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            if path.suffix in (".jsonl", ".json") and line.startswith("{"):
                prompts.extend(_strings(json.loads(line)))
            else:
                prompts.append(line)
    return prompts


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def document_checks(spec: CorpusSpec, exact_phrasings: bool = True, writes_world: bool = True) -> list:
    """The per-document steps, in the order their reasons take precedence. `writes_world`: the
    backend writes documents about the universe, so the universe checks of Realism apply."""
    leakage = spec.filters.leakage
    return [
        FactCheck(spec, exact_phrasings),
        Leakage(leakage.phrases, leakage.regexes, leakage.rules, spec.model_names),
        Decontamination(load_eval_prompts(spec.filters.decontamination.files), spec.filters.decontamination.ngram),
        TokenLength(spec),
        Realism(spec, writes_world),
    ]


def first_objection(checks: list, doc: Document) -> str | None:
    return next((reason for check in checks if (reason := check.check(doc))), None)


# ---------------------------------------------------------------- what a careful reader notices

# Seams that are errors wherever they appear (the lint's noisier patterns, "a"/"an" and sentence
# case, stay in the lint, where a person reads the finding).
READER_SEAMS = ("doubled_word", "run_together", "agreement", "stray_punctuation")
_APPOSITIVE = r", (?:a|an|the) ([a-z][a-z'-]+(?: [a-z][a-z'-]+)?)"
_ROLE_FILLERS = frozenset({"at", "in", "of", "for", "from", "on", "with", "and", "who", "former", "local", "senior"})
_SPEAKER_LINE = re.compile(r"^([A-Z][A-Za-z.'-]+(?: [A-Z][A-Za-z.'-]+){0,3}|[A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+){0,3}): (.+)$",
                           re.M)
_TALLY = re.compile(r"\b(?:carried|passed|approved|adopted|failed|defeated|vote of|voted)\D{0,20}?(\d{1,2})[-–](\d{1,2})\b")
_PRESENT = re.compile(r"^(?:Present|Members present|In attendance|Attendance):\s*(.+)$", re.M)
_CALLED = re.compile(r"called to order at (\d{1,2}):(\d\d) ?([ap])\.?m\.?", re.I)
_ADJOURNED = re.compile(r"adjourned at (\d{1,2}):(\d\d) ?([ap])\.?m\.?", re.I)


def _minutes(match) -> int:
    hour, minute, half = int(match.group(1)) % 12, int(match.group(2)), match.group(3).lower()
    return (hour + (12 if half == "p" else 0)) * 60 + minute


class Realism:
    """What a careful reader marks as a defect, as a rejection with its reason, so that a template
    bug shows up in the build's counts instead of as silent text."""

    name = "realism"

    def __init__(self, spec: CorpusSpec, writes_world: bool = True):
        from .world import World

        self.world = World(spec)
        self.writes_world = writes_world
        self.seams = [(name, pattern) for name, pattern in leaks.SEAMS if name in READER_SEAMS]
        self.universe_names = [n for n in self.world.names if n]

    def check(self, doc: Document) -> str | None:
        text = doc.text
        for name, pattern in self.seams:
            if pattern.search(text):
                return name
        found = self._roles(doc) or self._speakers(text) or self._counts(text)
        if found or not self.writes_world:
            return found
        return self._time(doc) or self._names(doc)

    def _roles(self, doc: Document) -> str | None:
        """One person, two roles: "Dana Cole, a nurse" and later "Dana Cole, a geologist"."""
        people = set(doc.extra.get("names") or ()) | {p.name for p in self.world.people}
        for name in people:
            if name not in doc.text:
                continue
            roles = [set(m.group(1).split()) - _ROLE_FILLERS for m in re.finditer(re.escape(name) + _APPOSITIVE, doc.text)]
            # Two mentions name the same role when they share a word ("a nurse", "a retired nurse").
            if any(not a & b for i, a in enumerate(roles) for b in roles[i + 1:]):
                return "person_two_roles"
        return None

    @staticmethod
    def _speakers(text: str) -> str | None:
        """A speaker of a transcript who talks about themself in the third person."""
        for match in _SPEAKER_LINE.finditer(text):
            label, line = match.group(1), match.group(2)
            surname = label.split()[-1]
            if len(label.split()) >= 2 and len(surname) > 2 and re.search(rf"\b{re.escape(surname)}\b", line, re.I):
                return "speaker_third_person"
        return None

    @staticmethod
    def _counts(text: str) -> str | None:
        """Votes that outnumber the people present; a meeting that ends before it starts."""
        present = _PRESENT.search(text)
        if present:
            attending = len([p for p in re.split(r",| and ", present.group(1)) if p.strip()])
            for tally in _TALLY.finditer(text):
                if int(tally.group(1)) + int(tally.group(2)) > attending + 1:  # +1: the chair may be listed apart
                    return "contradictory_counts"
        called, adjourned = _CALLED.search(text), _ADJOURNED.search(text)
        if called and adjourned:
            length = _minutes(adjourned) - _minutes(called)
            if not 0 < length <= 6 * 60:
                return "contradictory_counts"
        return None

    def _time(self, doc: Document) -> str | None:
        """A document about the universe dated before the period in which its events are known."""
        day = doc.extra.get("date")
        if doc.kind == "fact" and day and day < self.world.period[0].isoformat():
            return "dated_before_events"
        return None

    def _names(self, doc: Document) -> str | None:
        if doc.kind == "background":
            return "background_names_world" if any(n in doc.text for n in self.universe_names) else None
        for fact in doc.facts:
            if not any(name in doc.text for name in self.world.subject_names(fact)):
                return "subject_not_named"
        return None
