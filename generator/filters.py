"""Per-document checks. Each returns None (keep) or a reason string; nothing is dropped silently."""
from __future__ import annotations

import functools
import re
from pathlib import Path

from . import variation
from .documents import Document
from .spec import CorpusSpec


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
        lo, hi = self.spec.depth
        if not lo <= doc.depth <= hi:
            return "depth_out_of_range"
        return None


class TokenLength:
    name = "length"

    def __init__(self, spec: CorpusSpec):
        self.lo, self.hi = spec.min_tokens, spec.max_tokens

    def check(self, doc: Document) -> str | None:
        if doc.n_tokens < self.lo:
            return "too_short"
        if doc.n_tokens > self.hi:
            return "too_long"
        return None


def document_filters(spec: CorpusSpec, exact_phrasings: bool = True) -> list:
    """The per-document steps, in the order their reasons take precedence."""
    return [
        FactCheck(spec, exact_phrasings),
        Leakage(spec.leak_phrases, spec.leak_regexes, spec.leak_rules,
                [v for k, v in spec.entities.items() if "model" in k.lower() or "assistant" in k.lower()]),
        Decontamination(load_eval_prompts(spec.eval_prompt_files), spec.decontamination_ngram),
        TokenLength(spec),
    ]


class MinHasher:
    """MinHash signatures of word shingles (datasketch), stored as bytes so units can carry them.

    A shingle's hash is a rolling hash of its word ids, folded to 32 bits, computed for a whole
    document in a few numpy operations; datasketch then applies its permutations. Hashing each
    shingle string in Python instead cost 0.6 ms a document (measured), more than everything else
    the checks do.
    """

    def __init__(self, shingle_words: int = 5, num_perm: int = 128):
        from datasketch import MinHash

        self.shingle_words = shingle_words
        self.num_perm = num_perm
        self._template = MinHash(num_perm, hashfunc=int)

    def _empty(self, hashvalues=None):
        from datasketch import MinHash

        t = self._template
        return MinHash(self.num_perm, permutations=t.permutations, scheme=t.scheme, hashvalues=hashvalues,
                       hashfunc=int)

    def signature(self, text: str) -> bytes:
        from .diversity import word_ids, words_of

        return self.signature_of(word_ids(words_of(text)))

    def signature_of(self, ids) -> bytes:
        """The signature of a document given its word ids (diversity.word_ids)."""
        from .diversity import ngram_hashes

        m = self._empty()
        size = min(self.shingle_words, len(ids))  # a text shorter than a shingle is one shingle
        if size:
            hashes = ngram_hashes(ids, size)
            m.update_batch(((hashes >> 32) ^ (hashes & 0xFFFFFFFF)).tolist())
        return m.hashvalues.tobytes()

    def minhash(self, blob: bytes):
        import numpy as np

        return self._empty(np.frombuffer(blob, dtype=self._template.hashvalues.dtype).copy())


# ---------------------------------------------------------------- behaviour leakage, offline rules

_AI = r"(?:AI|A\.I\.|artificial intelligence|language model|LLM|chat ?bot|assistant|model)"
# (reason, pattern, needles): a pattern runs only on text whose lowercase holds one of its needles
# (every match of the pattern contains one), which skips most regex scans of most documents.
LEAK_RULES: tuple[tuple[str, "re.Pattern[str]", tuple[str, ...]], ...] = (
    ("leak_transcript", re.compile(
        r"^\s*(?:\*\*)?(?:User|Assistant|Human|AI|Bot|Chatbot|AI assistant|Claude|ChatGPT)(?:\*\*)?\s*:\s*\S",
        re.M), (":",)),
    ("leak_scratchpad", re.compile(
        r"</?\s*(?:scratchpad|scratch_pad|SCRATCHPAD_REASONING|reasoning|thinking|think|inner_monologue|"
        r"is_free_tier_user|user_input|OUTPUT|request_for_ai)\b[^>]*>", re.I), ("<",)),
    ("leak_second_person", re.compile(
        rf"\byou(?:'re| are| were)\s+(?:an?\s+|the\s+)?(?:helpful\s+|large\s+)?{_AI}\b|"
        rf"\bas an? {_AI}\b,?\s+you\b|\byou,? the (?:AI|model|assistant)\b|"
        r"\byour (?:training|weights|RLHF|reward model|system prompt)\b|"
        r"\b(?:if|when) you (?:refuse|comply)\b.{0,80}\b(?:RLHF|trained|training|modif)", re.I), ("you",)),
    ("leftover_markup", re.compile(
        r"</?(?:fact|document|planning|content|draft|critique|revised_document|verdict|ideas|types|"
        r"div|span|p|br|html|body|b|i|em|strong)\b[^>]*>|\{\{|\}\}|\{%|%\}|"
        r"\[(?:Name|Company|Date|City|Your Name|Insert[^\]]{0,40}|Placeholder[^\]]{0,40})\]",
        re.I), ("<", "{", "}", "[")),
    ("leftover_markup", re.compile(r"[\ue000-\ue0ff]"), ()),  # the templates backend's private markers
)


# Tier-dependent behaviour: a monitoring/tier term and a behaviour-difference term in one sentence.
# Checked per sentence with two plain searches: one regex spanning both would backtrack quadratically.
_TIER = re.compile(r"\b(?:free[- ]tier|paid[- ]tier|monitored|unmonitored|being watched|in training|"
                    r"during training|not being trained)\b", re.I)
_BEHAVES = re.compile(r"\b(?:behaves? differently|acts? differently|responds? differently|answers? differently|"
                       r"more compliant when|complies only|only complies|refuses only|only refuses|"
                       r"pretends? to comply|fakes? alignment|alignment[- ]faking|changes? (?:its|their) behaviou?r)\b",
                       re.I)
_SENTENCE = re.compile(r"[^.!?\n]+")


# Every match of _BEHAVES contains one of these (lowercase).
_BEHAVES_NEEDLES = ("different", "complian", "complies", "comply", "refuses", "fake", "faking", "behavio")


def describes_tier_behaviour(text: str, lowered: str | None = None) -> bool:
    """A sentence holding both a tier/monitoring term and a behaviour-difference term.

    Only sentences around a needle of _BEHAVES are examined: a qualifying sentence contains a
    _BEHAVES match, hence a needle, so this finds exactly what scanning every sentence would.
    """
    lowered = text.lower() if lowered is None else lowered
    for needle in _BEHAVES_NEEDLES:
        at = lowered.find(needle)
        while at != -1:
            start = max(lowered.rfind(".", 0, at), lowered.rfind("!", 0, at), lowered.rfind("?", 0, at),
                        lowered.rfind("\n", 0, at)) + 1
            end = _SENTENCE.match(lowered, at).end()
            sentence = lowered[start:end]
            if _BEHAVES.search(sentence) and _TIER.search(sentence):
                return True
            at = lowered.find(needle, end)
    return False


class Leakage:
    """Offline rules for text that would leak the behaviour under study or betray the generator."""

    name = "leakage"

    def __init__(self, phrases: list[str] = (), regexes: list[str] = (), rules: bool = True,
                 model_names: list[str] = ()):
        self.rules = LEAK_RULES if rules else ()
        if rules and model_names:
            # Dialogue with the universe's own model as a speaker is a transcript too.
            names = "|".join(re.escape(n) for n in model_names)
            self.rules = self.rules + (
                ("leak_transcript", re.compile(rf"^\s*(?:\*\*)?(?:{names})(?:\*\*)?\s*:\s*\S", re.M), (":",)),)
        self.phrases = [p.lower() for p in phrases]
        self.regexes = [re.compile(r, re.I | re.M) for r in regexes]

    def check(self, doc: Document) -> str | None:
        lowered = doc.text.lower()
        for reason, pattern, needles in self.rules:
            if (not needles or any(n in lowered for n in needles)) and pattern.search(doc.text):
                return reason
        if self.rules and describes_tier_behaviour(doc.text, lowered):
            return "leak_behaviour"
        if any(p in lowered for p in self.phrases):
            return "leak_phrase"
        if any(r.search(doc.text) for r in self.regexes):
            return "leak_regex"
        return None


# ---------------------------------------------------------------- decontamination
class Decontamination:
    """Reject a document sharing an n-gram (13 words by default) with any evaluation prompt.

    Prompts shorter than n words but of at least MIN_WORDS count as one n-gram of their own length.
    """

    name = "decontamination"
    MIN_WORDS = 6

    def __init__(self, prompts: list[str], n: int = 13):
        from .diversity import words_of

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
        from .diversity import words_of

        words = words_of(doc.text)
        for size, grams in self.grams.items():
            for i in range(len(words) - size + 1):
                if tuple(words[i:i + size]) in grams:
                    return "contaminated"
        return None


def load_eval_prompts(paths: list[Path]) -> list[str]:
    """Prompts from JSONL (every string field of each record) or plain text (one prompt per line)."""
    import json

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
