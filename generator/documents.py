"""The records that flow through a build: plans in, documents or rejections out."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FactChoice:
    fact: str
    explicitness: str  # explicit | paraphrased | implied | split
    premise: str | None = None


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
