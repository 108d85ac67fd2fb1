"""Documents supplied with `build --add FILE.jsonl`: planned after the spec's own, written as given, checked like the rest."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from .documents import DocPlan, Document, FactChoice, Span
from .errors import BuildError
from .plan import doc_id


def added_plans(paths, start: int, depth_range: tuple[float, float]) -> Iterator[DocPlan]:
    """One plan per non-empty line; ValueError names the file, line and field of a bad one."""
    index = start
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    text = record["text"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise ValueError(f"{path}:{line_no}: text: each line must be a JSON object with a \"text\" field")
                if not isinstance(text, str):
                    raise ValueError(f"{path}:{line_no}: text: must be a string")
                kind = record.get("kind", "background")
                facts = tuple(FactChoice(f, "explicit") for f in record.get("facts", []))
                yield DocPlan(doc_id(index), index, kind, str(record.get("genre", "added")),
                              str(record.get("topic", "added")), facts, None, depth_range,
                              added=(str(path), line_no, json.dumps(record, sort_keys=True)))
                index += 1


def added_document(plan: DocPlan) -> Document:
    record = json.loads(plan.added[2])
    spans = [Span(s["fact"], int(s["start"]), int(s["end"]), s.get("explicitness", "explicit"), s.get("premise"))
             for s in record.get("spans", [])]
    return Document(id=plan.id, text=record["text"], kind=plan.kind, genre=plan.genre, topic=plan.topic,
                    facts=[c.fact for c in plan.facts], spans=spans, title=record.get("title"))


def count_added(paths: list[Path], spec) -> int:
    """Validate --add files up front (one-line errors, nothing written); return how many documents they hold."""
    n = 0
    try:
        for plan in added_plans(paths, 0, spec.documents.depth):
            for choice in plan.facts:
                try:
                    spec.fact(choice.fact)
                except KeyError:
                    raise BuildError(f"{plan.added[0]}:{plan.added[1]}: facts: unknown fact {choice.fact!r}") from None
            n += 1
    except OSError as exc:
        raise BuildError(f"{exc.filename}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    return n
