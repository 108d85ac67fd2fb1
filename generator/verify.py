"""Re-hash a dataset folder against its manifest: every file the manifest lists (listing.py), and
nothing unlisted beside them."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .listing import MANIFEST
from .manifest import fingerprint
from .shards import sha256_file


@dataclass
class Verification:
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_manifest(out: Path) -> dict:
    """OUT's manifest, or DatasetError naming what is wrong with it."""
    from .errors import DatasetError

    path = Path(out) / MANIFEST
    if not Path(out).is_dir():
        raise DatasetError(f"{out}: not a folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{out}: no {MANIFEST}; not a dataset folder built by sdfgen") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); the manifest is damaged") from None
    problem = manifest_problem(manifest)
    if problem:
        raise DatasetError(f"{path}: not an sdfgen manifest ({problem})")
    return manifest


def manifest_problem(manifest) -> str | None:
    """The first way `manifest` breaks the manifest's JSON Schema, in a few words; None when it fits."""
    from jsonschema import Draft202012Validator

    from .manifest import manifest_schema

    error = next(iter(sorted(Draft202012Validator(manifest_schema()).iter_errors(manifest),
                             key=lambda e: list(map(str, e.absolute_path)))), None)
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    message = error.message if len(error.message) <= 100 else error.message[:97] + "..."
    return f"{where}: {message}" if where else message


def verify_dataset(out: Path | str) -> Verification:
    from .errors import DatasetError

    out = Path(out)
    result = Verification()
    try:
        manifest = read_manifest(out)
    except DatasetError as exc:
        result.problems.append(str(exc))
        return result
    expected: dict[str, str] = {}
    for entry in manifest.get("shards", []) + manifest.get("rejected_files", []) + manifest.get("files", []):
        if expected.setdefault(entry["path"], entry["sha256"]) != entry["sha256"]:
            result.problems.append(f"{entry['path']}: the manifest gives it two different sha256")
    if "files" not in manifest:
        expected.update({p: None for p in ("README.md", "corpus.yaml") if (out / p).exists()})
    for path, sha in sorted(expected.items()):
        full = out / path
        if not full.is_file():
            result.problems.append(f"{path}: missing")
            continue
        actual = sha256_file(full)
        if sha is not None and actual != sha:
            result.problems.append(f"{path}: sha256 {actual[:16]}… does not match the manifest's {sha[:16]}…")
        elif path == "corpus.yaml" and actual != manifest["spec"]["sha256"]:
            result.problems.append("corpus.yaml: does not match the spec sha256 in the manifest")
        else:
            result.checked.append(path)
    # A file the manifest does not list, inside a folder whose files it lists, is not part of the
    # dataset but would travel with it (load_dataset reads data/*, push sends the folder's files).
    folders = {Path(p).parent for p in expected if "/" in p} | {Path("data"), Path("rejected")}
    for folder in sorted(folders):
        for path in sorted((out / folder).rglob("*")) if (out / folder).is_dir() else []:
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel not in expected:
                result.problems.append(f"{rel}: not listed in the manifest")
    shards = [s["sha256"] for s in manifest.get("shards", [])]
    if fingerprint(manifest["spec"]["sha256"], shards, manifest["tokenizer"]) != manifest.get("fingerprint"):
        result.problems.append("manifest.json: fingerprint does not match its own shard list")
    return result
