"""A content-addressed response cache in SQLite: a request that once succeeded is never paid for twice.

Each successful response is committed as soon as it arrives (WAL journal), so a build
killed with SIGKILL loses at most the requests that were in flight.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ..paths import user_cache


def default_cache_path(provider: str) -> Path:
    """~/.cache/sdfgen/<provider>-responses.sqlite (XDG_CACHE_HOME moves it)."""
    return user_cache(f"{provider}-responses.sqlite")


def request_key(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of everything that decides the answer."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, stage TEXT, response TEXT NOT NULL,"
            " created_at TEXT DEFAULT CURRENT_TIMESTAMP)")
        self.hits = 0

    def get(self, key: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self.hits += 1
        return json.loads(row[0])

    def put(self, key: str, stage: str, response: dict) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses (key, stage, response) VALUES (?, ?, ?)",
                             (key, stage, json.dumps(response, ensure_ascii=False)))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
