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
        for line_no, line in _lines(path):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text = record["text"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ValueError(f"{path}:{line_no}: text: each line must be a JSON object with a \"text\" field")
            if not isinstance(text, str):
                raise ValueError(f"{path}:{line_no}: text: must be a string")
            _check_fields(record, f"{path}:{line_no}")
            kind = record.get("kind", "background")
            facts = tuple(FactChoice(f, "explicit") for f in record.get("facts", []))
            yield DocPlan(doc_id(index), index, kind, str(record.get("genre", "added")),
                          str(record.get("topic", "added")), facts, None, depth_range,
                          added=(str(path), line_no, json.dumps(record, sort_keys=True)))
            index += 1


def _check_fields(record: dict, where: str) -> None:
    """The optional fields, checked here so that a worker never meets a malformed record."""
    if record.get("kind", "background") not in ("fact", "background"):
        raise ValueError(f"{where}: kind: must be \"fact\" or \"background\"")
    facts = record.get("facts", [])
    if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
        raise ValueError(f"{where}: facts: must be a list of fact ids")
    spans = record.get("spans", [])
    if not isinstance(spans, list):
        raise ValueError(f"{where}: spans: must be a list")
    for j, span in enumerate(spans):
        if not (isinstance(span, dict) and isinstance(span.get("fact"), str)
                and all(isinstance(span.get(k), int) and not isinstance(span.get(k), bool) for k in ("start", "end"))):
            raise ValueError(f"{where}: spans[{j}]: needs a fact id and integer start and end")


def _lines(path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 file; ValueError names the first line that is not UTF-8."""
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            try:
                yield line_no, raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{path}:{line_no}: not UTF-8 text (one JSON object per line)") from None


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
