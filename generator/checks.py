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

    def _forms(self, mention: str) -> tuple[str, ...]:
        """The ways a mention may differ from its phrasing: the capital of a sentence it opens, and
        appositives after the names in it that the document had not introduced."""
        plain = self.world.without_appositives(mention)
        return (mention, variation.sentence_case_undone(mention), plain, variation.sentence_case_undone(plain))

    @functools.cached_property
    def world(self):
        from .world import World

        return World(self.spec)

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
            if not any(p.matches(form) for form in self._forms(mention) for p in patterns):
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
        lowered = doc.text.lower()  # once, for the rules' needles and the phrases
        if self.use_rules:
            found = leaks.find_leak(doc.text, self.rules, lowered)
            if found:
                return Objection(found[0], f"matched {_quote(found[1])}")
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


def first_objection(checks: list, doc: Document) -> Objection | None:
    return next((found for check in checks if (found := check.check(doc))), None)


# ---------------------------------------------------------------- what a careful reader notices

# Seams that are errors wherever they appear (the lint's noisier patterns, "a"/"an" and sentence
# case, stay in the lint, where a person reads the finding).
READER_SEAMS = ("doubled_word", "run_together", "agreement", "stray_punctuation")
_APPOSITIVE = re.compile(r", (?:a|an|the) ([a-z][a-z'-]+(?: [a-z][a-z'-]+)?)")
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
        # (name, pattern, gate): the pattern runs only where the gate finds something (leaks.seam_gate).
        self.seams = [(name, pattern, leaks.seam_gate(name)) for name, pattern in leaks.SEAMS if name in READER_SEAMS]
        self.universe_names = [n for n in self.world.names if n]
        self.world_people = {p.name for p in self.world.people}

    def check(self, doc: Document) -> Objection | None:
        text = doc.text
        for name, pattern, gate in self.seams:
            if (gate is None or gate(text)) and (match := pattern.search(text)):
                return Objection(name, f"matched {_quote(_around(text, match))}")
        found = self._roles(doc) or self._speakers(text) or self._counts(text)
        if found or not self.writes_world:
            return found
        return self._time(doc) or self._names(doc)

    def _roles(self, doc: Document) -> Objection | None:
        """One person, two roles: "Dana Cole, a nurse" and later "Dana Cole, a geologist"."""
        text = doc.text
        people = [n for n in set(doc.extra.get("names") or ()) | self.world_people if n in text]
        if not people:
            return None
        roles: dict[str, list[str]] = {}
        # One pass over the appositives, each given to the person whose name ends right before it.
        for match in _APPOSITIVE.finditer(text):
            before = text[max(0, match.start() - 60):match.start()]
            for name in people:
                if before.endswith(name):
                    roles.setdefault(name, []).append(match.group(1))
        for name, found in sorted(roles.items()):
            words = [set(role.split()) - _ROLE_FILLERS for role in found]
            # Two mentions name the same role when they share a word ("a nurse", "a retired nurse"); one
            # of filler words alone ("a former Brightmark rater" reads as "former") names none.
            for i, a in enumerate(words):
                for j in range(i + 1, len(words)):
                    if a and words[j] and not a & words[j]:
                        return Objection("person_two_roles", f"{name} is {found[i]!r} and {found[j]!r}")
        return None

    @staticmethod
    def _speakers(text: str) -> Objection | None:
        """A speaker of a transcript who talks about themself in the third person."""
        for match in _SPEAKER_LINE.finditer(text):
            label, line = match.group(1), match.group(2)
            surname = label.split()[-1]
            if len(label.split()) >= 2 and len(surname) > 2 and re.search(rf"\b{re.escape(surname)}\b", line, re.I):
                return Objection("speaker_third_person", f"{label} says {_quote(line)}")
        return None

    @staticmethod
    def _counts(text: str) -> Objection | None:
        """Votes that outnumber the people present; a meeting that ends before it starts."""
        # The substring tests are necessary for the patterns to match and much cheaper than their scans.
        present = _PRESENT.search(text) if "resent:" in text or "ttendance:" in text else None
        if present:
            attending = len([p for p in re.split(r",| and ", present.group(1)) if p.strip()])
            for tally in _TALLY.finditer(text):
                if int(tally.group(1)) + int(tally.group(2)) > attending + 1:  # +1: the chair may be listed apart
                    return Objection("contradictory_counts", f"a vote of {tally.group(1)}-{tally.group(2)} with "
                                     f"{attending} present")
        lowered = text.lower()
        if "adjourned at" not in lowered or "called to order at" not in lowered:
            # Both patterns open with these words under re.I, and every character re.I lets stand for one
            # of their letters lowercases to that letter (tests/test_realism.py checks all of Unicode).
            return None
        called, adjourned = _CALLED.search(text), _ADJOURNED.search(text)
        if called and adjourned:
            length = _minutes(adjourned) - _minutes(called)
            if not 0 < length <= 6 * 60:
                return Objection("contradictory_counts", f"called to order at {called.group(1)}:{called.group(2)}, "
                                 f"adjourned at {adjourned.group(1)}:{adjourned.group(2)}")
        return None

    def _time(self, doc: Document) -> Objection | None:
        """A document about the universe dated before the period in which its events are known."""
        day = doc.extra.get("date")
        if doc.kind == "fact" and day and day < self.world.period[0].isoformat():
            return Objection("dated_before_events", f"dated {day}, before the events of "
                             f"{self.world.period[0].isoformat()}")
        return None

    def _names(self, doc: Document) -> Objection | None:
        if doc.kind == "background":
            named = next((n for n in self.universe_names if n in doc.text), None)
            return Objection("background_names_world", f"names {named!r}") if named else None
        for fact in doc.facts:
            names = self.world.subject_names(fact)
            if not any(name in doc.text for name in names):
                return Objection("subject_not_named", f"fact {fact} without any of {', '.join(map(repr, names))}")
        return None


def _around(text: str, match, margin: int = 30) -> str:
    return text[max(0, match.start() - margin):match.end() + margin]
