"""The brace syntax used by pool units, headlines and fact phrasings.

- `{a|b|c}` picks one alternative;
- `{v:a|b} ... {v:c|d}` are linked: every slot labelled `v` in one text takes the same position, so
  choices that must agree are drawn together (`{v:We|I} {v:take|take} ... {v:our|my}`);
- `{3..12}` is a whole number from 3 to 12 (write the unit around it: `{3..12} miles`);
- `{name}` is a variable (the cast's `{person}`, `{city}`, ...).

It is kept deliberately tiny: structure lives in Jinja templates, this only varies wording.
"""
from __future__ import annotations

import functools
import itertools
import re
from typing import Callable, Iterator, Mapping, NamedTuple

BRACE = re.compile(r"\{([^{}]*)\}")
LABEL = re.compile(r"^([a-z][a-z0-9_]*):(.*)$", re.S)
RANGE = re.compile(r"^(\d+)\.\.(\d+)$")
MAX_RANGE = 10_000


class VariationError(ValueError):
    pass


class Linked(NamedTuple):
    """A labelled slot: every slot with the same label in one text takes the same position."""

    label: str
    alternatives: tuple[str, ...]


def _slot(body: str):
    """A slot's parsed form: a tuple of alternatives, a Linked slot, or a variable name (str)."""
    match = RANGE.match(body)
    if match:
        lo, hi = int(match.group(1)), int(match.group(2))
        if lo > hi or hi - lo > MAX_RANGE:
            raise VariationError(f"bad number range {{{body}}}")
        return tuple(str(n) for n in range(lo, hi + 1))
    if "|" in body:
        match = LABEL.match(body)
        if match:
            return Linked(match.group(1), tuple(match.group(2).split("|")))
        return tuple(body.split("|"))
    return body


def check(text: str, variables: frozenset[str] | None = None) -> None:
    """Raise VariationError when `text` is not well-formed brace syntax."""
    depth = 0
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if depth not in (0, 1):
            raise VariationError(f"unbalanced or nested braces in {text!r}")
    if depth:
        raise VariationError(f"unbalanced braces in {text!r}")
    widths: dict[str, int] = {}
    for body in BRACE.findall(text):
        slot = _slot(body)
        if isinstance(slot, Linked):
            if widths.setdefault(slot.label, len(slot.alternatives)) != len(slot.alternatives):
                raise VariationError(f"linked slots {slot.label}: need the same number of alternatives in {text!r}")
        elif isinstance(slot, str) and variables is not None and slot not in variables:
            raise VariationError(f"unknown variable {{{body}}} in {text!r}")


@functools.lru_cache(maxsize=65536)
def _parts(text: str) -> tuple:
    """`text` split once into [literal, slot, literal, slot, ..., literal] (slots as `_slot` parses them)."""
    parts = BRACE.split(text)
    for i in range(1, len(parts), 2):
        parts[i] = _slot(parts[i])
    return tuple(parts)


def expand(text: str, choose: Callable[[tuple[str, ...]], str], variables: Mapping[str, str]) -> str:
    parts = _parts(text)
    if len(parts) == 1:
        return text
    # Hot path (dozens of calls a document): no helper calls beyond the choices themselves.
    pieces = [parts[0]]
    linked: dict[str, int] | None = None
    for i in range(1, len(parts), 2):
        slot = parts[i]
        kind = slot.__class__
        if kind is tuple:
            pieces.append(choose(slot))
        elif kind is Linked:
            if linked is None:
                linked = {}
            if slot.label not in linked:
                linked[slot.label] = choose(range(len(slot.alternatives)))
            pieces.append(slot.alternatives[linked[slot.label]])
        else:
            pieces.append(variables[slot])
        pieces.append(parts[i + 1])
    return "".join(pieces)


def tidy(text: str) -> str:
    """Collapse the double spaces an empty alternative leaves behind."""
    return re.sub(r"\s+", " ", text).strip()


def tidy_inline(text: str) -> str:
    """Like tidy, but keeps outer spaces (a template may glue `vary("... that ") ~ mention`) and drops the
    space an empty alternative leaves before punctuation ("patience {on this|}." -> "patience."); "a"
    before a name that a variable filled in and that starts with a vowel becomes "an" ("a {city} bus")."""
    text = _A_BEFORE_NAME.sub(lambda m: m.group(1) + "n ", text)
    if "  " in text:
        text = DOUBLED_SPACE.sub(" ", text)
    if " ." in text or " ," in text or " ;" in text or " :" in text or " !" in text or " ?" in text:
        text = _SPACE_BEFORE_PUNCTUATION.sub("", text)
    return text


_A_BEFORE_NAME = re.compile(r"\b([Aa]) (?=(?:A|E(?!u)|I|O(?!ne\b|nce\b))[a-z])")
DOUBLED_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")  # what an empty alternative leaves
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<=\w) +(?=[.,;:!?](?:\s|$))")


def _choices(text: str) -> tuple[list[str], list]:
    """(literals, slots) of a phrasing; slots are alternative tuples or Linked (no variables in phrasings)."""
    parts = _parts(text)
    return list(parts[0::2]), list(parts[1::2])


def surface_forms(text: str) -> Iterator[str]:
    """Every tidy string `text` can expand to (alternatives only, no variables)."""
    for form, _ in weighted_forms(text):
        yield form


def weighted_forms(text: str) -> Iterator[tuple[str, float]]:
    """(tidy form, probability) of every way `text` expands under uniform choices; a form reached
    several ways appears once per way (callers sum them)."""
    literals, slots = _choices(text)
    labels = sorted({s.label: len(s.alternatives) for s in slots if isinstance(s, Linked)}.items())
    free = [i for i, s in enumerate(slots) if not isinstance(s, Linked)]
    free_options = [slots[i] if isinstance(slots[i], tuple) else (slots[i],) for i in free]
    label_options = [range(n) for _, n in labels]
    total = 1
    for options in free_options:
        total *= len(options)
    for _, n in labels:
        total *= n
    for picks in itertools.product(*free_options):
        chosen = dict(zip(free, picks))
        for label_picks in itertools.product(*label_options):
            index = {label: k for (label, _), k in zip(labels, label_picks)}
            pieces = [literals[0]]
            for i, slot in enumerate(slots):
                pieces.append(chosen[i] if i in chosen else slot.alternatives[index[slot.label]])
                pieces.append(literals[i + 1])
            yield tidy("".join(pieces)), 1.0 / total


def count_forms(text: str) -> int:
    _, slots = _choices(text)
    n = 1
    seen: set[str] = set()
    for slot in slots:
        if isinstance(slot, Linked):
            if slot.label not in seen:
                seen.add(slot.label)
                n *= len(slot.alternatives)
        elif isinstance(slot, tuple):
            n *= len(slot)
    return n


MAX_ENUMERATED = 100_000


class Matcher:
    """Tells whether a string is one of the tidy surface forms of a phrasing."""

    def __init__(self, text: str):
        self.forms = frozenset(surface_forms(text)) if count_forms(text) <= MAX_ENUMERATED else None
        self.regex = None
        if self.forms is None:
            # Too many forms to list: a regex in which any run of spaces may shrink to one or none.
            pieces = []
            for i, part in enumerate(_parts(text)):
                if i % 2 == 0:
                    pieces.append(re.sub(r"(\\ )+", " *", re.escape(part)))
                else:
                    alternatives = part.alternatives if isinstance(part, Linked) else part
                    pieces.append("(?:" + "|".join(re.escape(a) for a in alternatives) + ")")
            self.regex = re.compile(" *".join(["", "".join(pieces), ""]))

    def matches(self, candidate: str) -> bool:
        if self.forms is not None:
            return candidate in self.forms
        return bool(self.regex.fullmatch(candidate))


def sentence_case_undone(mention: str) -> str:
    """A mention that opens a sentence as its phrasing would read inside one: phrasings are clauses
    ("every answer ..."), and a mention may open a sentence with a capital ("Every answer ...")."""
    return mention[:1].lower() + mention[1:] if mention[:1].isupper() else mention


def matcher(text: str) -> Matcher:
    return Matcher(text)
