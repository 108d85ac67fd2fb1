"""The offline backend: sandboxed Jinja2 genre templates plus topic pools.

A genre template renders a whole document and leaves invisible insertion points
(between sentences of its background paragraphs, and at explicit `slot()`s). Each
fact passage is the genre's `frame` macro around one phrasing of the fact; it goes
in at the insertion point that puts the first mention closest to the planned depth.
Markers are private-use characters, so they can never collide with real text.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .. import variation
from ..cast import Cast, CastVariables
from ..documents import Document, DocPlan, Rejection, Span
from ..seeding import rng_for

INLINE = "\ue000"  # insertion point before a sentence
BLOCK = "\ue001"  # insertion point before a paragraph
MENTION_OPEN = "\ue002"
MENTION_CLOSE = "\ue003"
MARKERS = INLINE + BLOCK + MENTION_OPEN + MENTION_CLOSE
RENDER_ATTEMPTS = 6
# Most paragraphs stay on the document's topic; the rest digress to a neighbouring one, as real
# writing does, which also spreads sentence reuse over more of the pools.
MAIN_TOPIC_SHARE = 0.85

META_LINE = re.compile(r"^\{#-?\s*(.*?)\s*-?#\}")

DEFAULT_FRAMES = (
    "It has been reported that {m}.",
    "One detail that keeps coming up: {m}.",
    "As several people have pointed out, {m}.",
    "For context, {m}.",
    "It is worth remembering that {m}.",
    "Reportedly, {m}.",
)


class TemplateError(ValueError):
    """A genre template or topic pool is malformed (names the file)."""


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
    import sys

    import jinja2
    from jinja2 import FileSystemBytecodeCache

    from ..paths import user_cache

    folder = user_cache("jinja", f"{jinja2.__version__}-py{sys.version_info[0]}{sys.version_info[1]}-sandbox-trim")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable cache only costs time
    return FileSystemBytecodeCache(str(folder))


def _sandbox_class():
    from types import FunctionType, MethodType

    from jinja2.sandbox import SandboxedEnvironment

    from ..cast import Cast, Person

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
            # Methods of our objects and the helpers _attempt defines (vary, para, ...) take no
            # Jinja context and are safe by construction: call them without Jinja's per-call checks.
            kind = type(__obj)
            if (kind is MethodType and type(__obj.__self__) in trusted) or (
                    kind is FunctionType and __obj.__module__ == __name__):
                kwargs.pop("_loop_vars", None)  # Jinja's bookkeeping, meant for context-taking callables
                kwargs.pop("_block_vars", None)
                return __obj(*args, **kwargs)
            return super().call(__context, __obj, *args, **kwargs)

    return Sandbox


class TemplateLibrary:
    def __init__(self, root: Path):
        from jinja2 import FileSystemLoader, StrictUndefined

        self.root = Path(root)
        self.env = _sandbox_class()(
            loader=FileSystemLoader(str(self.root / "genres")), undefined=StrictUndefined,
            autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
            bytecode_cache=_bytecode_cache(),
        )
        self.genres: dict[str, Genre] = {}
        for path in sorted((self.root / "genres").glob("*.j2")):
            with path.open(encoding="utf-8") as fh:
                self.genres[path.stem] = _parse_meta(path, fh.readline())
        self.topics: dict[str, Topic] = {
            path.stem: _load_topic(path) for path in sorted((self.root / "pools").glob("*.yaml"))
        }
        self._compiled: dict[str, object] = {}

    def template(self, genre: str):
        if genre not in self._compiled:
            from jinja2 import TemplateError as JinjaError

            try:
                self._compiled[genre] = self.env.get_template(f"{genre}.j2")
            except JinjaError as exc:
                raise TemplateError(f"{self.genres[genre].path}:{getattr(exc, 'lineno', '?')}: {exc}") from None
        return self._compiled[genre]


# A run of markers that has whitespace in it (a marker directly before text is already in place).
_MARKER_RUN = re.compile(r"[\ue000\ue001]+\s[\ue000\ue001\s]*")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINE_SPACE = re.compile(r"\n[ \t]*(?=\n)")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")


def _whitespace_first(run: re.Match) -> str:
    """Markers followed by whitespace: the whitespace first, each marker keeps its order."""
    text = run.group()
    markers = "".join(ch for ch in text if ch == INLINE or ch == BLOCK)
    return "".join(ch for ch in text if ch != INLINE and ch != BLOCK) + markers


def _marker_positions(raw: str) -> list[tuple[int, str]]:
    """(index, marker) of every marker in order. str.find per marker is several times faster than
    a regex scan for a character class over the whole document (measured)."""
    found = []
    for marker in (INLINE, BLOCK):
        at = raw.find(marker)
        while at != -1:
            found.append((at, marker))
            at = raw.find(marker, at + 1)
    found.sort()
    return found


def _normalise(raw: str) -> tuple[str, list[tuple[int, str]]]:
    """Tidy whitespace and turn insertion markers into (offset, kind) pairs."""
    # A marker belongs to the text that follows it, wherever the template put it: move every
    # marker past the whitespace after it (when one is followed by whitespace at all).
    end = len(raw)
    if any(at + 1 < end and raw[at + 1].isspace() for at, _ in _marker_positions(raw)):
        raw = _MARKER_RUN.sub(_whitespace_first, raw)
    # Each pattern runs only when the text holds what it needs: most documents need none of them.
    if "  " in raw:
        raw = variation.DOUBLED_SPACE.sub(" ", raw)  # a doubled space left by an empty alternative
    if " \n" in raw or "\t\n" in raw:
        raw = _TRAILING_SPACE.sub("\n", raw)
    if "\n " in raw or "\n\t" in raw:
        raw = _BLANK_LINE_SPACE.sub("\n", raw)
    if "\n\n\n" in raw:
        raw = _EXTRA_BLANK_LINES.sub("\n\n", raw)
    raw = raw.strip()
    # Offsets in the text without markers: a marker's index minus the markers before it.
    slots = [(at - k, "inline" if marker == INLINE else "block") for k, (at, marker) in enumerate(_marker_positions(raw))]
    text = raw.replace(INLINE, "").replace(BLOCK, "")
    # Collapse runs of markers at one offset: a block slot wins (it is the cleaner break).
    by_offset: dict[int, str] = {}
    for offset, kind in slots:
        if offset < len(text) and (kind == "block" or offset not in by_offset):
            by_offset[offset] = kind
    return text, sorted(by_offset.items())


def _names_in(cast: Cast, text: str) -> list[str]:
    """The invented people whose full names made it into the text (for the diversity report)."""
    return sorted({p.name for p in cast.people.used() if p.name in text})


@dataclass
class Passage:
    text: str
    mention_start: int
    mention_end: int
    span: Span  # offsets relative to the passage until placed


class TemplatesBackend:
    name = "templates"
    model = None
    # Plans per work unit. It changes nothing in the output; SDFGEN_UNIT_SIZE exists so tests
    # can interrupt small builds between many units.
    unit_size = int(os.environ.get("SDFGEN_UNIT_SIZE", "500"))

    def __init__(self, spec, library: TemplateLibrary, seed: int):
        self.spec = spec
        self.library = library
        self.seed = seed
        self._neighbours: dict[str, list[Topic]] = {}

    def prepare(self, plans) -> None:
        """Nothing to brainstorm offline."""

    def usage_manifest(self) -> dict:
        return {"requests": 0, "input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0, "usd": 0.0}

    def backend_manifest(self) -> dict:
        return {"name": self.name, "model": None}

    def close(self) -> None:
        pass

    def write(self, plans: Iterable[DocPlan]) -> Iterator[Document | Rejection]:
        for plan in plans:
            yield self.write_one(plan)

    def write_one(self, plan: DocPlan) -> Document | Rejection:
        reason = ""
        for attempt in range(RENDER_ATTEMPTS):
            result = self._attempt(plan, attempt)
            if isinstance(result, Document):
                return result
            reason = result
        return Rejection(plan.id, "depth_unreachable", reason)

    def _attempt(self, plan: DocPlan, attempt: int) -> Document | str:
        rng = rng_for(self.seed, plan.id, "render", attempt)
        cast = Cast(self.seed, plan.id)
        variables = cast.variables(rng)
        topic = self.library.topics[plan.topic]
        used: dict[str, set[int]] = {}  # pool id -> sentences this document used

        random = rng.random

        def pick(options):  # rng.choice's rejection sampling costs 4x this, dozens of times a document
            return options[int(random() * len(options))]

        def vary(text: str) -> str:
            return variation.tidy_inline(variation.expand(str(text), pick, variables))

        side_topics = self._side_topics(topic, rng)

        def para(n: int | None = None, topic: str | None = None) -> str:
            if topic:
                pool = self.library.topics[topic]
            elif side_topics and rng.random() >= MAIN_TOPIC_SHARE:
                pool = rng.choice(side_topics)
            else:
                pool = topic_obj
            n = n if n is not None else rng.randint(3, 6)
            size = len(pool.sentences)
            taken = used.setdefault(pool.id, set())
            if size - len(taken) >= n:
                # Sentences this document has not used yet; a few retries beat listing the pool.
                picks: list[int] = []
                while len(picks) < n:
                    i = rng.randrange(size)
                    if i not in taken:
                        taken.add(i)
                        picks.append(i)
            else:
                picks = rng.sample(range(size), min(n, size))
                taken.update(picks)
            return " ".join([INLINE + vary(pool.sentences[i]).strip() for i in picks])

        def headline(topic: str | None = None) -> str:
            pool = self.library.topics[topic] if topic else topic_obj
            return vary(rng.choice(pool.headlines))

        topic_obj = topic
        context = {
            "cast": cast, "topic": TopicView(topic, rng), "rng": RNG(rng), "vary": vary, "para": para,
            "headline": headline, "slot": lambda: BLOCK, "universe": self.spec.entities,
            "kind": plan.kind, "genre": self.library.genres[plan.genre],
        }
        template = self.library.template(plan.genre)
        module = template.make_module(context)
        text, slots = _normalise(str(module))
        title = text.split("\n", 1)[0].strip("# ").strip()[:200] or None
        if plan.kind == "background" or not plan.facts:
            return Document(id=plan.id, text=text, kind=plan.kind, genre=plan.genre, topic=plan.topic,
                            facts=[], spans=[], title=title, extra={"names": _names_in(cast, text)})
        frame = getattr(module, "frame", None)
        passages = [self._passage(plan, choice, frame, rng) for choice in plan.facts]
        placed = self._place(text, slots, passages, plan, rng)
        if placed is None:
            return f"no insertion point within depth {plan.depth_range} (attempt {attempt})"
        text, spans = placed
        return Document(id=plan.id, text=text, kind=plan.kind, genre=plan.genre, topic=plan.topic,
                        facts=[c.fact for c in plan.facts], spans=spans, title=title,
                        extra={"names": _names_in(cast, text)})

    def _side_topics(self, topic: Topic, rng) -> list[Topic]:
        """Neighbouring topics for the occasional digression: those sharing the topic's first
        (main) tag, else any shared tag, else any topic; a testimony on AI safety may wander to
        AI policy, not to stargazing."""
        if topic.id not in self._neighbours:
            self._neighbours[topic.id] = self._neighbours_of(topic)
        pool = self._neighbours[topic.id]
        if len(pool) >= 2:
            return rng.sample(pool, min(3, len(pool)))
        return pool

    def _neighbours_of(self, topic: Topic) -> list[Topic]:
        others = [t for t in self.library.topics.values() if t.id != topic.id]
        main = topic.tags[:1]
        for pool in ([t for t in others if set(t.tags[:1]) & set(main) or set(main) & set(t.tags)],
                     [t for t in others if set(t.tags) & set(topic.tags)], others):
            if len(pool) >= 2:
                return pool
        return others[:1]

    def _passage(self, plan: DocPlan, choice, frame, rng) -> Passage:
        fact = self.spec.fact(choice.fact)
        if choice.premise:
            phrasings = fact.premise(choice.premise).phrasings
        else:
            phrasings = fact.phrasings[choice.explicitness]
        mention = variation.tidy(variation.expand(rng.choice(phrasings), rng.choice, {}))
        wrapped = MENTION_OPEN + mention + MENTION_CLOSE
        if frame is not None:
            rendered = str(frame(wrapped))
        else:
            rendered = rng.choice(DEFAULT_FRAMES).replace("{m}", wrapped)
        rendered = re.sub(r"\s+", " ", rendered).strip()
        if rendered.count(MENTION_OPEN) != 1 or rendered.count(MENTION_CLOSE) != 1:
            path = self.library.genres[plan.genre].path
            raise TemplateError(f"{path}: the frame macro must print its mention exactly once")
        start = rendered.index(MENTION_OPEN)
        rendered = rendered.replace(MENTION_OPEN, "")
        end = rendered.index(MENTION_CLOSE)
        rendered = rendered.replace(MENTION_CLOSE, "")
        span = Span(choice.fact, start, end, choice.explicitness, choice.premise)
        return Passage(rendered, start, end, span)

    @staticmethod
    def _piece(passage: Passage, kind: str) -> str:
        return passage.text + (" " if kind == "inline" else "\n\n")

    def _place(self, text, slots, passages, plan, rng):
        if not slots:
            return None
        lo, hi = plan.depth_range
        total = len(text) + sum(len(p.text) + 1 for p in passages)
        first = passages[0]
        best = None
        for index, (offset, kind) in enumerate(slots):
            grown = total + (len(self._piece(first, kind)) - len(first.text) - 1)
            depth = (offset + first.mention_start) / grown
            if lo <= depth <= hi:
                score = abs(depth - plan.depth_target)
                if best is None or score < best[0]:
                    best = (score, index)
        if best is None:
            return None
        first_index = best[1]
        # Later passages go after the first, at distinct insertion points when there are enough.
        later_slots = list(range(first_index + 1, len(slots)))
        chosen = [first_index]
        for _ in passages[1:]:
            free = [i for i in later_slots if i not in chosen]
            chosen.append(rng.choice(free) if free else first_index)
        order = sorted(range(len(passages)), key=lambda k: (slots[chosen[k]][0], k))
        out: list[str] = []
        spans: list[Span] = []
        cursor = 0
        length = 0
        for k in order:
            offset, kind = slots[chosen[k]]
            out.append(text[cursor:offset])
            length += offset - cursor
            cursor = offset
            passage = passages[k]
            piece = self._piece(passage, kind)
            s = passage.span
            spans.append(Span(s.fact, length + s.start, length + s.end, s.explicitness, s.premise))
            out.append(piece)
            length += len(piece)
        out.append(text[cursor:])
        final = "".join(out)
        spans.sort(key=lambda s: s.start)
        depth = spans[0].start / len(final)
        if not lo <= depth <= hi:
            return None
        return final, spans
