"""The brace syntax used by pool sentences, headlines and fact phrasings.

`{a|b|c}` picks one alternative; `{name}` (no pipe) is a cast variable. It is kept
deliberately tiny: structure lives in Jinja templates, this only varies wording.
"""
from __future__ import annotations

import functools
import itertools
import re
from typing import Callable, Iterator, Mapping

BRACE = re.compile(r"\{([^{}]*)\}")


class VariationError(ValueError):
    pass


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
    if variables is not None:
        for body in BRACE.findall(text):
            if "|" not in body and body not in variables:
                raise VariationError(f"unknown variable {{{body}}} in {text!r}")


@functools.lru_cache(maxsize=65536)
def _parts(text: str) -> tuple:
    """`text` split once into [literal, slot, literal, slot, ..., literal]: a slot is a tuple of
    alternatives or the name (str) of a variable."""
    parts = BRACE.split(text)
    for i in range(1, len(parts), 2):
        body = parts[i]
        parts[i] = tuple(body.split("|")) if "|" in body else body
    return tuple(parts)


def expand(text: str, choose: Callable[[tuple[str, ...]], str], variables: Mapping[str, str]) -> str:
    parts = _parts(text)
    if len(parts) == 1:
        return text
    # Hot path (dozens of calls a document): no helper calls beyond the choices themselves.
    pieces = [parts[0]]
    for i in range(1, len(parts), 2):
        slot = parts[i]
        pieces.append(choose(slot) if slot.__class__ is tuple else variables[slot])
        pieces.append(parts[i + 1])
    return "".join(pieces)


def tidy(text: str) -> str:
    """Collapse the double spaces an empty alternative leaves behind."""
    return re.sub(r"\s+", " ", text).strip()


def tidy_inline(text: str) -> str:
    """Like tidy, but keeps outer spaces (a template may glue `vary("... that ") ~ mention`) and drops the
    space an empty alternative leaves before punctuation ("patience {on this|}." -> "patience.")."""
    if "  " in text:
        text = DOUBLED_SPACE.sub(" ", text)
    if " ." in text or " ," in text or " ;" in text or " :" in text or " !" in text or " ?" in text:
        text = _SPACE_BEFORE_PUNCTUATION.sub("", text)
    return text


DOUBLED_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")  # what an empty alternative leaves
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<=\w) +(?=[.,;:!?](?:\s|$))")


def surface_forms(text: str) -> Iterator[str]:
    """Every tidy string `text` can expand to (alternatives only, no variables)."""
    parts = BRACE.split(text)
    # re.split with one group alternates literal, group, literal, ...
    options = [[p] if i % 2 == 0 else p.split("|") for i, p in enumerate(parts)]
    for combo in itertools.product(*options):
        yield tidy("".join(combo))


def count_forms(text: str) -> int:
    n = 1
    for body in BRACE.findall(text):
        n *= len(body.split("|"))
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
            for i, part in enumerate(BRACE.split(text)):
                if i % 2 == 0:
                    pieces.append(re.sub(r"(\\ )+", " *", re.escape(part)))
                else:
                    pieces.append("(?:" + "|".join(re.escape(a) for a in part.split("|")) + ")")
            self.regex = re.compile(" *".join(["", "".join(pieces), ""]))

    def matches(self, candidate: str) -> bool:
        if self.forms is not None:
            return candidate in self.forms
        return bool(self.regex.fullmatch(candidate))


def matcher(text: str) -> Matcher:
    return Matcher(text)
