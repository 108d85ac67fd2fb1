"""Run the flow spec -> plans -> documents -> checks -> shards -> manifest, resumably.

A build lives in OUT/.sdfgen-build until it is complete. Work units (the backend's
unit_size plans each) are written there atomically (temp file + rename), so a rerun of the same
command skips finished units. Shards are then cut from the units in plan order,
which makes the result byte-identical however often the build was interrupted.
Only then are data/, README.md and manifest.json moved into OUT (manifest last).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import __version__
from .documents import Document, DocPlan, Rejection
from .spec import CorpusSpec, SpecError, load_spec

WORK = ".sdfgen-build"
STATE = "state.json"


class BuildError(RuntimeError):
    """A refusal the user can fix (exit code 2)."""


@dataclass
class BuildResult:
    manifest: dict
    out: Path
    skipped: bool = False
    units_reused: int = 0
    notes: list[str] = field(default_factory=list)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def load_for_build(spec_path: str | Path):
    from .backends.templates import TemplateLibrary
    from .paths import templates_root

    library = TemplateLibrary(templates_root())
    spec = load_spec(spec_path, set(library.genres), set(library.topics))
    return spec, library


def build_key(spec: CorpusSpec, seed: int, total: int | None, backend: str, templates_sha: str) -> str:
    payload = {"spec": spec.sha256, "seed": seed, "total": total, "backend": backend,
               "templates": templates_sha, "generator": __version__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _chunks(plans: Iterator[DocPlan], size: int) -> Iterator[list[DocPlan]]:
    chunk: list[DocPlan] = []
    for plan in plans:
        chunk.append(plan)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _prepare_out(out: Path, key: str, force: bool, log: Callable[[str], None]) -> str:
    """Decide what to do with OUT: 'fresh', 'resume', or 'done'. Raise BuildError to refuse."""
    work = out / WORK
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        try:
            existing = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError):
            existing = {}
        if existing.get("build_key") == key and not force:
            from .verify import verify_dataset

            if not verify_dataset(out).problems:
                if work.exists():  # killed while removing the work folder after publishing
                    shutil.rmtree(work)
                return "done"
            log(f"{out}: the existing build of this spec fails verification; rebuilding it")
        elif not force:
            raise BuildError(
                f"{out}: holds a finished dataset of other content (fingerprint "
                f"{str(existing.get('fingerprint', '?'))[:12]}); pass --force to replace it")
    elif out.exists() and not force:
        others = [p.name for p in out.iterdir() if p.name != WORK]
        state = work / STATE
        owned = state.exists() and json.loads(state.read_text() or "{}").get("build_key") == key
        if others and not owned:
            raise BuildError(f"{out}: is not empty and holds no sdfgen dataset; pass --force to use it")
    if work.exists():
        state = work / STATE
        try:
            previous = json.loads(state.read_text())
        except (OSError, json.JSONDecodeError):
            previous = {}
        if previous.get("build_key") == key:
            return "resume"
        log(f"{work}: unfinished build of other content; starting over")
        shutil.rmtree(work)
    return "fresh"


def _write_unit(path: Path, unit: tuple[list[dict], dict]) -> None:
    import pyarrow as pa

    from .shards import UNIT_SCHEMA

    rows, summary = unit
    # A per-process temp name: a helper orphaned by a killed build may still be finishing this unit
    # while a rerun writes it too (same bytes, but they must not share one temp file).
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    schema = UNIT_SCHEMA.with_metadata({b"sdfgen.eightgrams": json.dumps(summary).encode()})
    table = pa.Table.from_pylist(rows, schema=schema)
    with pa.OSFile(str(tmp), "wb") as sink:
        with pa.ipc.new_file(sink, schema) as writer:
            writer.write_table(table)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_unit(path: Path) -> tuple[list[dict], dict]:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    summary = json.loads((table.schema.metadata or {}).get(b"sdfgen.eightgrams", b"{}"))
    return table.to_pylist(), summary


def _rejected_row(plan: DocPlan, rejection: Rejection) -> dict:
    doc = rejection.document
    return {
        "id": plan.id, "text": doc.text if doc else "", "kind": plan.kind, "genre": plan.genre, "topic": plan.topic,
        "facts": [c.fact for c in plan.facts], "spans": [], "depth": None, "n_tokens": doc.n_tokens if doc else 0,
        "title": doc.title if doc else None, "idea": None, "source_id": doc.extra.get("source_id") if doc else None,
        "names": None, "minhash": None,
        "reason": rejection.reason, "detail": rejection.detail,
    }


def _added_document(plan: DocPlan) -> Document:
    from .documents import Span

    record = json.loads(plan.added[2])
    spans = [Span(s["fact"], int(s["start"]), int(s["end"]), s.get("explicitness", "explicit"), s.get("premise"))
             for s in record.get("spans", [])]
    return Document(id=plan.id, text=record["text"], kind=plan.kind, genre=plan.genre, topic=plan.topic,
                    facts=[c.fact for c in plan.facts], spans=spans, title=record.get("title"))


def run_unit(spec: CorpusSpec, backend, filters, plans: list[DocPlan]) -> tuple[list[dict], dict]:
    """Write, count tokens and check one unit of plans: (one row per plan, the unit's 8-gram summary)."""
    from .tokens import count_tokens

    generated = [p for p in plans if p.added is None]
    written = iter(list(backend.write(generated)) if generated else [])
    results = [_added_document(p) if p.added is not None else next(written) for p in plans]
    assert len(results) == len(plans), "a backend must answer every plan"
    docs = [r for r in results if isinstance(r, Document)]
    for doc, n in zip(docs, count_tokens([d.text for d in docs])):
        doc.n_tokens = n
    return check_unit(spec, filters, plans, results)


def check_unit(spec: CorpusSpec, filters, plans: list[DocPlan], results: list) -> tuple[list[dict], dict]:
    """Rows and 8-gram summary of written documents (tokens already counted) or rejections, one per plan."""
    from .diversity import SAMPLE_DOCS, eightgram_summary, word_ids, words_of
    from .filters import MinHasher
    from .shards import document_row

    hasher = MinHasher(spec.shingle_words)
    rows, kept = [], []
    for plan, result in zip(plans, results):
        if isinstance(result, Document):
            reason = next((r for f in filters if (r := f.check(result))), None)
            if reason is None:
                # One pass over the words serves the MinHash signature and the n-gram figures.
                words = words_of(result.text)
                ids = word_ids(words)
                row = document_row(result, result.n_tokens)
                row.update(names=result.extra.get("names", []), minhash=hasher.signature_of(ids),
                           sample=plan.index < SAMPLE_DOCS, reason=None, detail=None)
                kept.append((row, words, ids))
            else:
                row = _rejected_row(plan, Rejection(plan.id, reason, "", result))
        else:
            row = _rejected_row(plan, result)
        rows.append(row)
    summary = eightgram_summary(kept)
    for row in rows:
        row.pop("sample", None)
    return rows, summary


def _check_added(paths: list[Path], spec: CorpusSpec) -> int:
    """Validate --add files up front (one-line errors, nothing written); return how many documents they hold."""
    from .plan import added_plans

    n = 0
    try:
        for plan in added_plans(paths, 0, spec.depth):
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


def make_backend(name: str, spec: CorpusSpec, library, seed: int, work: Path, llm_options, log,
                 source: Path | None = None):
    if name == "splice":
        from .backends.splice import SpliceBackend

        return SpliceBackend(spec, seed, source)
    if name == "templates":
        from .backends.templates import TemplatesBackend

        return TemplatesBackend(spec, library, seed)
    if name in ("anthropic", "anthropic-batch"):
        from .llm.backend import AnthropicBackend, LLMOptions

        return AnthropicBackend(spec, library, seed, llm_options or LLMOptions(), work,
                                batch=name == "anthropic-batch", log=log)
    raise BuildError(f"unknown backend {name!r} ({', '.join(BACKENDS)})")


BACKENDS = ("templates", "splice", "anthropic", "anthropic-batch")
# Options that change how fast an LLM build runs, never what it writes: not part of the build key.
PACING_OPTIONS = ("rpm", "input_tpm", "output_tpm", "concurrency", "poll_interval", "api_attempts", "base_url")


def _backend_identity(backend: str, llm_options, source) -> tuple[tuple[str, ...], object]:
    """(template files that shape the output, what else about the backend decides the bytes)."""
    if backend.startswith("anthropic"):
        options = {k: v for k, v in llm_options.manifest().items() if k not in PACING_OPTIONS}
        return ("prompts/*.j2", "pools/*.yaml"), {"name": backend, "options": options}
    if backend == "splice":
        from .export import _files_sha256

        return (), {"name": "splice", "source": _files_sha256(Path(source))}
    return ("genres/*.j2", "pools/*.yaml"), "templates"


def build(spec_path: str | Path, out: str | Path, seed: int | None = None, count: int | None = None,
          force: bool = False, progress: bool = True, log: Callable[[str], None] = _stderr,
          backend: str = "templates", llm_options=None, add: list | None = None,
          source: str | Path | None = None, workers: int = 1, executor: str = "local",
          ray_address: str | None = None) -> BuildResult:
    from .filters import document_filters
    from .paths import templates_root, tree_sha256
    from .plan import counts, plan_documents

    spec, library = load_for_build(spec_path)
    if backend not in BACKENDS:
        raise BuildError(f"unknown backend {backend!r} ({', '.join(BACKENDS)})")
    if workers < 1:
        raise BuildError("--workers must be at least 1")
    if backend.startswith("anthropic") and (workers > 1 or executor != "local"):
        raise BuildError("the anthropic backends run requests concurrently in one process; use --concurrency, "
                         "not --workers or --executor")
    if (backend == "splice") != (source is not None):
        raise BuildError("--source is required with --backend splice, and only with it")
    if source is not None and not Path(source).exists():
        raise BuildError(f"{source}: no such file or folder")
    if count is not None and count < 0:
        raise BuildError("--count must be zero or more")
    if backend.startswith("anthropic"):
        from .llm.backend import LLMOptions, MissingKey, require_key

        try:
            require_key()  # fail at once, before anything is written
        except MissingKey as exc:
            raise BuildError(str(exc)) from None
        llm_options = llm_options or LLMOptions()
    patterns, backend_id = _backend_identity(backend, llm_options, source)
    seed = spec.seed if seed is None else seed
    out = Path(out)
    templates_sha = tree_sha256(templates_root(), patterns)
    add = [Path(p) for p in (add or [])]
    n_added = _check_added(add, spec)
    if add:
        backend_id = {"backend": backend_id, "added": [hashlib.sha256(p.read_bytes()).hexdigest() for p in add]}
    key = build_key(spec, seed, count, backend_id, templates_sha)
    mode = _prepare_out(out, key, force, log)
    if backend in ("templates", "splice"):
        from .plan import surface_form_warnings

        for warning in surface_form_warnings(spec):
            log(f"warning: {warning}")
    if mode == "done":
        return BuildResult(json.loads((out / "manifest.json").read_text()), out, skipped=True)

    work = out / WORK
    units_dir = work / "units"
    units_dir.mkdir(parents=True, exist_ok=True)
    (work / STATE).write_text(json.dumps({"build_key": key, "spec": str(spec.path), "seed": seed, "count": count}))

    try:
        writer = make_backend(backend, spec, library, seed, work, llm_options, log, source)
    except ValueError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise BuildError(str(exc)) from None
    from .llm.executors import FatalAPIError  # light: the SDK itself is imported only by the anthropic backends

    try:
        writer.prepare(plan_documents(spec, seed, count))
        filters = document_filters(spec, exact_phrasings=backend in ("templates", "splice"))
        n_fact, n_background = counts(spec, count)
        planned = n_fact + n_background + n_added
        reused = 0
        import itertools

        from .plan import added_plans

        def all_plans():
            return itertools.chain(plan_documents(spec, seed, count),
                                   added_plans(add, n_fact + n_background, spec.depth))
        from tqdm import tqdm

        with tqdm(total=planned, unit="doc", desc="writing", file=sys.stderr, disable=not progress or None) as bar:
            def todo():
                nonlocal reused
                for number, unit in enumerate(_chunks(all_plans(), writer.unit_size)):
                    path = units_dir / f"unit-{number:06d}.arrow"
                    if path.exists():
                        reused += 1
                        bar.update(len(unit))
                    else:
                        yield number, path, unit

            from .engine import UnitJob, make_engine

            def write_here(job: UnitJob) -> None:
                _write_unit(Path(job.path), run_unit(spec, writer, filters, list(job.plans)))

            try:
                engine = make_engine(executor, workers, ray_address, local=write_here)
            except RuntimeError as exc:
                raise BuildError(str(exc)) from None
            jobs = (UnitJob(str(spec.path), seed, backend, str(source) if source else None,
                            str(templates_root()), number, str(path), tuple(unit))
                    for number, path, unit in todo())
            for _, written in engine.run(jobs):
                bar.update(written)
        manifest = _assemble(spec, out, work, seed, count, planned, key, templates_sha, writer)
    except FatalAPIError as exc:
        raise BuildError(str(exc)) from None
    finally:
        writer.close()
    return BuildResult(manifest, out, units_reused=reused)


def _assemble(spec: CorpusSpec, out: Path, work: Path, seed: int, count: int | None, planned: int, key: str,
              templates_sha: str, backend) -> dict:
    import pyarrow as pa

    from .card import write_card
    from .diversity import DiversityReport
    from .dedup import Duplicates
    from .filters import MinHasher
    from .manifest import CorpusStats, fingerprint, sorted_counts, validate_manifest
    from .paths import git_commit
    from .shards import REJECTED_SCHEMA, SCHEMA, ShardWriter
    from .tokens import TOKENIZER

    staging = work / "publish"
    if staging.exists():
        shutil.rmtree(staging)
    shards_dir = work / "shards"
    if shards_dir.exists():
        shutil.rmtree(shards_dir)
    writer = ShardWriter(shards_dir, "shard", SCHEMA, int(spec.shard_size_mb * 1024 * 1024), spec.row_group_rows,
                         spec.compression, spec.compression_level)
    rejected_writer = ShardWriter(staging / "rejected", "rejected", REJECTED_SCHEMA, 256 * 1024 * 1024,
                                  spec.row_group_rows, spec.compression, spec.compression_level)
    stats = CorpusStats()
    diversity = DiversityReport(spec.universe_names)
    duplicates = Duplicates(MinHasher(spec.shingle_words), spec.dedup_threshold, scratch=work)
    rejections: Counter[str] = Counter()
    considered = 0
    for path in sorted((work / "units").glob("unit-*.arrow")):
        rows, summary = _read_unit(path)
        diversity.add_unit(summary)
        for row in rows:
            if row["reason"] is None:
                considered += 1
                duplicate = duplicates.check(row)
                if duplicate:
                    row["reason"], row["detail"] = duplicate[0], f"same as {duplicate[1]}"
            names, _ = row.pop("names"), row.pop("minhash")
            trigrams, n_trigrams = row.pop("trigrams"), row.pop("n_trigrams")
            if row["reason"] is None:
                del row["reason"], row["detail"]
                stats.add(row)
                diversity.add(row, names, trigrams, n_trigrams or 0)
                writer.write([row])
            else:
                rejections[row["reason"]] += 1
                rejected_writer.write([row])
    shards = writer.close()
    rejected_files = rejected_writer.close()
    duplicates.close()

    data_dir = staging / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    n = len(shards)
    shard_entries = []
    for i, shard in enumerate(shards):
        final = data_dir / f"train-{i:05d}-of-{n:05d}.parquet"
        os.replace(shard.path, final)
        shard_entries.append({"path": f"data/{final.name}", "sha256": shard.sha256, "bytes": shard.bytes,
                              "rows": shard.rows, "tokens": shard.tokens})
    rejected_entries = [{"path": f"rejected/{r.path.name}", "sha256": r.sha256, "bytes": r.bytes, "rows": r.rows,
                         "tokens": r.tokens} for r in rejected_files]

    manifest = {
        "manifest_version": 1,
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "fingerprint": fingerprint(spec.sha256, [s["sha256"] for s in shard_entries], TOKENIZER),
        "build_key": key,
        "spec": {"path": _display_path(spec.path), "sha256": spec.sha256},
        "generator": {"version": __version__, "git_commit": git_commit()},
        "backend": {**backend.backend_manifest(), "templates_sha256": templates_sha},
        "seed": seed,
        "requested_documents": count,
        "tokenizer": TOKENIZER,
        "shards": shard_entries,
        "rejected_files": rejected_entries,
        "totals": {
            "planned": planned, "documents": stats.documents, "fact_documents": stats.by_kind["fact"],
            "background_documents": stats.by_kind["background"], "rejected": sum(rejections.values()),
            "tokens": stats.tokens, "min_tokens": stats.min_tokens, "max_tokens": stats.max_tokens,
        },
        "documents_by_genre": sorted_counts(stats.by_genre),
        "tokens_by_genre": sorted_counts(stats.tokens_by_genre),
        "documents_by_fact": sorted_counts(stats.by_fact),
        "mentions_by_explicitness": sorted_counts(stats.mentions_by_explicitness),
        "depth_range": list(spec.depth),
        "depth_percentiles": stats.depth_percentiles(),
        "depth_histogram": stats.depth_histogram(),
        "rejections": sorted_counts(rejections),
        "diversity": diversity.result(duplicates.counts["near_duplicate"] + duplicates.counts["exact_duplicate"],
                                      considered),
        "decontamination": {"ngram": spec.decontamination_ngram, "files": [
            {"path": str(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()} for f in spec.eval_prompt_files]},
        "usage": backend.usage_manifest(),
        "parent_fingerprint": None,
        "writer": {"pyarrow": pa.__version__, "compression": spec.compression,
                   "compression_level": spec.compression_level, "row_group_rows": spec.row_group_rows,
                   "shard_size_mb": spec.shard_size_mb},
        "created_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    assert manifest["totals"]["documents"] + manifest["totals"]["rejected"] == planned, "a document went missing"
    validate_manifest(manifest)
    write_card(staging / "README.md", spec, manifest)
    # The exact spec travels with the data, so a dataset folder (or Hub repo) can be rebuilt on its own.
    (staging / "corpus.yaml").write_bytes(spec.path.read_bytes())
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    _publish(staging, out, work)
    return manifest


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _publish(staging: Path, out: Path, work: Path) -> None:
    """Swap the finished dataset into OUT; manifest.json goes last, so its presence means complete."""
    trash = work / "replaced"
    trash.mkdir(exist_ok=True)
    if (out / "manifest.json").exists():
        os.replace(out / "manifest.json", trash / "manifest.json")
    for name in ("data", "rejected", "README.md", "corpus.yaml"):
        if (out / name).exists():
            os.replace(out / name, trash / name)
    for name in ("data", "rejected", "README.md", "corpus.yaml"):
        if (staging / name).exists():
            os.replace(staging / name, out / name)
    os.replace(staging / "manifest.json", out / "manifest.json")
    shutil.rmtree(work)


__all__ = ["BuildError", "BuildResult", "SpecError", "build"]
