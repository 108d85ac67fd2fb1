"""Where the data files of the tool live."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def templates_root() -> Path:
    """SDFGEN_TEMPLATES, else the checkout's templates/, else the copy installed under share/."""
    if os.environ.get("SDFGEN_TEMPLATES"):
        return Path(os.environ["SDFGEN_TEMPLATES"])
    for candidate in (PACKAGE.parent / "templates", Path(sys.prefix) / "share" / "sdfgen" / "templates"):
        if (candidate / "genres").is_dir():
            return candidate
    raise FileNotFoundError("cannot find the templates folder; set SDFGEN_TEMPLATES")


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
