"""`sdfgen report`: one self-contained HTML page about a built dataset.

The page holds the figures of `sdfgen stats`, its plots as data: URIs, and a seeded sample of the
documents (and rejected documents) as JSON that the page's own script filters and highlights. It
reads only what is in the dataset folder, so a copy downloaded from the Hub works the same.
"""
from __future__ import annotations

import json
import os
import random
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import UserError

MAX_REJECTED_SHOWN = 200
# Manifest keys the page (and stats.collect) cannot do without; a dotted name is a nested key.
REQUIRED_KEYS = ("name", "version", "fingerprint", "totals.documents", "totals.tokens", "totals.planned",
                 "documents_by_genre", "tokens_by_genre", "documents_by_fact", "rejections", "usage", "shards")
SAMPLE_COLUMNS = ["id", "kind", "genre", "facts", "spans", "n_tokens"]
PAGE_COLUMNS = ["id", "kind", "genre", "topic", "title", "facts", "spans", "depth", "n_tokens", "text"]


class ReportError(UserError):
    """Input the report cannot be made from; the message names the path and the problem."""


@dataclass
class Selection:
    """The rows embedded in the page, and how many there were to choose from."""
    rows: list[dict]
    total: int


def read_manifest(out: Path) -> dict:
    path = out / "manifest.json"
    if not out.is_dir():
        raise ReportError(f"{out}: no such dataset folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: missing; is {out} a dataset folder built by sdfgen?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON ({getattr(exc, 'msg', exc)}); the file may be truncated") from None
    if not isinstance(manifest, dict):
        raise ReportError(f"{path}: not a JSON object")
    for key in REQUIRED_KEYS:
        node = manifest
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ReportError(f"{path}: has no {key!r}; the file may be truncated or from another tool")
            node = node[part]
    for key in ("shards", "rejected_files"):
        entries = manifest.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("path"), str)
                                                    for e in entries):
            raise ReportError(f"{path}: {key!r} is not a list of files with a path each")
    return manifest


def listed_files(out: Path, entries: list[dict], required: bool = True) -> list[Path]:
    """The files a manifest lists, each checked to have the row count the manifest gives.

    A missing file is an error when `required`; otherwise it is left out, because a copy pushed to
    the Hub carries the kept shards but not rejected/.
    """
    import pyarrow.parquet as pq

    paths = []
    for entry in entries:
        path = out / entry["path"]
        if not path.is_file():
            if not required:
                continue
            raise ReportError(f"{path}: listed in manifest.json but missing")
        try:
            rows = pq.read_metadata(path).num_rows
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError or others on a damaged footer
            raise ReportError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
        if "rows" in entry and rows != entry["rows"]:
            raise ReportError(f"{path}: holds {rows} rows where manifest.json says {entry['rows']}")
        paths.append(path)
    return paths


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_rows(path: Path, columns: list[str], keep=None) -> list[dict]:
    """Rows of one shard, one row group at a time; `keep(ids)` selects rows before the costly columns are read.

    Without `keep`, every column is decoded even though only `columns` are kept: a damaged page
    anywhere in the shard then fails here, not later or never.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rows = []
    try:
        shard = pq.ParquetFile(path)
        for group in range(shard.num_row_groups):
            if keep is None:
                rows += shard.read_row_group(group).select(columns).to_pylist()
                continue
            ids = shard.read_row_group(group, columns=["id"]).column("id")
            wanted = keep(ids)
            if pc.any(wanted).as_py():
                rows += shard.read_row_group(group, columns=columns).filter(wanted).to_pylist()
    except Exception as exc:  # a damaged page surfaces as ArrowInvalid, OSError or a decompression error
        raise ReportError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    return rows


def strata_of_document(row: dict) -> set[tuple[str, str]]:
    return ({("kind", row["kind"]), ("genre", row["genre"])} | {("fact", f) for f in row["facts"]}
            | {("explicitness", s["explicitness"]) for s in row["spans"]})


def choose(rows: list[dict], limit: int, seed: int, strata) -> set[str]:
    """Ids of at most `limit` rows, the same for the same seed, in which every stratum shows up.

    One seeded shuffle of the rows (sorted by id first, so shard order does not matter): the
    first pass takes each row that brings a stratum not yet covered, the second fills up in
    shuffled order, so the rest of the sample is uniform.
    """
    order = sorted(rows, key=lambda r: r["id"])
    random.Random(seed).shuffle(order)
    chosen: set[str] = set()
    covered: set = set()
    for row in order:
        if len(chosen) >= limit:
            return chosen
        new = strata(row) - covered
        if new:
            chosen.add(row["id"])
            covered |= new
    for row in order:
        if len(chosen) >= limit:
            break
        chosen.add(row["id"])
    return chosen


def select(paths: list[Path], sample_columns: list[str], columns: list[str], limit: int, seed: int,
           strata) -> Selection:
    """Two passes: cheap columns of every row to choose, then every column of the chosen rows only."""
    import pyarrow as pa
    import pyarrow.compute as pc

    candidates = [row for path in paths for row in read_rows(path, sample_columns)]
    ids = choose(candidates, limit, seed, strata)
    value_set = pa.array(sorted(ids), type=pa.string())
    rows = [row for path in paths for row in read_rows(path, columns, lambda got: pc.is_in(got, value_set=value_set))]
    return Selection(sorted(rows, key=lambda r: r["id"]), len(candidates))


def utf16_offset(text: str, index: int) -> int:
    """JavaScript strings count UTF-16 units: a character outside the BMP (an emoji) takes two."""
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


def page_document(row: dict) -> dict:
    text = row["text"]
    astral = any(ord(ch) > 0xFFFF for ch in text)
    spans = []
    for s in sorted(row["spans"], key=lambda s: s["start"]):
        start, end = (utf16_offset(text, s["start"]), utf16_offset(text, s["end"])) if astral else (s["start"], s["end"])
        spans.append([start, end, s["fact"], s["explicitness"], s["premise"]])
    depth = row["depth"]
    return {"id": row["id"], "kind": row["kind"], "genre": row["genre"], "topic": row["topic"], "title": row["title"],
            "facts": row["facts"], "depth": None if depth is None else round(depth, 4), "n_tokens": row["n_tokens"],
            "text": text, "spans": spans}


def page_rejected(row: dict) -> dict:
    return {k: row[k] for k in ("id", "kind", "genre", "title", "facts", "n_tokens", "reason", "detail", "text")}


def json_for_script(data) -> str:
    """JSON that cannot end its <script> element early: every <, > and & becomes a \\u escape."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def plots_as_data_uris(stats: dict) -> dict[str, str]:
    import base64

    from .stats import write_plots

    with tempfile.TemporaryDirectory(prefix="sdfgen-report-") as folder:
        return {path.stem: "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
                for path in write_plots(stats, Path(folder))}


def render(out: Path | str, max_documents: int = 1000, seed: int = 0) -> str:
    """The whole page as one string; raises ReportError on input it cannot read."""
    from jinja2 import Environment

    from . import report_charts
    from .stats import collect

    out = Path(out)
    manifest = read_manifest(out)
    data = listed_files(out, manifest["shards"])
    rejected = listed_files(out, manifest.get("rejected_files", []), required=False)
    documents = select(data, SAMPLE_COLUMNS, PAGE_COLUMNS, max_documents, seed, strata_of_document)
    rejects = select(rejected, ["id", "reason"], PAGE_COLUMNS + ["reason", "detail"],
                     min(max_documents, MAX_REJECTED_SHOWN), seed, lambda r: {r["reason"]})
    try:
        stats = collect(out, manifest)
    except Exception as exc:  # the checks above should leave nothing for collect to trip on
        raise ReportError(f"{out}: cannot compute the statistics ({_first_line(exc)})") from None
    payload = {"documents": [page_document(r) for r in documents.rows],
               "rejected": [page_rejected(r) for r in rejects.rows],
               "facts": list(stats["by_fact"])}
    package = resources.files("generator")
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    page = env.from_string(package.joinpath("report_page.html.j2").read_text(encoding="utf-8"))
    return page.render(
        manifest=manifest, stats=stats, plots=plots_as_data_uris(stats), seed=seed,
        shown={"documents": len(documents.rows), "documents_total": documents.total,
               "rejected": len(rejects.rows), "rejected_total": rejects.total,
               "rejected_in_manifest": sum(stats["rejections"].values())},
        charts=report_charts.charts(stats), payload=json_for_script(payload),
        style=package.joinpath("report_page.css").read_text(encoding="utf-8"),
        script=package.joinpath("report_page.js").read_text(encoding="utf-8"))


def write_report(out: Path | str, target: Path | str | None = None, max_documents: int = 1000, seed: int = 0) -> Path:
    """Render, then write atomically: a reader never sees half a page, and a failure leaves no file."""
    out = Path(out)
    target = Path(target) if target else out / "report.html"
    page = render(out, max_documents, seed)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ReportError(f"{target}: cannot write there ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is for sharing
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ReportError(f"{target}: cannot write there ({exc.strerror or exc})") from None
        raise
    return target
