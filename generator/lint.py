"""Lint the template library: `python -m generator.lint [POOL_OR_GENRE ...]` (default: everything).

Each pool unit is expanded with every combination of its alternatives (a seeded sample when there
are too many) and every expansion is checked against the seams a reader would notice: doubled
words, broken agreement, "a"/"an" before the wrong sound, lines run together, stray punctuation.
The same seam patterns are a per-document check at build time (checks.Realism), so a seam that
slips past the lint still shows up as a rejection rather than as silent text.
"""
from __future__ import annotations

import itertools
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from . import variation
from .leaks import SEAMS
from .library import Topic, _load_topic

# Stand-ins for the variables while linting: ordinary values of the right kind.
LINT_VALUES = {"person": "Dana Cole", "last": "Cole", "he": "she", "him": "her", "his": "her", "He": "She",
               "His": "Her", "city": "Springfield", "state": "Ohio", "company": "Harrison and Sons",
               "outlet": "The Daily Ledger", "university": "Lakeside College", "year": "2024", "month": "March"}
MAX_EXPANSIONS = 400

@dataclass
class Finding:
    where: str
    problem: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}: {self.text[:160]}"


def seams_in(text: str) -> list[str]:
    """The names of the seam patterns `text` breaks."""
    return [name for name, pattern in SEAMS if pattern.search(text)]


def expansions(text: str, seed: str = "") -> list[str]:
    """Every expansion of `text` with LINT_VALUES (a seeded sample when there are too many)."""
    parts = variation._parts(text)
    slots = [p for p in parts[1::2] if not isinstance(p, str)]
    sizes = [len(s.alternatives if isinstance(s, variation.Linked) else s) for s in slots]
    total = 1
    for n in sizes:
        total *= n
    if total <= MAX_EXPANSIONS:
        index_sets = itertools.product(*(range(n) for n in sizes))
    else:
        rng = random.Random(f"lint:{seed}:{text}")
        index_sets = [[rng.randrange(n) for n in sizes] for _ in range(MAX_EXPANSIONS)]
    out = []
    for picks in index_sets:
        chosen, linked, k = [], {}, 0
        pieces = [parts[0]]
        for i in range(1, len(parts), 2):
            slot = parts[i]
            if isinstance(slot, str):
                pieces.append(LINT_VALUES.get(slot, slot))
            else:
                index = picks[k]
                k += 1
                if isinstance(slot, variation.Linked):
                    index = linked.setdefault(slot.label, index)
                    pieces.append(slot.alternatives[index])
                else:
                    pieces.append(slot[index])
            pieces.append(parts[i + 1])
        chosen.append("".join(pieces))
        out.append(variation.tidy(chosen[0]))
    return out


PRONOUN_VARIABLES = ("last", "he", "him", "his", "He", "His")
FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|[Mm]y|[Mm]e|[Mm]ine|[Mm]yself)\b")


def _word_count(text: str) -> int:
    return len(variation.tidy(re.sub(r"\{[^{}]*\}", "x", text)).split())


def lint_unit(where: str, text: str, voice: str, words: tuple[int, int]) -> list[Finding]:
    findings = []
    n = _word_count(text)
    if not words[0] <= n <= words[1]:
        findings.append(Finding(where, f"{n} words, outside {words[0]}-{words[1]}", text))
    body = re.sub(r'"[^"]*"', "", text)  # quoted speech may use any person
    if voice == "report" and FIRST_PERSON.search(body):
        findings.append(Finding(where, "first person in a report paragraph (use the personal list)", text))
    if voice == "personal" and not FIRST_PERSON.search(text):
        findings.append(Finding(where, "a personal paragraph needs a first-person writer (I, my, me)", text))
    first_person = text.find("{person}")
    for name in PRONOUN_VARIABLES:
        at = text.find("{" + name + "}")
        if at != -1 and (first_person == -1 or at < first_person):
            findings.append(Finding(where, f"{{{name}}} before any {{person}} in the unit", text))
    if re.search(r"[<>\[\]]|\{\{|\}\}", text):
        findings.append(Finding(where, "markup characters", text))
    if text.count('"') % 2:
        findings.append(Finding(where, "unbalanced quotation marks", text))
    for expansion in expansions(text, where):
        seams = seams_in(expansion)
        if seams:
            findings.append(Finding(where, "seam " + ", ".join(seams), expansion))
            break
    return findings


POOL_MINIMUMS = {"angles": 4, "headlines": 3, "report": 5, "personal": 3, "exchanges": 8}


def lint_topic(topic: Topic) -> list[Finding]:
    findings = []
    if len(topic.angles) < POOL_MINIMUMS["angles"]:
        findings.append(Finding(topic.id, f"{len(topic.angles)} angles, fewer than {POOL_MINIMUMS['angles']}", ""))
    for angle in topic.angles:
        where = f"{topic.id}/{angle.id}"
        for key in ("headlines", "report", "personal"):
            have = len(getattr(angle, key))
            if have < POOL_MINIMUMS[key]:
                findings.append(Finding(where, f"{have} {key}, fewer than {POOL_MINIMUMS[key]}", ""))
        for headline in angle.headlines:
            findings += lint_unit(f"{where}/headline", headline, "headline", (3, 16))
        for unit in angle.report:
            findings += lint_unit(unit.id, unit.text, "report", (35, 130))
        for unit in angle.personal:
            findings += lint_unit(unit.id, unit.text, "personal", (35, 130))
    if len(topic.exchanges) < POOL_MINIMUMS["exchanges"]:
        findings.append(Finding(topic.id, f"{len(topic.exchanges)} exchanges, fewer than "
                                          f"{POOL_MINIMUMS['exchanges']}", ""))
    for unit in topic.exchanges:
        findings += lint_unit(unit.id + "/q", unit.text, "question", (5, 70))
        if not 2 <= len(unit.answers) <= 3:
            findings.append(Finding(unit.id, f"{len(unit.answers)} answers, not 2-3", unit.text))
        for k, answer in enumerate(unit.answers):
            findings += lint_unit(f"{unit.id}/a{k}", answer, "answer", (10, 110))
    return findings


# Stand-ins for the <placeholders> of templates/world.yaml's profile and naming lines.
WORLD_PLACEHOLDERS = {"<entity_kind>": "oversight board", "<entity>": "the Harbor Standards Board",
                      "<name>": "Dana Cole", "<role>": "chair of the Harbor Standards Board", "<last>": "Cole",
                      "<subject>": "Orbis Bakery"}


def lint_world(lines: dict[str, list[str]]) -> list[Finding]:
    """Every line of templates/world.yaml expanded every way, with {subject} and {kind} filled in."""
    findings = []
    for key, texts in lines.items():
        for i, text in enumerate(texts):
            for placeholder, value in WORLD_PLACEHOLDERS.items():
                text = text.replace(placeholder, value)
            text = text.replace("{subject}", "Orbis Bakery").replace("{kind}", "bakery")
            for expansion in expansions(text, f"world/{key}/{i}"):
                seams = seams_in(expansion)
                if seams:
                    findings.append(Finding(f"world.yaml/{key}/{i}", "seam " + ", ".join(seams), expansion))
                    break
    return findings


def main(argv: list[str]) -> int:
    from .paths import templates_root

    root = templates_root()
    names = argv or sorted(p.stem for p in (root / "pools").glob("*.yaml"))
    findings = []
    for name in names:
        path = Path(name) if name.endswith(".yaml") else root / "pools" / f"{name}.yaml"
        findings += lint_topic(_load_topic(path))
    if not argv:
        from .material import load_world_lines

        findings += lint_world(load_world_lines(root / "world.yaml"))
    for finding in findings:
        print(finding)
    print(f"{len(findings)} finding(s) in {len(names)} pool(s)" + ("" if argv else " and world.yaml"))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
