"""The offline backend: sandboxed Jinja2 genre templates over coherent units of content.

A genre template renders a whole document from units (generator/material.py): paragraphs of one
angle of a topic, units about the universe, questions with their answers. Between units it leaves
invisible insertion points. A fact passage is the genre's `frame` macro (a document about the
universe) or `aside` macro (a document about something else) around one phrasing of the fact; it
goes in, as a paragraph of its own, at the insertion point that puts the first mention closest to
the planned depth. Every fact document names what its fact is about near the mention. Markers are
private-use characters, so they can never collide with real text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Iterator

from .. import variation
from ..cast import Cast, in_running_text
from ..documents import Document, DocPlan, Rejection, Span
from ..errors import TemplateError
from ..library import RNG, TopicView, trust
from ..material import Exchange, Material, load_world_lines
from ..plan import WORLD_TOPIC
from ..seeding import rng_for
from ..world import World, WorldPerson
from . import Backend

BLOCK = "\ue001"  # insertion point before a paragraph
MENTION_OPEN = "\ue002"
MENTION_CLOSE = "\ue003"
MARKERS = BLOCK + MENTION_OPEN + MENTION_CLOSE
RENDER_ATTEMPTS = 6
# A fact passage whose phrasing names nothing the fact is about must find a name this close before it.
NAMING_WINDOW = 400

_MARKER_RUN = re.compile(r"\ue001+\s[\ue001\s]*")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINE_SPACE = re.compile(r"\n[ \t]*(?=\n)")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")
# A "the" that a name brought to the start of a sentence or a line: "the Halvern Tidal Observatory said".
# A template's "the" before a name that brings its own ("the the Halvern Tidal Observatory story").
_DOUBLE_THE = re.compile(r"\b([Tt])he the (?=[A-Z])")
_LOWER_THE = re.compile(r"(^|[.!?][\"”']?[ \t]+|\n[ \t]*|[\ue001\ue002][ \t]*)the (?=[A-Z])")


def _whitespace_first(run: re.Match) -> str:
    """Markers followed by whitespace: the whitespace first, then the markers."""
    text = run.group()
    return text.replace(BLOCK, "") + BLOCK * text.count(BLOCK)


def _normalise(raw: str) -> tuple[str, list[int]]:
    """Tidy whitespace and turn insertion markers into offsets in the text without them."""
    if BLOCK + " " in raw or BLOCK + "\n" in raw:
        raw = _MARKER_RUN.sub(_whitespace_first, raw)  # a marker belongs to the text after it
    if "  " in raw:
        raw = variation.DOUBLED_SPACE.sub(" ", raw)
    if " \n" in raw or "\t\n" in raw:
        raw = _TRAILING_SPACE.sub("\n", raw)
    if "\n " in raw or "\n\t" in raw:
        raw = _BLANK_LINE_SPACE.sub("\n", raw)
    if "\n\n\n" in raw:
        raw = _EXTRA_BLANK_LINES.sub("\n\n", raw)
    raw = raw.strip()
    if "he the " in raw:
        raw = _DOUBLE_THE.sub(r"\1he ", raw)
    if "the " in raw:
        raw = _LOWER_THE.sub(lambda m: m.group(1) + "The ", raw)
    slots, removed, at = [], 0, raw.find(BLOCK)
    while at != -1:
        slots.append(at - removed)
        removed += 1
        at = raw.find(BLOCK, at + 1)
    text = raw.replace(BLOCK, "")
    # Only boundaries at the start of a paragraph: a passage never splits a line.
    good = sorted({s for s in slots if 0 < s < len(text) and text[s - 1] == "\n"})
    return text, good


# What opens a passage before its first sentence and stays first: a speaker's label ("HOST: "), or the
# markup of a reply or a list item (a talk page's ":", "- ", "> ").
_SPEAKER_LABEL = re.compile(r"^(?:[^:\n.!?]{1,40}: |[:*>#-]+ ?)")
# What a mention that opens a sentence has before it in its passage: nothing, a sentence's end, or a
# transcript speaker's label ("HOST: ").
# A speaker's name as a label: one to three capitalised words ("HOST: ", "Bryan Rivera: "); not a
# lead-in that ends in a colon ("Consider this detail above all: ").
_NAME_LABEL = r"[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}: "
_OPENS_SENTENCE = re.compile(rf"(?:^|[.!?][\"”']? |^{_NAME_LABEL})$")
# A label a naming sentence goes after: a speaker's name, or reply markup.
_LABEL_NOT_LEAD_IN = re.compile(rf"^(?:{_NAME_LABEL}|[:*>#-]+ ?)$")


@dataclass
class Passage:
    text: str
    span: Span  # offsets relative to the passage until placed
    mention: str  # the phrasing alone, for a mention that continues a paragraph


class DocView:
    """What a template knows of the document it writes."""

    def __init__(self, plan: DocPlan, cast: Cast):
        self.kind, self.placement = plan.kind, plan.placement
        self.about_world = plan.placement == "about_world"
        self.aside = plan.placement == "aside"
        self.date, self.year, self.month = cast.date, cast.year, cast.month


class WorldView:
    """What a template sees of the universe: the name the document is about, the organisation and
    the product of the story, and the spec's people."""

    def __init__(self, world: World, name: str):
        # Names as they read inside a sentence ("the Halvern Tidal Observatory"); a "the" that ends
        # up opening a sentence is capitalised when the document is tidied.
        subject = world.noun_phrase(name)
        self.subject = subject
        entity = next((e for e in world.entities if e.name == name), None)
        self.kind = entity.kind if entity else "organisation"
        organisations = [e for e in world.entities if not e.is_model]
        products = [e for e in world.entities if e.is_model]
        # The organisation of the story: the subject when it is one, else the first the spec names.
        self.organisation = subject if entity and not entity.is_model else (
            world.noun_phrase(organisations[0].name) if organisations else subject)
        self.product = subject if entity and entity.is_model else (products[0].name if products else None)
        self.people = list(world.people)
        self.names = list(world.names)
        self._world = world

    def describe(self, name: str) -> str:
        """What an organisation or product of the universe is, in the spec's words ("a storm-surge
        forecasting program"), or "" when the spec does not say."""
        return self._world.description(name)


class TemplatesBackend(Backend):
    name = "templates"
    writes_world = True
    template_patterns = ("genres/*.j2", "pools/*.yaml", "world.yaml", "places.yaml")

    @cached_property
    def world(self) -> World:
        return World(self.spec)

    @cached_property
    def world_lines(self) -> dict:
        return load_world_lines(self.library.root / "world.yaml")

    @cached_property
    def _about_world_share(self) -> float:
        """The share of all documents that are about the universe."""
        placement = self.spec.documents.placement
        fact_share = 1 / (1 + self.spec.background.ratio)
        return fact_share * placement.get("about_world", 0.0) / sum(placement.values())

    @cached_property
    def units_per_document(self) -> int:
        return self.world.units_per_document(self._about_world_share)

    @cached_property
    def _setup_chances(self) -> dict[str, float]:
        return {f.id: self.world.setup_chance(f.id, self._about_world_share) for f in self.spec.facts}

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

    def _subject(self, plan: DocPlan, rng) -> str:
        if not plan.facts:
            return ""
        return rng.choice(self.world.subject_names(plan.facts[0].fact))

    def _attempt(self, plan: DocPlan, attempt: int) -> Document | str:
        rng = rng_for(self.seed, plan.id, "render", attempt)
        about_world = plan.placement == "about_world"
        pool = self.library.topics.get(plan.topic)
        # A British universe's documents about it get a British cast; an aside stays with its everyday
        # topic's American one (readers flagged dollar prices and US e-bike rules set in Cumbria).
        cast = Cast(self.seed, plan.id, self.world.period if plan.kind == "fact" else
                    (pool.everyday_period if pool is not None else None), self.world.surnames,
                    self.spec.universe.country if about_world else "US")
        subject = self._subject(plan, rng)
        variables = _DocumentVariables(cast.variables(rng), self.world.noun_phrase(subject) if subject else "",
                                       WorldView(self.world, subject).kind if subject else "")
        random = rng.random

        def pick(options):  # rng.choice's rejection sampling costs 4x this, dozens of times a document
            return options[int(random() * len(options))]

        def vary(text: str) -> str:
            return variation.tidy_inline(variation.expand(str(text), pick, variables))

        topic = None if about_world and plan.topic == WORLD_TOPIC else self.library.topics[plan.topic]
        setup_chance = self._setup_chances.get(plan.facts[0].fact, 0.0) if plan.facts and about_world else 0.0
        material = Material(plan, topic, self.world, self.world_lines, rng, vary, cast.day, self.units_per_document,
                            self.world.proper_words, setup_chance)

        def para(voice: str = "report", speaker: str | None = None) -> str:
            text = material.para(voice, speaker)
            return BLOCK + text if text else ""

        def exchange():
            return material.exchange()

        def new_angle() -> bool:
            moved = material.new_angle()
            if moved and topic_view is not None and not about_world:
                topic_view.headlines = list(material.angle.headlines)
            return moved

        topic_view = TopicView(topic, rng, material.angle.headlines if material.angle else None) if topic else None
        if about_world:
            topic_view = _SubjectTopic(subject)
        context = {
            "cast": cast, "topic": topic_view, "rng": RNG(rng), "vary": vary, "para": para, "exchange": exchange,
            "new_angle": new_angle, "years_in": years_in, "quotes_someone": quotes_someone, "news_copy": news_copy,
            "in_text": in_running_text,
            "headline": lambda: material.headline(subject), "slot": lambda: BLOCK,
            "doc": DocView(plan, cast), "world": WorldView(self.world, subject) if subject else None,
            "kind": plan.kind, "genre": self.library.genres[plan.genre],
        }
        module = self.library.template(plan.genre).make_module(context)
        raw = str(module)
        if about_world:
            raw = self.world.introduced_throughout(raw)
        text, slots = _normalise(self.world.without_redundant_appositives(raw))
        title = text.split("\n", 1)[0].strip("# ").strip()[:200] or None
        extra = {"names": _names_in(cast, text), "units": list(material.used), "date": cast.day.isoformat()}
        if plan.kind == "background" or not plan.facts:
            return Document(id=plan.id, text=text, kind=plan.kind, genre=plan.genre, topic=plan.topic,
                            facts=[], spans=[], title=title, extra=extra)
        macro_name = "frame" if about_world else "aside"
        macro = getattr(module, macro_name, None)
        if macro is None:
            raise TemplateError(f"{self.library.genres[plan.genre].path}: needs a `{macro_name}` macro")
        passages = [self._passage(plan, choice, macro, rng) for choice in plan.facts]
        placed = self._place(text, slots, passages, plan, rng, material, _paragraph_end(text, material.setup_text))
        if placed is None:
            return f"no insertion point within depth {plan.depth_range} (attempt {attempt})"
        text, spans = placed
        extra["names"] = _names_in(cast, text)
        return Document(id=plan.id, text=text, kind=plan.kind, genre=plan.genre, topic=plan.topic,
                        facts=[c.fact for c in plan.facts], spans=spans, title=title, extra=extra)

    def _passage(self, plan: DocPlan, choice, macro, rng) -> Passage:
        fact = self.spec.fact(choice.fact)
        phrasings = fact.premise(choice.premise).phrasings if choice.premise else fact.phrasings[choice.explicitness]
        mention = variation.tidy(variation.expand(phrasings[choice.phrasing % len(phrasings)], rng.choice, {}))
        rendered = re.sub(r"\s+", " ", str(macro(MENTION_OPEN + mention + MENTION_CLOSE))).strip()
        rendered = self.world.without_redundant_appositives(rendered)
        if "he the " in rendered:  # before the offsets are taken
            rendered = _DOUBLE_THE.sub(r"\1he ", rendered)
        if rendered.count(MENTION_OPEN) != 1 or rendered.count(MENTION_CLOSE) != 1:
            path = self.library.genres[plan.genre].path
            raise TemplateError(f"{path}: a frame or aside macro must print its mention exactly once")
        start = rendered.index(MENTION_OPEN)
        if _OPENS_SENTENCE.search(rendered[:start]) and mention[:1].islower():
            # A frame may state the fact plainly, as a sentence of its own: the phrasing, a clause,
            # takes the capital a sentence opens with (the fact check accepts it).
            rendered = rendered[:start + 1] + mention[:1].upper() + rendered[start + 2:]
            mention = mention[:1].upper() + mention[1:]
        rendered = rendered.replace(MENTION_OPEN, "")
        end = rendered.index(MENTION_CLOSE)
        rendered = rendered.replace(MENTION_CLOSE, "")
        return Passage(rendered, Span(choice.fact, start, end, choice.explicitness, choice.premise), mention)

    def _names_subject(self, fact_id: str, text: str) -> bool:
        return any(name in text for name in self.world.subject_names(fact_id))

    def _place(self, text: str, slots: list[int], passages: list[Passage], plan: DocPlan, rng, material,
               continuation: tuple[int, str] | None = None):
        """Insert the passages; the first at the slot closest to the planned depth, or, when the text
        has a paragraph that sets up its fact (`continuation`: where that paragraph ends), as that
        paragraph's next sentence. A passage that names nothing its fact is about goes where a name
        stands just before it, or gets a naming sentence of its own."""
        if continuation is not None:
            placed = self._continue(text, slots, passages, plan, rng, material, *continuation)
            if placed is not None:
                return placed
        if not slots:
            return None
        lo, hi = plan.depth_range
        total = len(text) + sum(len(p.text) + 2 for p in passages)
        first = passages[0]
        best = None
        for index, offset in enumerate(slots):
            depth = (offset + first.span.start) / total
            if lo <= depth <= hi:
                named = self._names_subject(first.span.fact, first.text) or \
                    self._names_subject(first.span.fact, text[max(0, offset - NAMING_WINDOW):offset])
                score = (not named, abs(depth - plan.depth_target))
                if best is None or score < best[0]:
                    best = (score, index)
        if best is None:
            return None
        chosen = [best[1]]
        later = [i for i in range(best[1] + 1, len(slots))]
        for _ in passages[1:]:
            free = [i for i in later if i not in chosen]
            chosen.append(rng.choice(free) if free else best[1])
        placed = self._insert(text, [(slots[c], k) for k, c in enumerate(chosen)], passages, rng, material)
        return placed if placed[1] and lo <= placed[1][0].start / len(placed[0]) <= hi else None

    def _continue(self, text: str, slots: list[int], passages: list[Passage], plan: DocPlan, rng, material,
                  end: int, cite: str = ""):
        """The first mention as the sentence after the paragraph that sets it up (at `end`, with the
        paragraph's citation `cite`), when that puts it within the depth range and the paragraph names
        what the fact is about; any other passage goes at a paragraph boundary after it."""
        first = passages[0]
        fact = first.span.fact
        if not (self._names_subject(fact, first.mention)
                or self._names_subject(fact, text[max(0, end - NAMING_WINDOW):end])) \
                or self.world.unnamed_referents(first.mention, text[:end]):
            return None
        mention = first.mention
        strangers = self.world.strangers(mention, text[:end])
        if strangers:
            mention, _, _, left = self._with_appositives(mention, 0, len(mention), strangers)
            if left or self.world.unnamed_referents(mention, text[:end]):
                return None
        sentence = mention[:1].upper() + mention[1:]
        piece = " " + sentence + cite + ("" if sentence.endswith((".", "!", "?")) and not cite else ".")
        later = [s for s in slots if s > end]
        if len(passages) > 1 and not later:
            return None
        text = text[:end] + piece + text[end:]
        s = first.span
        span = Span(fact, end + 1, end + 1 + len(mention), s.explicitness, s.premise)
        later = [at + len(piece) for at in later]
        chosen = [rng.choice(later) for _ in passages[1:]]
        final, spans = self._insert(text, list(zip(chosen, range(1, len(passages)))), passages, rng, material)
        spans = sorted(spans + [span], key=lambda x: x.start)
        lo, hi = plan.depth_range
        return (final, spans) if lo <= spans[0].start / len(final) <= hi else None

    def _with_appositives(self, text: str, start: int, end: int, names: list[str]) -> tuple[str, int, int, list[str]]:
        """`text` with an appositive after the first mention of each of `names` that can take one
        ("... comes from Brannock Line, a container shipping company, routed through ..."), as a
        writer introduces a name; the span `start`-`end` moved to match; and the names that could
        not take one (a possessive: "Surge Watch's")."""
        left = []
        for name in names:
            at = text.find(name)
            words = self.world.appositive(name, text, at) if at != -1 else None
            if words is None:
                left.append(name)
                continue
            cut = at + len(name)
            text = text[:cut] + words + text[cut:]
            start += len(words) if cut <= start else 0
            end += len(words) if cut <= end else 0
        return text, start, end, left

    def _insert(self, text: str, where: list[tuple[int, int]], passages: list[Passage], rng, material):
        """`text` with passage k inserted as a paragraph at offset o, for each (o, k) of `where`
        (offsets of paragraph starts), and the spans of their mentions."""
        out: list[str] = []
        spans: list[Span] = []
        cursor = length = 0
        for offset, k in sorted(where):
            out.append(text[cursor:offset])
            length += offset - cursor
            cursor = offset
            passage = passages[k]
            lead = ""
            before = "".join(out)
            label = ""
            s = passage.span
            strangers = self.world.strangers(passage.text, before)
            if strangers:
                body, start, end, strangers = self._with_appositives(passage.text, s.start, s.end, strangers)
                passage = Passage(body, Span(s.fact, start, end, s.explicitness, s.premise), passage.mention)
            unnamed = self.world.unnamed_referents(passage.text, before)  # an appositive may say "the observatory"
            # A phrasing that names nothing ("the shipping firm at Carrow Point ...") needs its subject
            # named somewhere before it, not in a sentence of its own: readers flagged those sentences
            # as stock linking lines in 16 of 40 documents. The slot chosen is already the one with
            # a name closest before it.
            if unnamed or not (self._names_subject(passage.span.fact, passage.text)
                               or self._names_subject(passage.span.fact, before)):
                lead = material.naming_lead(*(unnamed or [rng.choice(self.world.subject_names(passage.span.fact))])) + " "
            if strangers:  # one sentence names them all, each with what it is
                lead = material.naming_lead(*dict.fromkeys(unnamed + strangers), described=True) + " "
            if lead:
                # A transcript turn keeps its speaker label first: "HOST: This concerns X. ..."
                speaker = _SPEAKER_LABEL.match(passage.text)
                # ... but only a label followed by a sentence of its own: "Outside our lane: the ..." is
                # a lead-in the naming sentence goes in front of.
                if speaker and speaker.end() <= passage.span.start and passage.text[speaker.end():][:1].isupper() \
                        and _LABEL_NOT_LEAD_IN.match(speaker.group(0)):
                    label = speaker.group(0)
            body = passage.text[len(label):]
            piece = label + lead + body + "\n\n"
            s = passage.span
            spans.append(Span(s.fact, length + len(lead) + s.start, length + len(lead) + s.end, s.explicitness,
                              s.premise))
            out.append(piece)
            length += len(piece)
        out.append(text[cursor:])
        return "".join(out), sorted(spans, key=lambda x: x.start)


# What a reference work puts after a paragraph it took whole: "... argument (Lewis, 2024)." or "... denial.[4]".
_AFTER_PARAGRAPH = re.compile(r"(?P<cite> \([^()\n]{2,60}?\d{4}[a-z]?\))?\.(?P<note>\[\d+\])?(?=\n|$)")


def _paragraph_end(text: str, paragraph: str) -> tuple[int, str] | None:
    """Where `paragraph` (as a template was given it) ends in the finished text, when it ends a
    paragraph there with a full sentence: the place a continuing sentence goes, and the citation that
    sentence should carry (the paragraph's own, when a paper cites its source as "(Lewis, 2024)").
    A footnote mark ("[4]") stays after the continuing sentence, which it then covers too."""
    if not paragraph or paragraph[-1:] not in ".!?":
        return None
    tail = paragraph[-60:]
    at = text.find(tail)
    if at != -1:
        end = at + len(tail)
        if end == len(text) or text[end] == "\n":
            return end, ""
        if text[end] == "[":
            note = _AFTER_PARAGRAPH.match(text, end - 1)
            return (end, "") if note and note.group("note") and not note.group("cite") else None
        return None
    if paragraph[-1] != ".":
        return None
    at = text.find(tail[:-1])
    if at == -1:
        return None
    after = _AFTER_PARAGRAPH.match(text, at + len(tail) - 1)
    if after is None or not after.group("cite"):
        return None
    return after.end("note") if after.group("note") else after.end(), after.group("cite")


class _SubjectTopic:
    """The topic a template sees in a document about the universe: the name it is about."""

    def __init__(self, subject: str):
        self.id, self.tags, self.headlines, self.name = "world", (), [], subject


trust(DocView, WorldView, _SubjectTopic, WorldPerson, Exchange)


class _DocumentVariables:
    """The brace variables of one document: the pool variables plus `{subject}` and `{kind}`."""

    def __init__(self, pool, subject: str, kind: str):
        self._pool, self._subject, self._kind = pool, subject, kind

    def __getitem__(self, name: str) -> str:
        if name == "subject":
            return self._subject
        if name == "kind":
            return self._kind
        return self._pool[name]


# A unit that quotes or attributes to someone ("..., she said", "according to"): a reference work or a
# syllabus passes over it.
_QUOTES = re.compile("|".join(re.escape(w) for w in (
    " said", " says", " told ", " tells ", "according to", " recalls", " explains", " argues", " warns",
    " recommends", " advises", " estimates", " points out", " urges", " suggests", '"')))
# A unit in news copy (it reports what others say or found): a speaker relays it as something read.
_NEWS_COPY = re.compile("|".join(re.escape(w) for w in (
    " said", " says", " say ", " say,", " say that", " told ", " tells ", "according to", "According to",
    " found ", " found that", " report ", " reported", " reports ", " describe", " argue", " adds", " added",
    "Critics", "Researchers", "researchers", "Staff", " study ", "A study", "survey", " estimate", " advise ",
    " advise,", " recalls", " explains", " warns", " recommends", " advises", " points out", " urges",
    " suggests")))


def quotes_someone(text: str) -> bool:
    return _QUOTES.search(text) is not None


def news_copy(text: str) -> bool:
    return _NEWS_COPY.search(text) is not None


_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def years_in(text: str) -> list[int]:
    """The years (1900-2099) a text mentions, in order: a loop over every year in Jinja costs a
    thousand iterations a paragraph."""
    return [int(y) for y in _YEAR.findall(text)]


def _names_in(cast: Cast, text: str) -> list[str]:
    """The invented people whose full names made it into the text (for the diversity report)."""
    return sorted({p.name for p in cast.people.used() if p.name in text})
