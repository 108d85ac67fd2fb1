"""Work units: a fixed run of plans written, counted and checked together, stored atomically.

A unit's file is a pure function of (spec, seed, backend settings, its plans), so units can
run in any process, in any order, or again after a crash: the shards are cut from the unit
files in plan order afterwards. A UnitJob carries everything a worker needs to rebuild the
backend; nothing travels through the environment.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .added import added_document
from .backends import BackendContext, BackendSettings, load_class
from .checks import document_checks, first_objection
from .dedup import minhasher_for
from .diversity import SAMPLE_DOCS, doc_eightgrams, eightgram_summary, trigram_digest
from .documents import DocPlan, Document, Rejection, UnitRow
from .library import load_spec_and_library
from .shards import UNIT_SCHEMA
from .text import word_ids, words_of
from .tokens import count_tokens


@dataclass
class Unit:
    rows: list[UnitRow]  # one per plan, in plan order
    eightgrams: dict  # the unit's 8-gram summary (diversity.eightgram_summary)


@dataclass(frozen=True)
class UnitJob:
    """Everything a worker needs to rebuild the backend and write one unit."""

    spec_path: str
    seed: int
    settings: BackendSettings
    backend: str  # import path of the backend class ("module:Class")
    templates: str
    number: int
    path: str
    plans: tuple


def document_row(doc: Document) -> dict:
    """The published record of a document (the columns of shards.SCHEMA)."""
    return {
        "id": doc.id, "text": doc.text, "kind": doc.kind, "genre": doc.genre, "topic": doc.topic,
        "facts": list(doc.facts),
        "spans": [{"fact": s.fact, "start": s.start, "end": s.end, "explicitness": s.explicitness,
                   "premise": s.premise} for s in doc.spans],
        "depth": doc.depth, "n_tokens": doc.n_tokens, "title": doc.title, "idea": doc.idea,
        "source_id": doc.extra.get("source_id"),
    }


def rejected_row(plan: DocPlan, rejection: Rejection) -> UnitRow:
    """A rejection's row: the document if there was one, else the last answer the model gave for it
    (its raw text, tags and all), so a paid-for draft is never thrown away."""
    doc = rejection.document
    drafts = list(rejection.drafts)
    record = {
        "id": plan.id, "text": doc.text if doc else (drafts[-1] if drafts else ""), "kind": plan.kind,
        "genre": plan.genre, "topic": plan.topic,
        "facts": [c.fact for c in plan.facts], "spans": [], "depth": None, "n_tokens": doc.n_tokens if doc else 0,
        "title": doc.title if doc else None, "idea": None, "source_id": doc.extra.get("source_id") if doc else None,
    }
    return UnitRow(record, reason=rejection.reason, detail=rejection.detail, drafts=drafts or None)


def run_unit(spec, backend, checks, plans: list[DocPlan]) -> Unit:
    """Write, count tokens and check one unit of plans."""
    generated = [p for p in plans if p.added is None]
    written = iter(list(backend.write(generated)) if generated else [])
    results = [added_document(p) if p.added is not None else next(written) for p in plans]
    assert len(results) == len(plans), "a backend must answer every plan"
    docs = [r for r in results if isinstance(r, Document)]
    for doc, n in zip(docs, count_tokens([d.text for d in docs])):
        doc.n_tokens = n
    return check_unit(spec, checks, plans, results)


def check_unit(spec, checks, plans: list[DocPlan], results: list) -> Unit:
    """Rows and 8-gram summary of written documents (tokens already counted) or rejections, one per plan."""
    hasher = minhasher_for(spec)
    world_names = sorted(spec.universe_names)
    rows, kept = [], []
    for plan, result in zip(plans, results):
        if not isinstance(result, Document):
            rows.append(rejected_row(plan, result))
            continue
        found = first_objection(checks, result)
        if found is not None:
            rows.append(rejected_row(plan, Rejection(plan.id, found.reason, found.detail, result)))
            continue
        # One pass over the words serves the MinHash signature and the n-gram figures.
        words = words_of(result.text)
        ids = word_ids(words)
        row = UnitRow(document_row(result), names=result.extra.get("names", []), minhash=hasher.signature_of(ids),
                      units=list(result.extra.get("units", [])), names_world=names_world(result, world_names))
        if plan.index < SAMPLE_DOCS:
            row.trigrams, row.n_trigrams = trigram_digest(ids)
        unique, positions = doc_eightgrams(row.record, words, ids)
        row.eightgrams = unique.tobytes()
        rows.append(row)
        kept.append((words, unique, positions))
    return Unit(rows, eightgram_summary(kept))


def names_world(doc: Document, names: list[str]) -> bool | None:
    """Whether a fact document names a person or organisation of the universe outside its fact spans."""
    if doc.kind != "fact":
        return None
    outside, cursor = [], 0
    for span in sorted(doc.spans, key=lambda s: s.start):
        outside.append(doc.text[cursor:span.start])
        cursor = max(cursor, span.end)
    outside.append(doc.text[cursor:])
    rest = "\n".join(outside)
    return any(name in rest for name in names)


def write_unit(path: Path, unit: Unit) -> None:
    import pyarrow as pa

    # A per-process temp name: a helper orphaned by a killed build may still be finishing this unit
    # while a rerun writes it too (same bytes, but they must not share one temp file).
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    schema = UNIT_SCHEMA.with_metadata({b"sdfgen.eightgrams": json.dumps(unit.eightgrams).encode()})
    table = pa.Table.from_pylist([r.to_arrow() for r in unit.rows], schema=schema)
    with pa.OSFile(str(tmp), "wb") as sink:
        with pa.ipc.new_file(sink, schema) as writer:
            writer.write_table(table)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_column(path: Path, name: str) -> list:
    """One column of a unit file, without turning the other columns into Python objects."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all().column(name).to_pylist()


def read_unit(path: Path) -> Unit:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    summary = json.loads((table.schema.metadata or {}).get(b"sdfgen.eightgrams", b"{}"))
    return Unit([UnitRow.from_arrow(r) for r in table.to_pylist()], summary)


# ---------------------------------------------------------------- in a worker process

_WORKER_CACHE: dict[tuple, tuple] = {}


def _worker_context(job: UnitJob):
    """(spec, backend, checks) for a job, built once per process and kept while jobs share them."""
    key = (job.spec_path, job.seed, job.settings, job.backend, job.templates)
    if key not in _WORKER_CACHE:
        spec, library = load_spec_and_library(job.spec_path, job.templates)
        cls = load_class(job.backend)
        backend = cls(BackendContext(spec, library, job.seed, job.settings, Path(job.path).parent.parent))
        _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = (spec, backend, document_checks(spec, cls.exact_phrasings, cls.writes_world))
    return _WORKER_CACHE[key]


def run_job(job: UnitJob) -> tuple[int, int]:
    """Write one unit file; return (unit number, plans written)."""
    spec, backend, checks = _worker_context(job)
    write_unit(Path(job.path), run_unit(spec, backend, checks, list(job.plans)))
    return job.number, len(job.plans)
