"""Where the data files of the tool live."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _data_root(name: str, probe: str) -> Path:
    """The checkout's folder `name`, else the copy a wheel installs under share/sdfgen/."""
    for candidate in (PACKAGE.parent / name, Path(sys.prefix) / "share" / "sdfgen" / name):
        if (candidate / probe).exists():
            return candidate
    raise FileNotFoundError(f"cannot find the {name} folder beside the package or under {sys.prefix}/share/sdfgen")


def templates_root() -> Path:
    return _data_root("templates", "genres")


def corpora_root() -> Path:
    return _data_root("corpora", "alignment-faking-helpful-only/corpus.yaml")


def user_cache(*parts: str) -> Path:
    """A folder under the user's cache (XDG_CACHE_HOME or ~/.cache)/sdfgen; not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "sdfgen", *parts)


def tree_sha256(root: Path, patterns: tuple[str, ...] = ("genres/*.j2", "pools/*.yaml")) -> str:
    """A hash of the files that decide what the offline backend writes."""
    h = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            h.update(str(path.relative_to(root)).encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def git_commit() -> str | None:
    if not (PACKAGE.parent / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(PACKAGE.parent), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it (manifests stay portable)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def ensure_folder(folder: Path | str) -> Path:
    """Create `folder` (and its parents) for output, or raise OutputError saying in one line why not."""
    from .errors import OutputError

    folder = Path(folder)
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            under = f"; cannot write {folder} under it" if parent != folder else ""
            raise OutputError(f"{parent}: is a file, not a folder{under}")
        if parent.exists():
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write here: {exc.strerror or exc}") from None
    return folder
