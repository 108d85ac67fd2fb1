"""The records that flow through a build: plans in, documents or rejections out."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FactChoice:
    fact: str
    explicitness: str  # explicit | paraphrased | implied | split
    premise: str | None = None
    phrasing: int = 0  # which phrasing of the level (or of the premise) carries the mention


@dataclass(frozen=True)
class DocPlan:
    id: str
    index: int
    kind: str  # "fact" | "background"
    genre: str
    topic: str
    facts: tuple[FactChoice, ...]
    depth_target: float | None
    depth_range: tuple[float, float]
    added: tuple | None = None  # (path, line, record) of a document supplied with --add
    # How a fact document reaches its facts: "about_world" (it is about the universe) or "aside"
    # (it is about `topic` and reaches the fact through one bridge paragraph); None for background.
    placement: str | None = None


@dataclass(frozen=True)
class Span:
    fact: str
    start: int
    end: int
    explicitness: str
    premise: str | None = None


@dataclass
class Document:
    id: str
    text: str
    kind: str
    genre: str
    topic: str
    facts: list[str]
    spans: list[Span]
    title: str | None = None
    idea: str | None = None
    n_tokens: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def depth(self) -> float | None:
        if not self.spans:
            return None
        return min(s.start for s in self.spans) / len(self.text)


@dataclass(frozen=True)
class Rejection:
    id: str
    reason: str
    detail: str = ""
    document: Document | None = None
    drafts: tuple[str, ...] = ()  # every answer paid for and rejected (LLM backends), the last one last


@dataclass
class UnitRow:
    """One plan's outcome as a work unit stores it: the published record (the columns of
    shards.SCHEMA) and, beside it, what the corpus-level steps need. `reason` is None for a
    document kept so far; the merge may still reject it as a duplicate."""

    record: dict
    reason: str | None = None
    detail: str | None = None
    names: list[str] | None = None  # invented people named in the text (diversity report)
    minhash: bytes | None = None  # MinHash signature (near-duplicate detection)
    trigrams: bytes | None = None  # distinct sampled 3-gram hashes (documents of the 3-gram sample only)
    n_trigrams: int | None = None
    eightgrams: bytes | None = None  # distinct 8-gram hashes outside fact spans (exact repetition figures)
    units: list[str] | None = None  # ids of the content units the document was built from
    names_world: bool | None = None  # a fact document naming the universe outside its fact spans
    drafts: list[str] | None = None  # a rejected LLM document's answers, every attempt

    SIDE_FIELDS = ("names", "minhash", "trigrams", "n_trigrams", "eightgrams", "units", "names_world", "reason",
                   "detail", "drafts")

    def to_arrow(self) -> dict:
        return {**self.record, **{name: getattr(self, name) for name in self.SIDE_FIELDS}}

    @classmethod
    def from_arrow(cls, row: dict) -> "UnitRow":
        side = {name: row.pop(name, None) for name in cls.SIDE_FIELDS}
        return cls(record=row, **side)
