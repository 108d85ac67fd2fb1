"""The output folder: whether a build starts, resumes or has nothing to do, and the final swap into place.

A build works in OUT/.sdfgen-build and publishes only when complete: data/, rejected/,
README.md and corpus.yaml move into OUT first, manifest.json last, so its presence means the
dataset is whole.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

from .errors import BuildError
from .verify import verify_dataset

WORK = ".sdfgen-build"
STATE = "state.json"
PUBLISHED = ("data", "rejected", "README.md", "corpus.yaml")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def prepare(out: Path, key: str, force: bool, log: Callable[[str], None]) -> str:
    """Decide what to do with OUT: 'fresh', 'resume', or 'done'. Raise BuildError to refuse."""
    work = out / WORK
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        existing = _read_json(manifest_path)
        if existing.get("build_key") == key and not force:
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
        owned = _read_json(work / STATE).get("build_key") == key
        if others and not owned:
            raise BuildError(f"{out}: is not empty and holds no sdfgen dataset; pass --force to use it")
    if work.exists():
        if _read_json(work / STATE).get("build_key") == key:
            return "resume"
        log(f"{work}: unfinished build of other content; starting over")
        shutil.rmtree(work)
    return "fresh"


def start(out: Path, state: dict) -> Path:
    """Create the work folder (kept on resume) and record what it builds; return it."""
    work = out / WORK
    (work / "units").mkdir(parents=True, exist_ok=True)
    (work / STATE).write_text(json.dumps(state))
    return work


def publish(staging: Path, out: Path, work: Path) -> None:
    """Swap the finished dataset into OUT; manifest.json goes last, so its presence means complete.

    When OUT held a dataset, everything in it goes (plots, notes, anything the old build or a user
    put there): a replaced dataset leaves nothing behind. A folder that held no dataset keeps the
    files the build does not write. Everything moves by rename into the work folder first, so a
    crash at any point leaves either the old manifest or none, and the rerun finishes the swap.
    """
    trash = work / "replaced"
    trash.mkdir(exist_ok=True)
    held_dataset = (out / "manifest.json").exists() or (trash / "manifest.json").exists()
    if (out / "manifest.json").exists():
        os.replace(out / "manifest.json", trash / "manifest.json")  # first: OUT stops claiming to be whole
    names = {p.name for p in out.iterdir() if p.name != WORK} if held_dataset else set(PUBLISHED)
    names |= {p.name for p in staging.iterdir()}
    for name in sorted(names - {"manifest.json"}):
        if (out / name).exists() or (out / name).is_symlink():
            if (trash / name).exists():
                _remove(trash / name)
            os.replace(out / name, trash / name)
    for path in sorted(staging.iterdir()):
        if path.name != "manifest.json":
            os.replace(path, out / path.name)
    os.replace(staging / "manifest.json", out / "manifest.json")
    shutil.rmtree(work)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
