"""Versions: lock files of released datasets, diffs between versions, and rebuilds that prove themselves.

A lock file `manifests/<name>/<version>.json` holds the dataset's manifest, the spec text it
was built from, the evaluation files it was decontaminated against, and the fingerprint of
the previous release (its parent). It is to the data what a lock file is to dependencies.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import tempfile
from pathlib import Path

from .backends import BackendSettings
from .build import build
from .dataset import batches, open_dataset
from .errors import ReleaseError
from .manifest import version_key
from .paths import ensure_folder
from .verify import manifest_problem, read_manifest, verify_dataset


def read_lock(path: Path) -> dict:
    """A lock file, or ReleaseError naming it and what is wrong with it."""
    path = Path(path)
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleaseError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{path}:{exc.lineno}: not a lock file (invalid JSON: {exc.msg})") from None
    if not isinstance(lock, dict) or not isinstance(lock.get("spec_text"), str) or "manifest" not in lock:
        raise ReleaseError(f"{path}: not an sdfgen lock file (it needs a manifest and spec_text; "
                           "`sdfgen release` writes them)")
    problem = manifest_problem(lock["manifest"])
    if problem:
        raise ReleaseError(f"{path}: the lock file's manifest is damaged ({problem})")
    return lock


def lock_path(root: Path, name: str, version: str) -> Path:
    return Path(root) / name / f"{version}.json"


def previous_release(root: Path, name: str, version: str) -> dict | None:
    folder = Path(root) / name
    older = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        lock = read_lock(path)
        if version_key(lock["manifest"]["version"]) < version_key(version):
            older.append(lock)
    return max(older, key=lambda lk: version_key(lk["manifest"]["version"]), default=None)


def release(out: Path, root: Path) -> tuple[Path, bool]:
    """Record OUT's version; return (lock path, created). Refuses a version number reused for new content."""
    out = Path(out)
    check = verify_dataset(out)
    if check.problems:
        raise ReleaseError(f"{out}: does not verify ({check.problems[0]}); rebuild it before releasing")
    manifest = read_manifest(out)
    target = lock_path(root, manifest["name"], manifest["version"])
    if target.exists():
        existing = read_lock(target)
        if existing["manifest"]["fingerprint"] == manifest["fingerprint"]:
            return target, False
        raise ReleaseError(
            f"{target}: version {manifest['version']} was already released with fingerprint "
            f"{existing['manifest']['fingerprint'][:16]}…; bump the version in the spec for new content")
    spec_file = out / "corpus.yaml"
    if not spec_file.exists():
        raise ReleaseError(f"{out}: has no corpus.yaml beside its data; rebuild with this version of sdfgen")
    parent = previous_release(root, manifest["name"], manifest["version"])
    manifest = {**manifest, "parent_fingerprint": parent["manifest"]["fingerprint"] if parent else None}
    lock = {
        "lock_version": 1,
        "manifest": manifest,
        "spec_text": spec_file.read_text(encoding="utf-8"),
        "eval_files": {name: text for name, text in _eval_files(out).items()},
    }
    ensure_folder(target.parent)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(target)
    # The dataset's own manifest learns its parent too (outside the fingerprint).
    local = json.loads((out / "manifest.json").read_text())
    local["parent_fingerprint"] = manifest["parent_fingerprint"]
    (out / "manifest.json").write_text(json.dumps(local, indent=2) + "\n")
    return target, True


def _eval_files(out: Path) -> dict[str, str]:
    manifest = json.loads((Path(out) / "manifest.json").read_text())
    files = {}
    for entry in manifest.get("decontamination", {}).get("files", []):
        path = Path(entry["path"])
        if path.exists():
            files[path.name] = path.read_text(encoding="utf-8")
    return files


def rebuild(lock_file: Path, out: Path, force: bool = False, log=None) -> tuple[dict, bool]:
    """Build the locked version again into OUT; return (new manifest, fingerprint matches)."""
    lock = read_lock(lock_file)
    m = lock["manifest"]
    settings = _offline_settings(lock_file, m["backend"])
    with tempfile.TemporaryDirectory(prefix="sdfgen-rebuild-") as tmp:
        spec_dir = Path(tmp) / m["name"]
        spec_dir.mkdir()
        spec_path = spec_dir / "corpus.yaml"
        spec_path.write_text(lock["spec_text"], encoding="utf-8")
        if hashlib.sha256(spec_path.read_bytes()).hexdigest() != m["spec"]["sha256"]:
            raise ReleaseError(f"{lock_file}: spec_text does not match the locked spec sha256")
        if lock.get("eval_files"):
            (spec_dir / "evals").mkdir()
            for name, text in lock["eval_files"].items():
                (spec_dir / "evals" / name).write_text(text, encoding="utf-8")
        result = build(spec_path, out, seed=m["seed"], count=m.get("requested_documents"), force=force,
                       progress=log is not None, log=log or (lambda _: None), settings=settings)
    return result.manifest, result.manifest["fingerprint"] == m["fingerprint"]


def _offline_settings(lock_file: Path, backend: dict) -> BackendSettings:
    """The backend settings a locked build ran with, for the backends whose bytes are reproducible."""
    if backend["name"] == "templates":
        return BackendSettings()
    if backend["name"] == "splice":
        # The source as given, read at the recorded pin: the Hub commit it resolved to, or the
        # sha256 its local files must still have.
        options = backend.get("options") or {}
        pin = options.get("sha") or options.get("sha256")
        if not options.get("source") or not pin:
            raise ReleaseError(f"{lock_file}: the splice build records no source pin; rebuild it with `build`")
        return BackendSettings("splice", source=options["source"], source_column=options.get("text_column", "text"),
                               source_pin=pin)
    raise ReleaseError(f"{lock_file}: built with the {backend['name']} backend; only offline builds are rebuilt "
                       "byte for byte (LLM answers replay from the response cache with `build`)")


# ---------------------------------------------------------------- diff

def _load_side(path: Path) -> dict:
    """A dataset folder or a lock file, as (manifest, spec text, per-id text hashes or None)."""
    path = Path(path)
    if path.is_dir():
        manifest = open_dataset(path)
        spec = (path / "corpus.yaml").read_text(encoding="utf-8") if (path / "corpus.yaml").exists() else None
        return {"manifest": manifest, "spec": spec, "docs": _doc_hashes(path, manifest), "label": str(path)}
    lock = read_lock(path)
    return {"manifest": lock["manifest"], "spec": lock.get("spec_text"), "docs": None, "label": str(path)}


def _doc_hashes(out: Path, manifest: dict) -> dict[str, str]:
    hashes = {}
    for batch in batches(out, manifest, ["id", "text"]):
        for doc_id, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist()):
            hashes[doc_id] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return hashes


def diff(a_path: Path, b_path: Path) -> dict:
    a, b = _load_side(a_path), _load_side(b_path)
    ma, mb = a["manifest"], b["manifest"]
    out = {
        "a": {"label": a["label"], "version": ma["version"], "fingerprint": ma["fingerprint"]},
        "b": {"label": b["label"], "version": mb["version"], "fingerprint": mb["fingerprint"]},
        "same_content": ma["fingerprint"] == mb["fingerprint"],
        "documents": {"a": ma["totals"]["documents"], "b": mb["totals"]["documents"],
                      "delta": mb["totals"]["documents"] - ma["totals"]["documents"]},
        "tokens": {"a": ma["totals"]["tokens"], "b": mb["totals"]["tokens"],
                   "delta": mb["totals"]["tokens"] - ma["totals"]["tokens"]},
        "genres": _delta(ma["documents_by_genre"], mb["documents_by_genre"]),
        "tokens_by_genre": _delta(ma["tokens_by_genre"], mb["tokens_by_genre"]),
        "facts": _delta(ma["documents_by_fact"], mb["documents_by_fact"]),
        "seed": [ma["seed"], mb["seed"]] if ma["seed"] != mb["seed"] else None,
        "spec_changed": ma["spec"]["sha256"] != mb["spec"]["sha256"],
        "spec_diff": None,
        "by_id": None,
    }
    if out["spec_changed"] and a["spec"] is not None and b["spec"] is not None:
        out["spec_diff"] = "".join(difflib.unified_diff(a["spec"].splitlines(True), b["spec"].splitlines(True),
                                                       f"a/{ma['version']}/corpus.yaml", f"b/{mb['version']}/corpus.yaml"))
    if a["docs"] is not None and b["docs"] is not None:
        ids_a, ids_b = set(a["docs"]), set(b["docs"])
        common = ids_a & ids_b
        changed = sorted(i for i in common if a["docs"][i] != b["docs"][i])
        out["by_id"] = {"added": sorted(ids_b - ids_a), "removed": sorted(ids_a - ids_b), "changed": changed,
                        "unchanged": len(common) - len(changed)}
    return out


def _delta(a: dict, b: dict) -> dict:
    keys = sorted(set(a) | set(b))
    return {k: {"a": a.get(k, 0), "b": b.get(k, 0), "delta": b.get(k, 0) - a.get(k, 0)}
            for k in keys if a.get(k, 0) != b.get(k, 0)}


def render_diff(d: dict, limit: int = 10) -> str:
    lines = [f"a: {d['a']['label']} v{d['a']['version']} {d['a']['fingerprint'][:16]}",
             f"b: {d['b']['label']} v{d['b']['version']} {d['b']['fingerprint'][:16]}",
             "same content" if d["same_content"] else "content differs",
             f"documents {d['documents']['a']:,} -> {d['documents']['b']:,} ({d['documents']['delta']:+,})",
             f"tokens {d['tokens']['a']:,} -> {d['tokens']['b']:,} ({d['tokens']['delta']:+,})"]
    if d["seed"]:
        lines.append(f"seed {d['seed'][0]} -> {d['seed'][1]}")
    if d["by_id"]:
        bi = d["by_id"]
        lines.append(f"by id: {len(bi['added'])} added, {len(bi['removed'])} removed, {len(bi['changed'])} changed, "
                     f"{bi['unchanged']} unchanged")
        for kind in ("added", "removed", "changed"):
            if bi[kind]:
                more = f" (+{len(bi[kind]) - limit} more)" if len(bi[kind]) > limit else ""
                lines.append(f"  {kind}: {', '.join(bi[kind][:limit])}{more}")
    for title, key in (("genres", "genres"), ("tokens by genre", "tokens_by_genre"), ("facts", "facts")):
        if d[key]:
            lines.append(f"{title}:")
            lines += [f"  {k:<28} {v['a']:>8,} -> {v['b']:>8,} ({v['delta']:+,})" for k, v in d[key].items()]
    if d["spec_changed"]:
        lines.append("spec changed" + (":" if d["spec_diff"] else " (texts not available)"))
        if d["spec_diff"]:
            lines.append(d["spec_diff"].rstrip())
    return "\n".join(lines)
