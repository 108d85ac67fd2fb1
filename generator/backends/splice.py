"""The splice backend: real documents from the user's corpus, with one fact passage spliced in.

The passage goes in as a paragraph of its own at the paragraph boundary that puts the
mention closest to the planned depth; nothing else in the source text changes. Boundaries
inside fenced or indented code blocks are never used. The source document's id is kept.
"""
from __future__ import annotations

import re
from pathlib import Path

from .. import variation
from ..documents import DocPlan, Document, Rejection, Span
from ..errors import BuildError
from ..seeding import rng_for
from ..sources import files_sha256, ordinary_records
from . import Backend

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
TRIES = 8


def boundaries(text: str) -> list[int]:
    """Offsets where a new paragraph may start: after a blank line, outside code, before unindented prose."""
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
    out = []
    for match in re.finditer(r"\n[ \t]*\n(?=\S)", text):
        at = match.end()
        if any(lo <= at <= hi for lo, hi in fenced):
            continue
        prev_para = text[:match.start()].rsplit("\n\n", 1)[-1]
        if prev_para.rstrip().endswith("::"):  # an RST literal block follows
            continue
        out.append(at)
    return out


class SpliceBackend(Backend):
    name = "splice"
    takes_source = True

    @classmethod
    def check_settings(cls, settings) -> None:
        if settings.source is None:
            raise BuildError("--backend splice needs --source (your documents to splice facts into)")
        if not Path(settings.source).exists():
            raise BuildError(f"{settings.source}: no such file or folder")

    @classmethod
    def identity(cls, settings) -> object:
        return {"name": "splice", "source": files_sha256(Path(settings.source))}

    def __init__(self, context):
        super().__init__(context)
        self.source = Path(self.settings.source)
        self.records = [(r.id, r.text) for r in ordinary_records(self.source) if r.text.strip()]
        if not self.records:
            raise BuildError(f"{self.source}: no documents to splice into")
        order = list(range(len(self.records)))
        rng_for(self.seed, "splice-order").shuffle(order)
        self.order = order

    def _source(self, plan: DocPlan, attempt: int) -> tuple[str, str]:
        return self.records[self.order[(plan.index + attempt * 7919) % len(self.order)]]

    def write(self, plans):
        for plan in plans:
            yield self.write_one(plan)

    def write_one(self, plan: DocPlan) -> Document | Rejection:
        if plan.kind == "background":
            source_id, text = self._source(plan, 0)
            return Document(id=plan.id, text=text, kind=plan.kind, genre="spliced", topic="source", facts=[],
                            spans=[], title=text.strip().split("\n", 1)[0][:200], extra={"source_id": source_id})
        rng = rng_for(self.seed, plan.id, "splice")
        choice = plan.facts[0]  # one passage per document: splicing several would crowd a real text
        fact = self.spec.fact(choice.fact)
        phrasings = fact.premise(choice.premise).phrasings if choice.premise else fact.phrasings[choice.explicitness]
        mention = variation.tidy(variation.expand(phrasings[choice.phrasing % len(phrasings)], rng.choice, {}))
        frame = rng.choice(FRAMES)
        lead = frame.index("{m}")
        passage = frame.replace("{m}", mention)
        lo, hi = plan.depth_range
        for attempt in range(TRIES):
            source_id, text = self._source(plan, attempt)
            piece = passage + "\n\n"
            best = None
            for at in boundaries(text):
                depth = (at + lead) / (len(text) + len(piece))
                if lo <= depth <= hi and (best is None or abs(depth - plan.depth_target) < best[0]):
                    best = (abs(depth - plan.depth_target), at)
            if best is None:
                continue
            at = best[1]
            new = text[:at] + piece + text[at:]
            span = Span(fact.id, at + lead, at + lead + len(mention), choice.explicitness, choice.premise)
            return Document(id=plan.id, text=new, kind=plan.kind, genre="spliced", topic="source", facts=[fact.id],
                            spans=[span], title=text.strip().split("\n", 1)[0][:200],
                            extra={"source_id": source_id, "inserted_at": at, "inserted_length": len(piece)})
        return Rejection(plan.id, "depth_unreachable", f"no paragraph boundary within {plan.depth_range} in {TRIES} sources")

    def backend_manifest(self) -> dict:
        return {"name": self.name, "model": None, "options": {"source": str(self.source), "documents": len(self.records)}}
