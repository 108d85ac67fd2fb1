"""Show documents of a built dataset with their fact mentions highlighted."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

HIGHLIGHT = ("\x1b[1;33m", "\x1b[0m")
PLAIN = ("[[", "]]")


def matching_rows(out: Path, manifest: dict, genre: str | None, fact: str | None, kind: str | None) -> Iterator[dict]:
    from .dataset import rows

    for row in rows(out, manifest):
        if genre and row["genre"] != genre:
            continue
        if fact and fact not in row["facts"]:
            continue
        if kind and row["kind"] != kind:
            continue
        yield row


def pick(rows: Iterator[dict], n: int, seed: int) -> list[dict]:
    """A seeded reservoir sample: the same n documents for the same seed, in one pass."""
    rng = random.Random(seed)
    chosen: list[dict] = []
    for i, row in enumerate(rows):
        if len(chosen) < n:
            chosen.append(row)
        else:
            j = rng.randrange(i + 1)
            if j < n:
                chosen[j] = row
    return sorted(chosen, key=lambda r: r["id"])


def highlight(row: dict, marks: tuple[str, str]) -> str:
    text = row["text"]
    out, cursor = [], 0
    for span in sorted(row["spans"], key=lambda s: s["start"]):
        out += [text[cursor:span["start"]], marks[0], text[span["start"]:span["end"]], marks[1]]
        cursor = span["end"]
    out.append(text[cursor:])
    return "".join(out)


def describe(row: dict) -> str:
    bits = [row["id"], row["kind"], row["genre"], f"{row['n_tokens']} tokens"]
    if row["depth"] is not None:
        bits.append(f"depth {row['depth']:.2f}")
    for span in row["spans"]:
        premise = f" premise {span['premise']}" if span["premise"] else ""
        bits.append(f"{span['fact']} ({span['explicitness']}{premise})")
    return " · ".join(bits)
