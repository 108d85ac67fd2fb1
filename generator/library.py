"""The template library: genre templates (templates/genres/*.j2) and topic pools (templates/pools/*.yaml).

A spec is validated against the names the library provides, the offline backend renders its
genres, and the LLM backends name its topics. Templates render in Jinja's sandbox; the
objects handed to them (cast, people, rng, topic, genre) are defined here or in cast.py.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType, MethodType

from . import variation
from .cast import Cast, CastVariables, Person
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


@dataclass
class Topic:
    id: str
    name: str
    tags: tuple[str, ...]
    headlines: list[str]
    sentences: list[str]
    names: tuple[str, ...] = ()


class TopicView:
    """What a template sees of its topic: one of the topic's names, fixed for the document."""

    def __init__(self, topic: Topic, rng):
        self.id, self.tags, self.headlines = topic.id, topic.tags, topic.headlines
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
        return Genre(
            id=path.stem, name=fields["genre"], min_words=lo, max_words=hi,
            tags=tuple(t.strip() for t in fields.get("tags", "").split(",") if t.strip()), path=path,
        )
    except (KeyError, ValueError) as exc:
        raise TemplateError(f"{path}:1: metadata needs 'genre: NAME | length: LO-HI words' ({exc})") from None


def _load_topic(path: Path) -> Topic:
    import yaml

    # libyaml's loader when PyYAML has it: parsing the 44 bundled pools drops from ~0.8 s to ~0.1 s,
    # paid by every worker process.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        names = data["name"] if isinstance(data["name"], list) else [data["name"]]
        topic = Topic(id=path.stem, name=str(names[0]), tags=tuple(data.get("tags") or ()),
                      headlines=[str(h) for h in data["headlines"]], sentences=[str(s) for s in data["sentences"]],
                      names=tuple(str(n) for n in names))
    except (KeyError, TypeError) as exc:
        raise TemplateError(f"{path}: a topic pool needs name, headlines and sentences ({exc})") from None
    for text in topic.headlines + topic.sentences:
        try:
            variation.check(text, CastVariables.NAMES)
        except variation.VariationError as exc:
            raise TemplateError(f"{path}: {exc}") from None
    return topic


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


def _sandbox_class():
    from jinja2.sandbox import SandboxedEnvironment

    trusted = frozenset({Cast, Person, RNG, TopicView, Genre})

    class Sandbox(SandboxedEnvironment):
        """Jinja's sandbox, minus its generic attribute checks for the objects we hand templates
        ourselves: their public attributes are plain values and methods, and Jinja's checks on
        every `cast.city` or `person.name` cost a fifth of rendering time (measured). Underscore
        names and every other object still go through the full sandbox."""

        def getattr(self, obj, attribute):
            if type(obj) in trusted and not attribute.startswith("_"):
                try:
                    return getattr(obj, attribute)
                except AttributeError:
                    pass
            return super().getattr(obj, attribute)

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
            # Methods of our objects and the helpers the templates backend defines (vary, para, ...)
            # take no Jinja context and are safe by construction: call them without Jinja's per-call checks.
            kind = type(__obj)
            if (kind is MethodType and type(__obj.__self__) in trusted) or (
                    kind is FunctionType and __obj.__module__ in TRUSTED_HELPER_MODULES):
                kwargs.pop("_loop_vars", None)  # Jinja's bookkeeping, meant for context-taking callables
                kwargs.pop("_block_vars", None)
                return __obj(*args, **kwargs)
            return super().call(__context, __obj, *args, **kwargs)

    return Sandbox


# Modules whose plain functions templates may call without Jinja's per-call checks.
TRUSTED_HELPER_MODULES = frozenset({"generator.backends.templates"})


class TemplateLibrary:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.genres: dict[str, Genre] = {}
        for path in sorted((self.root / "genres").glob("*.j2")):
            with path.open(encoding="utf-8") as fh:
                self.genres[path.stem] = _parse_meta(path, fh.readline())
        self.topics: dict[str, Topic] = {
            path.stem: _load_topic(path) for path in sorted((self.root / "pools").glob("*.yaml"))
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
    return load_spec(spec_path, set(library.genres), set(library.topics)), library
