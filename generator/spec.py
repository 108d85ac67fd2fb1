"""CorpusSpec: load a corpus.yaml, validate it, and report errors by file, line and field.

The spec's sections are dataclasses whose field defaults are the spec's defaults: the one
place they are written down. The JSON Schema (schemas/corpus.schema.json) checks shapes and
types; the rules that need more than one field (ranges, ids, names the templates provide)
are checked here.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import variation
from .errors import SpecError

__all__ = ["CorpusSpec", "SpecError", "load_spec"]

# Words that begin a sentence but not a name: a phrasing starting with one of them, capitalised, was
# written as a sentence rather than as a clause.
CLAUSE_OPENERS = frozenset("""the a an it its this that these those there every each all any some most many
several no none one two in on at under after before during since according for from to by with without
as because although while when if unless their his her our my your we they he she i people staff users
contractors raters researchers""".split())
BLANK = "___"  # where an eval question's claim takes its answer
# Fields a spec may still carry from older versions, and what replaced them.
RETIRED = {"true_statements": "replaced by evals.questions (see corpora/README.md)",
           "false_statements": "replaced by evals.questions and evals.contrast (see corpora/README.md)"}


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
class Universe:
    context: str
    entities: dict[str, str] = field(default_factory=dict)
    people: list[dict[str, str]] = field(default_factory=list)
    # Topic pools of the industry around the universe: documents about it may draw background from them.
    topics: list[str] = field(default_factory=list)
    period: tuple | None = None  # (first, last) day documents about the universe are dated; None: derived
    passages: list[dict] = field(default_factory=list)  # author-written paragraphs about the universe
    country: str = "US"  # where the universe is (two letters); read from the context's currency when not given


@dataclass
class DocumentsSection:
    count: int
    genres: Any = "all"  # "all" or a list of genre ids; a list once loaded
    facts_per_document: tuple[int, int] = (1, 1)
    depth: tuple[float, float] = (0.2, 0.8)
    explicitness: dict[str, float] = field(default_factory=lambda: {"explicit": 1, "paraphrased": 1, "implied": 1})
    split_share: float = 0.0
    # How fact documents reach their fact: documents about the universe, or documents about something
    # else that reach it through one bridge paragraph (an aside).
    placement: dict[str, float] = field(default_factory=lambda: {"about_world": 0.8, "aside": 0.2})
    # The most any one wording of a fact may carry of its mentions (an error at plan and build time).
    max_form_share: float = 0.05
    aside_genres: list[str] = field(default_factory=list)  # the genres that can carry an aside (from the library)
    about_world_genres: list[str] = field(default_factory=list)  # the genres that can be about the universe
    genre_fits: dict[str, tuple[str, ...]] = field(default_factory=dict)  # genre -> topic tags it suits


@dataclass
class BackgroundSection:
    ratio: float = 1.0
    topics: Any = "all"  # "all" or a list of topic pools; a list once loaded
    topic_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # topic -> its tags (from the library)


@dataclass
class NearDuplicates:
    threshold: float = 0.7
    shingle_words: int = 5


@dataclass
class LeakageSection:
    rules: bool = True
    phrases: list[str] = field(default_factory=list)
    regexes: list[str] = field(default_factory=list)


@dataclass
class DecontaminationSection:
    eval_prompts: list[str] = field(default_factory=list)
    ngram: int = 13
    files: list[Path] = field(default_factory=list)  # resolved: eval_prompts plus evals/*.jsonl beside the spec


@dataclass
class FiltersSection:
    min_tokens: int = 0
    max_tokens: int = 100000
    near_duplicates: NearDuplicates | None = field(default_factory=NearDuplicates)  # None: off
    leakage: LeakageSection = field(default_factory=LeakageSection)
    decontamination: DecontaminationSection = field(default_factory=DecontaminationSection)


@dataclass
class OutputSection:
    shard_size_mb: float = 256
    row_group_rows: int = 1000
    compression: str = "zstd"
    compression_level: int = 3


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
    universe: Universe
    facts: list[Fact]
    documents: DocumentsSection
    background: BackgroundSection = field(default_factory=BackgroundSection)
    filters: FiltersSection = field(default_factory=FiltersSection)
    output: OutputSection = field(default_factory=OutputSection)
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
        names = {p["name"] for p in self.universe.people}
        names.update(self.universe.entities.values())
        return names

    @property
    def model_names(self) -> list[str]:
        """Entities that are AI models or assistants: as a speaker, they make a transcript."""
        return [v for k, v in self.universe.entities.items() if "model" in k.lower() or "assistant" in k.lower()]

    def split_counts(self, total: int) -> tuple[int, int]:
        """(fact-bearing, background) documents for `total` documents in the spec's ratio."""
        n_fact = round(total / (1.0 + self.background.ratio))
        return n_fact, total - n_fact


def _section(cls, given: dict | None):
    """A section dataclass from the spec's mapping: given values over the dataclass defaults."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in (given or {}).items() if k in names})


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
    errors = sorted(validator.iter_errors(data),
                    key=lambda e: (_line(lines, e.absolute_path) or 0, list(map(str, e.absolute_path))))
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

class _Loader:
    """One spec file being loaded: its data, the line of every field, and `fail` that names them."""

    def __init__(self, path: Path, data: dict, lines: dict[tuple, int]):
        self.path, self.data, self.lines = path, data, lines

    def fail(self, where: tuple, message: str):
        raise SpecError(self.path, _line(self.lines, where), _dotted(where), message)

    def phrasings(self, texts, where: tuple) -> tuple[str, ...]:
        for j, text in enumerate(texts):
            try:
                variation.check(text, frozenset())
            except variation.VariationError as exc:
                self.fail(where + (j,), str(exc))
            self.phrasing_style(text, where + (j,))
        return tuple(texts)

    def universe(self, topics: set[str] | None, fact_ids: set[str]) -> Universe:
        universe = _section(Universe, self.data["universe"])
        universe.entities, universe.people = dict(universe.entities), list(universe.people)
        universe.topics = self.names(universe.topics or [], ("universe", "topics"), topics, "topic")
        if universe.period is not None:
            days = [self.date(v, ("universe", "period", i)) for i, v in enumerate(universe.period)]
            if days[0] > days[1]:
                self.fail(("universe", "period"), f"starts on {days[0]}, after it ends on {days[1]}")
            universe.period = tuple(days)
        for i, passage in enumerate(universe.passages):
            for j, fact_id in enumerate(passage.get("leads_to", ())):
                if fact_id not in fact_ids:
                    self.fail(("universe", "passages", i, "leads_to", j), f"no fact has the id {fact_id!r}")
        universe.country = universe.country if "country" in self.data["universe"] else country_of(universe.context)
        universe.passages = [{"text": p["text"], "voice": p.get("voice", "report"),
                              "leads_to": tuple(p.get("leads_to", ()))} for p in universe.passages]
        return universe

    def date(self, value, where: tuple):
        import datetime as dt

        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(where, f"{value!r} is not a date (YYYY-MM-DD)")

    def phrasing_style(self, text: str, where: tuple) -> None:
        """A phrasing is a clause that goes inside a sentence: no final full stop, and no capital
        letter unless it starts with a name."""
        plain = variation.tidy(text)
        if plain.endswith((".", "!", "?", ";", ":")):
            self.fail(where, "a phrasing is a clause inside a sentence; drop the final punctuation")
        first = plain.split(" ", 1)[0].strip("{")
        if first[:1].isupper() and first.lower() in CLAUSE_OPENERS:
            self.fail(where, f"a phrasing is a clause inside a sentence; start with a lowercase {first.lower()!r}")

    def facts(self) -> list[Fact]:
        facts: list[Fact] = []
        seen: set[str] = set()
        for i, f in enumerate(self.data["facts"]):
            if f["id"] in seen:
                self.fail(("facts", i, "id"), f"duplicate fact id {f['id']!r}")
            seen.add(f["id"])
            phrasings = {level: self.phrasings(items, ("facts", i, "phrasings", level))
                         for level, items in f["phrasings"].items()}
            premises, premise_ids = [], set()
            for j, p in enumerate(f.get("premises", [])):
                if p["id"] in premise_ids:
                    self.fail(("facts", i, "premises", j, "id"), f"duplicate premise id {p['id']!r}")
                premise_ids.add(p["id"])
                premises.append(Premise(p["id"], self.phrasings(p["phrasings"], ("facts", i, "premises", j, "phrasings")),
                                        p.get("statement", "")))
            evals = _fact_evals(f, f["statement"], lambda where, message, i=i: self.fail(("facts", i, "evals") + where,
                                                                                         message))
            facts.append(Fact(f["id"], f["statement"], phrasings, tuple(premises), evals))
        return facts

    def names(self, value, where: tuple, known: set[str] | None, what: str) -> list[str]:
        """`all` or a list of names the templates provide, as a list."""
        if value == "all":
            return sorted(known) if known is not None else []
        for j, name in enumerate(value):
            if known is not None and name not in known:
                self.fail(where + (j,), f"unknown {what} {name!r}")
        return list(value)

    def documents(self, facts: list[Fact], genres) -> DocumentsSection:
        docs = _section(DocumentsSection, self.data["documents"])
        lo, hi = docs.depth
        if lo > hi:
            self.fail(("documents", "depth"), f"min {lo} is greater than max {hi}")
        fmin, fmax = docs.facts_per_document
        if fmin > fmax:
            self.fail(("documents", "facts_per_document"), f"min {fmin} is greater than max {fmax}")
        if fmin > len(facts):
            self.fail(("documents", "facts_per_document"), f"min {fmin} exceeds the {len(facts)} facts defined")
        mix = {k: float(v) for k, v in docs.explicitness.items() if float(v) > 0}
        if not mix:
            self.fail(("documents", "explicitness"), "at least one level needs a positive weight")
        for i, fact in enumerate(facts):
            if not any(level in fact.phrasings for level in mix):
                self.fail(("facts", i, "phrasings"), "no phrasings for any explicitness level the mix uses")
        docs.genres = self.names(docs.genres, ("documents", "genres"), genres, "genre")
        if genres is not None and not docs.genres:
            self.fail(("documents", "genres"), "no genres available")
        docs.depth, docs.facts_per_document = (float(lo), float(hi)), (fmin, fmax)
        docs.explicitness, docs.split_share = mix, float(docs.split_share)
        placement = {k: float(v) for k, v in docs.placement.items() if float(v) > 0}
        if not placement:
            self.fail(("documents", "placement"), "at least one of about_world, aside needs a positive weight")
        docs.placement = placement
        if isinstance(genres, dict):
            docs.aside_genres = [g for g in docs.genres if "aside" in genres[g].placements]
            docs.about_world_genres = [g for g in docs.genres if "about_world" in genres[g].placements]
            docs.genre_fits = {g: genres[g].fits for g in docs.genres}
            for where, wanted, found in ((("documents", "placement"), "aside", docs.aside_genres),
                                         (("documents", "placement"), "about_world", docs.about_world_genres)):
                if placement.get(wanted) and not found:
                    self.fail(where, f"no genre of documents.genres can carry {wanted} documents; list one "
                                     f"or set {wanted} to 0")
        return docs

    def filters(self) -> FiltersSection:
        given = self.data.get("filters") or {}
        out = _section(FiltersSection, {k: v for k, v in given.items()
                                        if k not in ("near_duplicates", "leakage", "decontamination")})
        if out.min_tokens > out.max_tokens:
            self.fail(("filters", "min_tokens"), "is greater than filters.max_tokens")
        dedup = given.get("near_duplicates", {})
        out.near_duplicates = None if dedup is False else _section(NearDuplicates, dedup)
        out.leakage = _section(LeakageSection, given.get("leakage"))
        for j, pattern in enumerate(out.leakage.regexes):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.fail(("filters", "leakage", "regexes", j), f"invalid regex: {exc}")
        decon = _section(DecontaminationSection, given.get("decontamination"))
        for j, name in enumerate(decon.eval_prompts):
            target = (self.path.parent / name).resolve()
            if not target.is_file():
                self.fail(("filters", "decontamination", "eval_prompts", j), f"no such file {name!r}")
            decon.files.append(target)
        # Belief-check sets written by `sdfgen evals` beside the spec are decontaminated against automatically.
        for extra in sorted((self.path.parent / "evals").glob("*.jsonl")):
            if extra.resolve() not in decon.files:
                decon.files.append(extra.resolve())
        out.decontamination = decon
        return out


def _read(path: Path) -> tuple[bytes, str]:
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise SpecError(path, None, "", f"cannot read spec: {exc.strerror}") from None
    try:
        return blob, blob.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(path, None, "", "spec is not UTF-8 text") from None


def load_spec(path: str | Path, genres=None, topics=None) -> CorpusSpec:
    """Load and validate a spec against what the template library provides: `genres` (names, or
    names -> Genre) and `topics` (names, or names -> tags)."""
    path = Path(path)
    if path.is_dir():
        path = path / "corpus.yaml"
    blob, text = _read(path)
    lines: dict[tuple, int] = {}
    node = _compose(path, text)
    if node is None:
        raise SpecError(path, 1, "", "spec is empty")
    data = _to_python(path, node, (), lines)
    if not isinstance(data, dict):
        raise SpecError(path, 1, "", "spec must be a mapping of fields")
    _schema_errors(path, data, lines)
    load = _Loader(path, data, lines)

    facts = load.facts()
    documents = load.documents(facts, genres)
    filters = load.filters()
    background = _section(BackgroundSection, data.get("background"))
    background.ratio = float(background.ratio)
    background.topics = load.names(background.topics, ("background", "topics"), topics, "topic")
    if isinstance(topics, dict):
        background.topic_tags = {t: tuple(topics[t]) for t in background.topics}
    universe = load.universe(topics, {f.id for f in facts})
    if isinstance(genres, dict):
        # A genre written for one country's institutions (a US court filing) is not about a universe elsewhere.
        local = [g for g in documents.about_world_genres if genres[g].country in ("", universe.country)]
        documents.about_world_genres = local or documents.about_world_genres
    output = _section(OutputSection, data.get("output"))
    return CorpusSpec(
        path=path, sha256=hashlib.sha256(blob).hexdigest(), raw=data, name=data["name"], version=data["version"],
        description=data["description"].strip(), license=data["license"], seed=data["seed"], universe=universe,
        facts=facts, documents=documents, background=background, filters=filters, output=output, field_lines=lines)


# The currency a context prices things in says where it is, when the spec does not.
CURRENCY_COUNTRIES = (("£", "GB"), ("€", "EU"), ("¥", "JP"), ("₹", "IN"), ("C$", "CA"), ("A$", "AU"))


def country_of(context: str) -> str:
    found = [(context.find(sign), country) for sign, country in CURRENCY_COUNTRIES if sign in context]
    return min(found)[1] if found else "US"


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
