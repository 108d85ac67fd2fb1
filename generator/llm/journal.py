"""What the API did, over every invocation of one build: errors by kind and answers possibly paid for but never received.

An append-only file in the build folder (`api.jsonl`), flushed line by line, so a SIGKILL loses
at most the line being written. Each attempt is written as sent ({"s": key}) and, when it ends,
as closed ({"c": key}) or lost ({"l": key}: the connection broke after sending, or it timed out,
so the server may have answered and billed it). Attempts sent but never closed by an earlier
invocation were in flight when it was killed. Both count towards an upper bound of answers billed
but never received; the real number is usually lower (a request may never have reached the server).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path


class ApiJournal:
    def __init__(self, path: Path | None):
        self.errors: Counter[str] = Counter()
        self.lost = 0
        self._open: Counter[str] = Counter()
        self._path = Path(path) if path is not None else None
        self._fh = None
        if self._path is not None and self._path.exists():
            for line in self._path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a kill
                self._replay(entry)
        # What an earlier invocation left open was in flight when it died.
        self.killed_in_flight = sum(self._open.values())
        self._open.clear()

    def _replay(self, entry: dict) -> None:
        if "error" in entry:
            self.errors[str(entry["error"])] += int(entry.get("n", 1))
        elif "s" in entry:
            self._open[entry["s"]] += 1
        elif "c" in entry or "l" in entry:
            key = entry.get("c") or entry.get("l")
            if self._open[key] > 0:
                self._open[key] -= 1
            if "l" in entry:
                self.lost += 1
        elif "lost" in entry:  # batch requests whose fate is unknown
            self.lost += int(entry["lost"])

    def _write(self, entry: dict) -> None:
        if self._path is None:
            return
        if self._fh is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self._path, "a", encoding="utf-8")
        self._fh.write(json.dumps(entry) + "\n")
        self._fh.flush()

    def error(self, kind: str, n: int = 1) -> None:
        self.errors[kind] += n
        self._write({"error": kind, **({"n": n} if n != 1 else {})})

    def sent(self, key: str) -> None:
        self._write({"s": key[:16]})

    def closed(self, key: str, lost: bool = False) -> None:
        if lost:
            self.lost += 1
        self._write({"l" if lost else "c": key[:16]})

    def lost_requests(self, n: int) -> None:
        """Requests of a batch create whose outcome stayed unknown and that no listed batch accounts for."""
        self.lost += n
        self._write({"lost": n})

    @property
    def unreceived_upper_bound(self) -> int:
        return self.lost + self.killed_in_flight

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
