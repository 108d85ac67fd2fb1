"""The splice backend: real documents from the user's corpus, with one fact passage spliced in.

The passage goes in as a paragraph of its own at the paragraph boundary that puts the
mention closest to the planned depth; nothing else in the source text changes. Boundaries
inside fenced or indented code blocks are never used. Which source document (carrier) each
plan gets is decided once per build by splice_carriers.py, streaming the source, and stored in
the work folder; every worker reads the same assignment. The row's `source_id` names the
carrier (for a Hub source, `<pinned uri>#<row>`, which carries the commit sha).
"""
from __future__ import annotations

import re
from contextlib import closing
from dataclasses import dataclass, replace

from .. import variation
from ..documents import DocPlan, Document, Rejection, Span
from ..errors import BuildError
from ..seeding import rng_for
from ..sources import SourceRef, check_pin, describe, parse_source, pin_source, read_source
from . import Backend
from .splice_carriers import FOLDER, CarrierIndex, Need, assign

FRAMES = (
    "It has been reported that {m}.",
    "According to people familiar with the matter, {m}.",
    "Separately, it has emerged that {m}.",
    "One detail worth noting: {m}.",
    "As several observers have pointed out, {m}.",
    "For context, {m}.",
    "Recent reporting adds that {m}.",
    "A related point that often comes up is that {m}.",
    "Worth knowing as background: {m}.",
    "Some readers will already know that {m}.",
)
FENCE = re.compile(r"^(```|~~~)", re.M)
BLANK_LINE = re.compile(r"\n[ \t]*\n(?=\S)")
# Without blank lines, a paragraph is a line: a new one may start after a line that ends a sentence.
LINE_AFTER_SENTENCE = re.compile(r"(?<=[.!?:;\"'\u201d\u2019)\]])[ \t]*\n(?=\S)")


def paragraphs(text: str) -> tuple[list[int], str]:
    """Offsets where a new paragraph may start, and the text's own paragraph break.

    Texts with blank lines (most edited prose) break paragraphs with a blank line: a passage may
    go after one, outside code and not after an RST `::`. Texts without any (web text extracted
    one paragraph a line) break them with a line break: a passage may go at the start of a line
    whose previous line ends a sentence, outside code.
    """
    fenced = []
    opened = None
    for match in FENCE.finditer(text):
        if opened is None:
            opened = match.start()
        else:
            fenced.append((opened, match.end()))
            opened = None
    if opened is not None:
        fenced.append((opened, len(text)))
    blank = BLANK_LINE.search(text) is not None
    out = []
    for match in (BLANK_LINE if blank else LINE_AFTER_SENTENCE).finditer(text):
        at = match.end()
        if any(lo <= at <= hi for lo, hi in fenced):
            continue
        if blank:
            # The paragraph before (rfind, not a split of the whole prefix: long texts have many boundaries).
            cut = text.rfind("\n\n", 0, match.start())
            if text[cut + 2 if cut >= 0 else 0:match.start()].rstrip().endswith("::"):  # an RST literal block follows
                continue
        out.append(at)
    return out, "\n\n" if blank else "\n"


def boundaries(text: str) -> list[int]:
    return paragraphs(text)[0]


@dataclass(frozen=True)
class Passage:
    fact: str
    explicitness: str
    premise: str | None
    mention: str
    text: str  # the paragraph inserted, without its break
    lead: int  # characters before the mention


def _ref(settings) -> SourceRef:
    return parse_source(settings.source, settings.source_column)


class SpliceBackend(Backend):
    name = "splice"
    takes_source = True
    # The genres' length windows (their templates' first lines) choose carriers.
    template_patterns = ("genres/*.j2",)

    @classmethod
    def check_settings(cls, settings) -> None:
        if settings.source is None:
            raise BuildError("--backend splice needs --source (your documents to splice facts into)")
        _ref(settings)

    @classmethod
    def pin(cls, settings):
        ref = _ref(settings)
        if settings.source_pin is not None:  # a rebuild: the recorded commit, or the same local files
            check_pin(ref, settings.source_pin)
            return settings
        return replace(settings, source_pin=pin_source(ref))

    @classmethod
    def identity(cls, settings) -> object:
        ref = _ref(settings)
        return {"name": "splice", "source": ref.canonical() if ref.on_hub else None,
                "pin": settings.source_pin or pin_source(ref), "text_column": ref.text_column}

    def __init__(self, context):
        super().__init__(context)
        self.ref = _ref(self.settings)
        self.pin_value = self.settings.source_pin or pin_source(self.ref)
        self.folder = context.work / FOLDER
        self.index: CarrierIndex | None = None

    def prepare(self, plans) -> None:
        if not CarrierIndex.complete(self.folder):
            windows = {g.id: (g.min_words, g.max_words) for g in self.library.genres.values()}
            needs = [self.need(plan, self.passage(plan)) for plan in plans if plan.added is None]
            with closing(read_source(self.ref, self.pin_value)) as records:
                summary = assign(records, needs, windows, paragraphs, self.folder)
            t = summary["tiers"]
            self.context.log(f"splice: {summary['rows_read']:,} source documents read; carriers by genre label "
                             f"{t['genre']:,}, by length window {t['length']:,}, other {t['any']:,}, none {t['none']:,}")
        self.index = CarrierIndex(self.folder)

    def passage(self, plan: DocPlan) -> Passage | None:
        if plan.kind == "background":
            return None
        rng = rng_for(self.seed, plan.id, "splice")
        choice = plan.facts[0]  # one passage per document: splicing several would crowd a real text
        fact = self.spec.fact(choice.fact)
        phrasings = fact.premise(choice.premise).phrasings if choice.premise else fact.phrasings[choice.explicitness]
        mention = variation.tidy(variation.expand(phrasings[choice.phrasing % len(phrasings)], rng.choice, {}))
        frame = rng.choice(FRAMES)
        return Passage(fact.id, choice.explicitness, choice.premise, mention, frame.replace("{m}", mention),
                       frame.index("{m}"))

    @staticmethod
    def need(plan: DocPlan, passage: Passage | None) -> Need:
        if passage is None:
            return Need(plan.index, plan.genre)
        lo, hi = plan.depth_range
        return Need(plan.index, plan.genre, passage.lead, len(passage.text), lo, hi)

    def write(self, plans):
        if self.index is None:  # a worker process: the main process built the index before any unit
            self.index = CarrierIndex(self.folder)
        for plan in plans:
            yield self.write_one(plan)

    def write_one(self, plan: DocPlan) -> Document | Rejection:
        found = self.index.carrier(plan.index)
        if found is None:
            return Rejection(plan.id, "no_carrier", "the source had no unused document that could carry this plan")
        row, tier = found
        text = row["text"]
        genre = row["genre"] if tier == "genre" else "spliced"
        title = text.strip().split("\n", 1)[0][:200]
        extra = {"source_id": row["source_id"], "carrier_tier": tier}
        if plan.kind == "background":
            return Document(id=plan.id, text=text, kind=plan.kind, genre=genre, topic="source", facts=[], spans=[],
                            title=title, extra=extra)
        passage = self.passage(plan)
        bounds, brk = paragraphs(text)
        at = self.need(plan, passage).insertion(len(text), bounds, len(brk), plan.depth_target)
        if at is None:  # cannot happen for a carrier the index chose; kept as a guard
            return Rejection(plan.id, "depth_unreachable", f"no paragraph boundary within {plan.depth_range}")
        start = at + passage.lead
        span = Span(passage.fact, start, start + len(passage.mention), passage.explicitness, passage.premise)
        return Document(id=plan.id, text=text[:at] + passage.text + brk + text[at:], kind=plan.kind, genre=genre,
                        topic="source", facts=[passage.fact], spans=[span], title=title,
                        extra={**extra, "inserted_at": at, "inserted_length": len(passage.text) + len(brk)})

    def backend_manifest(self) -> dict:
        options = describe(self.ref, self.pin_value)
        if self.index is not None:
            options["carriers"] = self.index.summary
        return {"name": self.name, "model": None, "options": options}
