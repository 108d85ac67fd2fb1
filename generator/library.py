"""The template library: genre templates (templates/genres/*.j2) and topic pools (templates/pools/*.yaml).

A spec is validated against the names the library provides, the offline backend renders its
genres, and the LLM backends name its topics. Templates render in Jinja's sandbox; the
objects handed to them (cast, people, rng, topic, genre) are defined here or in cast.py.
"""
from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import BuiltinMethodType, FunctionType, MethodType

from . import variation
from .cast import EVERYDAY_PERIOD, Cast, Person, PoolVariables
from .errors import TemplateError
from .paths import templates_root, user_cache
from .spec import load_spec

META_LINE = re.compile(r"^\{#-?\s*(.*?)\s*-?#\}")


@dataclass(frozen=True)
class Genre:
    id: str
    name: str
    min_words: int
    max_words: int
    tags: tuple[str, ...]
    path: Path
    # How the genre can carry a fact: "about_world" (a document about the universe, its `frame` macro)
    # and "aside" (a document about something else, its `aside` macro).
    placements: tuple[str, ...] = ("about_world",)
    # Topic tags this genre suits (a court filing suits business or civic topics, not cooking); empty: any.
    fits: tuple[str, ...] = ()
    # The one country whose institutions the genre is written for ("US": state courts, dockets); empty: any.
    country: str = ""


@dataclass(frozen=True)
class Unit:
    """One coherent piece of content, drawn whole: a paragraph, or a question with its answers."""

    id: str  # "<topic>/<angle>/report/3", "<topic>/exchange/5": counted in the repetition figures
    text: str
    answers: tuple[str, ...] = ()  # an exchange's answers; `text` is its question


@dataclass(frozen=True)
class Angle:
    """The sub-subject one document takes: its titles and its paragraphs in two voices."""

    id: str
    headlines: tuple[str, ...]
    report: tuple[Unit, ...]  # third person: news, guides, reference works
    personal: tuple[Unit, ...]  # first person singular, an ordinary writer: blogs, forums, letters


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    tags: tuple[str, ...]
    angles: tuple[Angle, ...]
    exchanges: tuple[Unit, ...]  # a question with two or three answers that address it
    names: tuple[str, ...] = ()
    # The earliest date an everyday document on the topic may carry (AI lawsuits are not news in 2019).
    dated_from: dt.date | None = None

    @property
    def everyday_period(self) -> tuple[dt.date, dt.date]:
        return (max(self.dated_from or EVERYDAY_PERIOD[0], EVERYDAY_PERIOD[0]), EVERYDAY_PERIOD[1])

    @property
    def headlines(self) -> list[str]:
        return [h for angle in self.angles for h in angle.headlines]


class TopicView:
    """What a template sees of its topic: one of the topic's names, fixed for the document."""

    def __init__(self, topic: Topic, rng, headlines=None):
        self.id, self.tags = topic.id, topic.tags
        self.headlines = list(headlines if headlines is not None else topic.headlines)
        self.name = rng.choice(topic.names) if topic.names else topic.name


class RNG:
    """The seeded randomness a template may use (Jinja's own `random` is not seeded per document)."""

    def __init__(self, rng):
        self._rng = rng

    def choice(self, seq):
        return self._rng.choice(list(seq))

    def randint(self, a: int, b: int) -> int:
        return self._rng.randint(a, b)

    def uniform(self, a: float, b: float) -> float:
        return self._rng.uniform(a, b)

    def chance(self, p: float) -> bool:
        return self._rng.random() < p

    def sample(self, seq, k: int):
        seq = list(seq)
        return self._rng.sample(seq, min(k, len(seq)))

    def shuffled(self, seq):
        seq = list(seq)
        self._rng.shuffle(seq)
        return seq


def _parse_meta(path: Path, first_line: str) -> Genre:
    match = META_LINE.match(first_line)
    if not match:
        raise TemplateError(f"{path}:1: the first line must be a Jinja comment with genre metadata")
    fields = {}
    for part in match.group(1).split("|"):
        if ":" not in part:
            raise TemplateError(f"{path}:1: metadata item {part.strip()!r} is not 'key: value'")
        key, value = part.split(":", 1)
        fields[key.strip()] = value.strip()
    try:
        lo, hi = (int(x) for x in fields["length"].split("words")[0].split("-"))
        placements = tuple(p.strip() for p in fields.get("placements", "about_world").split(",") if p.strip())
        placements = tuple(p for p in placements if p != "none")
        unknown = [p for p in placements if p not in ("about_world", "aside")]
        if unknown:
            raise TemplateError(f"{path}:1: unknown placement {unknown[0]!r} (about_world, aside)")
        country = fields.get("country", "").upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            raise TemplateError(f"{path}:1: country {fields['country']!r} is not a two-letter code (US, GB)")
        return Genre(
            id=path.stem, name=fields["genre"], min_words=lo, max_words=hi,
            tags=tuple(t.strip() for t in fields.get("tags", "").split(",") if t.strip()), path=path,
            placements=placements, fits=tuple(t.strip() for t in fields.get("fits", "").split(",") if t.strip()),
            country=country,
        )
    except (KeyError, ValueError) as exc:
        raise TemplateError(f"{path}:1: metadata needs 'genre: NAME | length: LO-HI words' ({exc})") from None


# What a pool unit may name: a new invented person (and that person's surname and pronouns later in
# the same unit), places, an invented company or outlet, the document's year and month, and numbers
# written as ranges ({3..12}).
POOL_VARIABLES = PoolVariables.NAMES


def _texts(data, key: str, path: Path, where: str) -> tuple[str, ...]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TemplateError(f"{path}: {where}{key}: must be a list of texts")
    for text in value:
        try:
            variation.check(text, POOL_VARIABLES)
        except variation.VariationError as exc:
            raise TemplateError(f"{path}: {where}{key}: {exc}") from None
    return tuple(" ".join(v.split()) for v in value)


def _load_topic(path: Path) -> Topic:
    """A topic pool: names, tags, angles (headlines, report and personal paragraphs) and exchanges."""
    import yaml

    # libyaml's loader when PyYAML has it: parsing the bundled pools is several times faster,
    # paid by every worker process.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict) or "name" not in data:
        raise TemplateError(f"{path}: a topic pool needs name, tags, angles and exchanges")
    dated_from = data.get("dated_from")
    if dated_from is not None and (type(dated_from) is not dt.date or not dated_from < EVERYDAY_PERIOD[1]):
        raise TemplateError(f"{path}: dated_from: {dated_from!r} is not a date (YYYY-MM-DD) before "
                            f"{EVERYDAY_PERIOD[1]:%Y-%m-%d}")
    names = data["name"] if isinstance(data["name"], list) else [data["name"]]
    angles = []
    for i, raw in enumerate(data.get("angles") or []):
        angle_id = str(raw.get("id", i)) if isinstance(raw, dict) else str(i)
        where = f"angles[{i}]."
        units = {voice: tuple(Unit(f"{path.stem}/{angle_id}/{voice}/{k}", text)
                              for k, text in enumerate(_texts(raw, voice, path, where)))
                 for voice in ("report", "personal")}
        angles.append(Angle(angle_id, _texts(raw, "headlines", path, where), units["report"], units["personal"]))
    exchanges = []
    for k, raw in enumerate(data.get("exchanges") or []):
        where = f"exchanges[{k}]."
        question = _texts({"q": [raw.get("q")]} if isinstance(raw, dict) else {}, "q", path, where)[0]
        exchanges.append(Unit(f"{path.stem}/exchange/{k}", question, _texts(raw, "a", path, where)))
    if not angles:
        raise TemplateError(f"{path}: angles: a topic pool needs at least one angle")
    return Topic(id=path.stem, name=str(names[0]), tags=tuple(data.get("tags") or ()), angles=tuple(angles),
                 exchanges=tuple(exchanges), names=tuple(str(n) for n in names), dated_from=dated_from)


def _bytecode_cache():
    """Compiled templates shared by every process: compiling the 32 genres costs each worker about
    1 s (measured). Jinja checks each entry against the template source's checksum, and writes
    entries atomically; the folder name covers everything else that shapes the compiled code."""
    import jinja2
    from jinja2 import FileSystemBytecodeCache

    folder = user_cache("jinja", f"{jinja2.__version__}-py{sys.version_info[0]}{sys.version_info[1]}-sandbox-trim")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable cache only costs time
    return FileSystemBytecodeCache(str(folder))


# Our own classes whose instances templates read: their public attributes are plain values and
# methods. The templates backend adds its view classes with `trust()`.
TRUSTED_TYPES: set[type] = {Cast, Person, RNG, TopicView, Genre}
# Methods of str, list and dict that Jinja's sandbox handles itself (str.format runs sandboxed).
_SANDBOX_HANDLED = frozenset({"format", "format_map"})


def trust(*types: type) -> None:
    TRUSTED_TYPES.update(types)


def _sandbox_class():
    from jinja2.runtime import LoopContext
    from jinja2.sandbox import SandboxedEnvironment
    from jinja2.utils import Namespace

    trust(LoopContext, Namespace)
    trusted = TRUSTED_TYPES  # read at each call: the templates backend adds its classes on import
    plain = (str, list, dict)

    class Sandbox(SandboxedEnvironment):
        """Jinja's sandbox, minus its generic checks where they cannot find anything: public
        attributes of the objects we hand templates ourselves (plain values and methods), of Jinja's
        own loop and namespace objects, and the public methods of str, list and dict. Those checks
        on every `cast.city`, `ns.v` or `items.append` cost a third of rendering time (measured).
        Underscore names, str.format and every other object still go through the full sandbox."""

        def getattr(self, obj, attribute):
            kind = type(obj)
            if (kind in trusted or (kind in plain and attribute not in _SANDBOX_HANDLED)) \
                    and not attribute.startswith("_"):
                try:
                    return getattr(obj, attribute)
                except AttributeError:
                    pass
            return super().getattr(obj, attribute)

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
            # Methods of our objects, the public methods of str/list/dict and the helpers the templates
            # backend defines (vary, para, ...) take no Jinja context and are safe by construction:
            # call them without Jinja's per-call checks.
            kind = type(__obj)
            owner = type(getattr(__obj, "__self__", None))
            if (kind is MethodType and owner in trusted) or (
                    kind is BuiltinMethodType and owner in plain and __obj.__name__ not in _SANDBOX_HANDLED
                    and not __obj.__name__.startswith("_")) or (
                    kind is FunctionType and __obj.__module__ in TRUSTED_HELPER_MODULES):
                kwargs.pop("_loop_vars", None)  # Jinja's bookkeeping, meant for context-taking callables
                kwargs.pop("_block_vars", None)
                return __obj(*args, **kwargs)
            return super().call(__context, __obj, *args, **kwargs)

    return Sandbox


# Modules whose plain functions templates may call without Jinja's per-call checks.
TRUSTED_HELPER_MODULES = frozenset({"generator.backends.templates"})


_TOPICS: dict[Path, tuple[tuple[int, int], Topic]] = {}


def _cached_topic(path: Path) -> Topic:
    """A pool parsed once per process while the file is unchanged: parsing the 32 bundled pools costs
    0.15 s, paid by every build, plan and evals call of a process (the test suite makes hundreds).
    Topics are frozen, so sharing one is safe."""
    stat = path.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _TOPICS.get(path)
    if cached is None or cached[0] != key:
        cached = _TOPICS[path] = (key, _load_topic(path))
    return cached[1]


class TemplateLibrary:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.genres: dict[str, Genre] = {}
        for path in sorted((self.root / "genres").glob("*.j2")):
            with path.open(encoding="utf-8") as fh:
                self.genres[path.stem] = _parse_meta(path, fh.readline())
        self.topics: dict[str, Topic] = {
            path.stem: _cached_topic(path) for path in sorted((self.root / "pools").glob("*.yaml"))
        }
        self._env = None
        self._compiled: dict[str, object] = {}

    @property
    def env(self):
        """The sandboxed Jinja environment of the genre templates (built on first use)."""
        if self._env is None:
            from jinja2 import FileSystemLoader, StrictUndefined

            self._env = _sandbox_class()(
                loader=FileSystemLoader(str(self.root / "genres")), undefined=StrictUndefined,
                autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
                bytecode_cache=_bytecode_cache(),
            )
        return self._env

    def template(self, genre: str):
        if genre not in self._compiled:
            from jinja2 import TemplateError as JinjaError

            try:
                self._compiled[genre] = self.env.get_template(f"{genre}.j2")
            except JinjaError as exc:
                raise TemplateError(f"{self.genres[genre].path}:{getattr(exc, 'lineno', '?')}: {exc}") from None
        return self._compiled[genre]


def load_spec_and_library(spec_path, templates: Path | str | None = None):
    """A spec validated against the template library it will be built with."""
    library = TemplateLibrary(Path(templates) if templates else templates_root())
    return load_spec(spec_path, library.genres, {t.id: t.tags for t in library.topics.values()}), library
