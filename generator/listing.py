"""The manifest's list of files: every file of a dataset but the manifest itself (shards, rejected
documents, card, spec, and plots `stats --plots` wrote into the folder), each with its sha256 and
size. `verify` re-hashes them, `push` sends them, and a command that adds a file to a finished
dataset records it here, so nothing published is ever outside the check.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .shards import sha256_file

MANIFEST = "manifest.json"


def file_entry(folder: Path, path: str) -> dict:
    """The manifest's record of one file of the dataset (path relative to the folder, POSIX)."""
    full = Path(folder) / path
    return {"path": path, "sha256": sha256_file(full), "bytes": full.stat().st_size}


def list_files(folder: Path) -> list[dict]:
    """Entries for every file under `folder` but the manifest and dot-files (the build's work folder)."""
    folder = Path(folder)
    paths = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    keep = sorted(p for p in paths if p != MANIFEST and not any(part.startswith(".") for part in p.split("/")))
    return [file_entry(folder, p) for p in keep]


def listed_files(manifest: dict) -> list[str]:
    """Every file path a manifest vouches for (manifests before `files` listed shards and rejected files,
    beside a card and spec they did not hash)."""
    entries = manifest.get("shards", []) + manifest.get("rejected_files", []) + manifest.get("files", [])
    legacy = [] if "files" in manifest else ["README.md", "corpus.yaml"]
    return sorted({e["path"] for e in entries} | set(legacy))


def record_files(out: Path, paths: list[str]) -> None:
    """Add or refresh the entries of `paths` (relative to OUT) in OUT's manifest, written atomically."""
    out = Path(out)
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if "files" in manifest:
        entries = {f["path"]: f for f in manifest["files"]}
    else:  # a manifest from before the list: start it with what it vouched for
        entries = {p: file_entry(out, p) for p in listed_files(manifest) if (out / p).is_file()}
    entries.update({p: file_entry(out, p) for p in paths})
    manifest["files"] = [entries[p] for p in sorted(entries)]
    tmp = manifest_path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, manifest_path)
