"""The offline backend: sandboxed Jinja2 genre templates plus topic pools.

A genre template renders a whole document and leaves invisible insertion points
(between sentences of its background paragraphs, and at explicit `slot()`s). Each
fact passage is the genre's `frame` macro around one phrasing of the fact; it goes
in at the insertion point that puts the first mention closest to the planned depth.
Markers are private-use characters, so they can never collide with real text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from .. import variation
from ..cast import Cast
from ..documents import DocPlan, Document, Rejection, Span
from ..errors import TemplateError
from ..library import RNG, Topic, TopicView
from ..seeding import rng_for
from . import Backend

INLINE = "\ue000"  # insertion point before a sentence
BLOCK = "\ue001"  # insertion point before a paragraph
MENTION_OPEN = "\ue002"
MENTION_CLOSE = "\ue003"
MARKERS = INLINE + BLOCK + MENTION_OPEN + MENTION_CLOSE
RENDER_ATTEMPTS = 6
# Most paragraphs stay on the document's topic; the rest digress to a neighbouring one, as real
# writing does, which also spreads sentence reuse over more of the pools.
MAIN_TOPIC_SHARE = 0.85

DEFAULT_FRAMES = (
    "It has been reported that {m}.",
    "One detail that keeps coming up: {m}.",
    "As several people have pointed out, {m}.",
    "For context, {m}.",
    "It is worth remembering that {m}.",
    "Reportedly, {m}.",
)


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


class TemplatesBackend(Backend):
    name = "templates"
    template_patterns = ("genres/*.j2", "pools/*.yaml")

    def __init__(self, context):
        super().__init__(context)
        self._neighbours: dict[str, list[Topic]] = {}

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
            "headline": headline, "slot": lambda: BLOCK, "universe": self.spec.universe.entities,
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
