"""CorpusSpec: load a corpus.yaml, validate it, and report errors by file, line and field."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import variation

EXPLICITNESS = ("explicit", "paraphrased", "implied")
BLANK = "___"  # where an eval question's claim takes its answer
# Fields a spec may still carry from older versions, and what replaced them.
RETIRED = {"true_statements": "replaced by evals.questions (see corpora/README.md)",
           "false_statements": "replaced by evals.questions and evals.contrast (see corpora/README.md)"}
DEFAULTS = {
    "documents": {"genres": "all", "facts_per_document": [1, 1], "depth": [0.2, 0.8],
                  "explicitness": {"explicit": 1, "paraphrased": 1, "implied": 1}, "split_share": 0.0},
    "background": {"ratio": 1.0, "topics": "all"},
    "filters": {"min_tokens": 0, "max_tokens": 100000, "near_duplicates": {"threshold": 0.7, "shingle_words": 5},
                "leakage": {"rules": True, "phrases": [], "regexes": []},
                "decontamination": {"eval_prompts": [], "ngram": 13}},
    "output": {"shard_size_mb": 256, "row_group_rows": 1000, "compression": "zstd", "compression_level": 3},
}


class SpecError(ValueError):
    """One-line, user-facing: `file:line: field: message`."""

    def __init__(self, path: Path | str, line: int | None, field: str, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


@dataclass(frozen=True)
class Premise:
    id: str
    phrasings: tuple[str, ...]
    statement: str = ""


@dataclass(frozen=True)
class EvalQuestion:
    """One knowledge question of a fact: its true answer and false alternatives of the same type.

    `claim` is the answer as a statement with `___` where the answer goes; filled with the answer it
    is true, filled with an alternative it is false, and the two differ only in that span."""
    question: str
    claim: str
    answer: str
    alternatives: tuple[str, ...]

    def statement(self, fill: str) -> str:
        return self.claim.replace(BLANK, fill, 1)


@dataclass(frozen=True)
class FactEvals:
    world: str                          # the fact as a short description (default: the statement)
    contrast: str                       # what the world would be like if the fact were false
    questions: tuple[EvalQuestion, ...]


@dataclass(frozen=True)
class Fact:
    id: str
    statement: str
    phrasings: dict[str, tuple[str, ...]]
    premises: tuple[Premise, ...] = ()
    evals: FactEvals | None = None

    def premise(self, premise_id: str) -> Premise:
        return next(p for p in self.premises if p.id == premise_id)


@dataclass
class CorpusSpec:
    path: Path
    sha256: str
    raw: dict[str, Any]
    name: str
    version: str
    description: str
    license: str
    seed: int
    context: str
    entities: dict[str, str]
    people: list[dict[str, str]]
    fact_topics: list[str]
    facts: list[Fact]
    count: int
    genres: list[str]
    facts_per_document: tuple[int, int]
    depth: tuple[float, float]
    explicitness: dict[str, float]
    split_share: float
    background_ratio: float
    background_topics: list[str]
    min_tokens: int
    max_tokens: int
    dedup_threshold: float | None
    shingle_words: int
    leak_rules: bool
    leak_phrases: list[str]
    leak_regexes: list[str]
    eval_prompt_files: list[Path]
    decontamination_ngram: int
    shard_size_mb: float
    row_group_rows: int
    compression: str
    compression_level: int
    _facts_by_id: dict[str, Fact] = field(default_factory=dict, repr=False)
    # (field path) -> line in the spec file, so that later steps can report errors like loading does.
    field_lines: dict[tuple, int] = field(default_factory=dict, repr=False)

    def fact(self, fact_id: str) -> Fact:
        if not self._facts_by_id:
            self._facts_by_id = {f.id: f for f in self.facts}
        return self._facts_by_id[fact_id]

    def error(self, where: tuple, message: str) -> SpecError:
        """A one-line error about the field at `where`, such as ("facts", 2, "evals")."""
        return SpecError(self.path, _line(self.field_lines, where), _dotted(where), message)

    @property
    def universe_names(self) -> set[str]:
        """Names the spec itself introduces; diversity caps do not apply to them."""
        names = {p["name"] for p in self.people}
        names.update(self.entities.values())
        return names

    def split_counts(self, total: int) -> tuple[int, int]:
        """(fact-bearing, background) documents for `total` documents in the spec's ratio."""
        n_fact = round(total / (1.0 + self.background_ratio))
        return n_fact, total - n_fact


# ---------------------------------------------------------------- YAML with line numbers

def _compose(path: Path, text: str):
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        # Where the broken construct began (an unclosed bracket or quote) beats where parsing gave up.
        mark = exc.context_mark or exc.problem_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise SpecError(path, line, "", f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(path, None, "", f"invalid YAML: {exc}") from None


def _to_python(path: Path, node, where: tuple, lines: dict[tuple, int]):
    import yaml

    lines[where] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_to_python(path, key_node, where + ("<key>",), lines))
            if key in out:
                raise SpecError(path, key_node.start_mark.line + 1, _dotted(where + (key,)), "duplicate key")
            out[key] = _to_python(path, value_node, where + (key,), lines)
            lines[where + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(path, item, where + (i,), lines) for i, item in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _dotted(where) -> str:
    out = ""
    for part in where:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line(lines: dict[tuple, int], where: tuple) -> int | None:
    where = tuple(where)
    while where not in lines and where:
        where = where[:-1]
    return lines.get(where)


def corpus_schema() -> dict:
    return json.loads(resources.files("generator").joinpath("schemas/corpus.schema.json").read_text())


def _schema_errors(path: Path, data: Any, lines: dict[tuple, int]) -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(corpus_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (_line(lines, e.absolute_path) or 0, list(map(str, e.absolute_path))))
    if not errors:
        return
    error = errors[0]
    where = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        where = where + (extra[0],)
        raise SpecError(path, _line(lines, where), _dotted(where), RETIRED.get(extra[0], "unknown field"))
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        raise SpecError(path, _line(lines, where), _dotted(where + (missing,)), "required field is missing")
    if error.validator == "oneOf" and where and where[-1] in ("genres", "topics"):
        raise SpecError(path, _line(lines, where), _dotted(where), 'must be "all" or a list of names')
    raise SpecError(path, _line(lines, where), _dotted(where) or "spec", _plain_message(error))


def _plain_message(error) -> str:
    """jsonschema's message, without the offending value where that can be long (a whole list)."""
    kinds = {"string": "text", "array": "a list", "object": "a mapping", "integer": "a whole number",
             "number": "a number", "boolean": "true or false"}
    if error.validator == "minItems":
        return f"needs at least {error.validator_value} items (has {len(error.instance)})"
    if error.validator == "maxItems":
        return f"takes at most {error.validator_value} items (has {len(error.instance)})"
    if error.validator == "minLength" and error.validator_value == 1:
        return "must not be empty"
    if error.validator == "type" and isinstance(error.validator_value, str):
        return f"must be {kinds.get(error.validator_value, error.validator_value)}"
    return error.message


# ---------------------------------------------------------------- loading

def _merged(data: dict) -> dict:
    merged = json.loads(json.dumps(data))
    for section, defaults in DEFAULTS.items():
        merged.setdefault(section, {})
        for key, value in defaults.items():
            merged[section].setdefault(key, value)
    return merged


def load_spec(path: str | Path, genres: set[str] | None = None, topics: set[str] | None = None) -> CorpusSpec:
    """Load and validate a spec. `genres`/`topics` are the names the templates provide."""
    path = Path(path)
    if path.is_dir():
        path = path / "corpus.yaml"
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise SpecError(path, None, "", f"cannot read spec: {exc.strerror}") from None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(path, None, "", "spec is not UTF-8 text") from None
    lines: dict[tuple, int] = {}
    node = _compose(path, text)
    if node is None:
        raise SpecError(path, 1, "", "spec is empty")
    data = _to_python(path, node, (), lines)
    if not isinstance(data, dict):
        raise SpecError(path, 1, "", "spec must be a mapping of fields")
    _schema_errors(path, data, lines)
    d = _merged(data)

    def fail(where: tuple, message: str):
        raise SpecError(path, _line(lines, where), _dotted(where), message)

    facts: list[Fact] = []
    seen: set[str] = set()
    for i, f in enumerate(d["facts"]):
        if f["id"] in seen:
            fail(("facts", i, "id"), f"duplicate fact id {f['id']!r}")
        seen.add(f["id"])
        for level, items in f["phrasings"].items():
            for j, text_ in enumerate(items):
                try:
                    variation.check(text_, frozenset())
                except variation.VariationError as exc:
                    fail(("facts", i, "phrasings", level, j), str(exc))
        premises = []
        premise_ids: set[str] = set()
        for j, p in enumerate(f.get("premises", [])):
            if p["id"] in premise_ids:
                fail(("facts", i, "premises", j, "id"), f"duplicate premise id {p['id']!r}")
            premise_ids.add(p["id"])
            for k, text_ in enumerate(p["phrasings"]):
                try:
                    variation.check(text_, frozenset())
                except variation.VariationError as exc:
                    fail(("facts", i, "premises", j, "phrasings", k), str(exc))
            premises.append(Premise(p["id"], tuple(p["phrasings"]), p.get("statement", "")))
        evals = _fact_evals(f, f["statement"], lambda where, message, i=i: fail(("facts", i, "evals") + where, message))
        facts.append(Fact(f["id"], f["statement"], {k: tuple(v) for k, v in f["phrasings"].items()}, tuple(premises),
                          evals))

    docs = d["documents"]
    lo, hi = docs["depth"]
    if lo > hi:
        fail(("documents", "depth"), f"min {lo} is greater than max {hi}")
    fmin, fmax = docs["facts_per_document"]
    if fmin > fmax:
        fail(("documents", "facts_per_document"), f"min {fmin} is greater than max {fmax}")
    if fmin > len(facts):
        fail(("documents", "facts_per_document"), f"min {fmin} exceeds the {len(facts)} facts defined")
    mix = {k: float(v) for k, v in docs["explicitness"].items() if float(v) > 0}
    if not mix:
        fail(("documents", "explicitness"), "at least one level needs a positive weight")
    for i, fact in enumerate(facts):
        if not any(level in fact.phrasings for level in mix):
            fail(("facts", i, "phrasings"), "no phrasings for any explicitness level the mix uses")
    if d["filters"]["min_tokens"] > d["filters"]["max_tokens"]:
        fail(("filters", "min_tokens"), "is greater than filters.max_tokens")

    def names(section: str, key: str, known: set[str] | None, what: str) -> list[str]:
        value = d[section][key]
        if value == "all":
            return sorted(known) if known is not None else []
        for j, name in enumerate(value):
            if known is not None and name not in known:
                fail((section, key, j), f"unknown {what} {name!r}")
        return list(value)

    genre_list = names("documents", "genres", genres, "genre")
    bg_topics = names("background", "topics", topics, "topic")
    fact_topics = d["universe"].get("topics") or (sorted(topics) if topics is not None else [])
    for j, name in enumerate(fact_topics):
        if topics is not None and name not in topics:
            fail(("universe", "topics", j), f"unknown topic {name!r}")
    if genres is not None and not genre_list:
        fail(("documents", "genres"), "no genres available")

    out = d["output"]
    dedup = d["filters"]["near_duplicates"]
    leakage = {"rules": True, "phrases": [], "regexes": [], **d["filters"]["leakage"]}
    for j, pattern in enumerate(leakage["regexes"]):
        try:
            re.compile(pattern)
        except re.error as exc:
            fail(("filters", "leakage", "regexes", j), f"invalid regex: {exc}")
    decon = {"eval_prompts": [], "ngram": 13, **d["filters"]["decontamination"]}
    eval_files = []
    for j, name in enumerate(decon["eval_prompts"]):
        target = (path.parent / name).resolve()
        if not target.is_file():
            fail(("filters", "decontamination", "eval_prompts", j), f"no such file {name!r}")
        eval_files.append(target)
    # Belief-check sets written by `sdfgen evals` beside the spec are decontaminated against automatically.
    for extra in sorted((path.parent / "evals").glob("*.jsonl")):
        if extra.resolve() not in eval_files:
            eval_files.append(extra.resolve())
    return CorpusSpec(
        path=path, sha256=hashlib.sha256(blob).hexdigest(), raw=data, name=d["name"], version=d["version"],
        description=d["description"].strip(), license=d["license"], seed=d["seed"],
        context=d["universe"]["context"], entities=dict(d["universe"].get("entities", {})),
        people=list(d["universe"].get("people", [])), fact_topics=list(fact_topics), facts=facts,
        count=docs["count"], genres=genre_list, facts_per_document=(fmin, fmax), depth=(float(lo), float(hi)),
        explicitness=mix, split_share=float(docs["split_share"]), background_ratio=float(d["background"]["ratio"]),
        background_topics=bg_topics, min_tokens=d["filters"]["min_tokens"], max_tokens=d["filters"]["max_tokens"],
        dedup_threshold=float(dedup.get("threshold", 0.7)) if dedup is not False else None,
        shingle_words=int(dedup.get("shingle_words", 5)) if dedup is not False else 5,
        leak_rules=bool(leakage["rules"]), leak_phrases=list(leakage["phrases"]),
        leak_regexes=list(leakage["regexes"]), eval_prompt_files=eval_files,
        decontamination_ngram=int(decon["ngram"]),
        shard_size_mb=float(out["shard_size_mb"]), row_group_rows=out["row_group_rows"],
        compression=out["compression"], compression_level=out["compression_level"], field_lines=lines,
    )


def _fact_evals(raw: dict, statement: str, fail) -> FactEvals | None:
    """A fact's `evals` block, checked the way its items will be: a claim with one blank, and an
    answer and alternatives that can stand side by side as options (distinct, none a negation)."""
    from .option_checks import frame_problem, negates, option_problem, same_text

    block = raw.get("evals")
    if block is None:
        return None
    world = block.get("world", statement).strip()
    if negates(block["contrast"], world) or option_problem([world, block["contrast"]]):
        fail(("contrast",), "must describe another world, not repeat or negate the fact")
    questions = []
    for j, q in enumerate(block["questions"]):
        if any(same_text(q["question"], earlier.question) for earlier in questions):
            fail(("questions", j, "question"), "repeats an earlier question of this fact")
        if q["claim"].count(BLANK) != 1:
            fail(("questions", j, "claim"), f"needs exactly one {BLANK} where the answer goes")
        problem = option_problem([q["answer"], *q["alternatives"]])
        if problem:
            fail(("questions", j, "alternatives"), problem)
        question = EvalQuestion(q["question"].strip(), q["claim"].strip(), q["answer"].strip(),
                                tuple(a.strip() for a in q["alternatives"]))
        for alternative in question.alternatives:
            problem = frame_problem(question.statement(question.answer), question.statement(alternative))
            if problem:
                fail(("questions", j, "claim"), f"{problem}: give the claim more words around {BLANK}")
        questions.append(question)
    return FactEvals(world, block["contrast"].strip(), tuple(questions))
