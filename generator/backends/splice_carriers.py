"""Which real document (carrier) each splice plan goes into: decided once per build, stored in the work folder.

The rule, for each plan (README, "splice"):

1. A fact document's carrier must have a paragraph boundary, outside code, that puts the plan's
   own passage at a depth inside the plan's depth range. This is checked exactly, so the write
   step never misses. A background document's carrier only needs text.
2. Among carriers that qualify, the plan's genre decides the order of preference: a carrier the
   source labels with that genre (a `genre` column holding the template library's genre ids),
   then one whose length in words is inside the genre's window (the genre template's
   `length: LO-HI words`), then any. The tier each plan got is counted in the manifest.
3. A carrier serves one plan at most, so no two documents share a source text.

The source is streamed once, in its order, in the build's main process: each incoming document
goes to the waiting plan with the lowest index that it serves at the best tier it can, and the
stream stops as soon as every plan has a carrier of the first or second tier, or after
SCAN_FACTOR source documents per plan; documents that suited no waiting plan are kept aside
(on disk) as spares for the third tier. The outcome depends only on the seed, the plans and
the pinned source, never on workers or restarts: it is computed before any unit runs and
stored atomically (`slots.arrow` last), and every worker memory-maps the same files. Texts are
stored whole and untouched, so a carrier is byte-identical outside its inserted passage.
"""
from __future__ import annotations

import bisect
import json
import os
import shutil
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..sources import SourceRecord

SCAN_FACTOR = 20  # source documents read at most per plan before the spares are used
PEEK = 32  # waiting plans of a genre a carrier is tried against (they are all alike but for the passage)
SPARE_PEEK = 256  # spares a waiting fact plan is tried against, so the last tier stays linear
BATCH_ROWS = 64  # rows per Arrow record batch, so row r is in batch r // BATCH_ROWS
TIERS = ("genre", "length", "any")
FOLDER = "splice"


@dataclass(eq=False)  # identity: removing a need from its queue finds that very one
class Need:
    """What a plan asks of its carrier."""

    index: int
    genre: str
    lead: int | None = None  # fact plans: characters of the passage before the mention
    passage: int | None = None  # fact plans: characters of the passage (its paragraph break comes on top)
    lo: float = 0.0
    hi: float = 1.0

    def insertion(self, length: int, bounds, brk: int, target: float | None = None) -> int | None:
        """The boundary to insert at in a text of `length` characters with paragraph starts `bounds` and
        paragraph breaks of `brk` characters: inside the depth range, nearest `target` (or any, without
        one); None if none is. A background plan inserts nothing: 0."""
        if self.lead is None:
            return 0
        total = length + self.passage + brk
        # Candidates by arithmetic, then the exact test the checks apply (depth = start / len(text)).
        first = bisect.bisect_left(bounds, int(self.lo * total) - self.lead - 1)
        best = None
        for at in bounds[first:]:
            depth = (at + self.lead) / total
            if depth > self.hi:
                break
            if depth >= self.lo:
                if target is None:
                    return at
                if best is None or abs(depth - target) < best[0]:
                    best = (abs(depth - target), at)
        return None if best is None else best[1]


@dataclass
class Carrier:
    """What matching needs to know of a source document (its text waits elsewhere)."""

    length: int
    words: int
    genre: str | None
    bounds: array
    brk: int  # characters of the text's own paragraph break

    def serves(self, need: Need) -> bool:
        return need.insertion(self.length, self.bounds, self.brk) is not None


def _schema():
    import pyarrow as pa

    return pa.schema([("plan", pa.int64()), ("source_id", pa.string()), ("tier", pa.string()),
                      ("genre", pa.string()), ("text", pa.string())])


class _BatchedWriter:
    """An Arrow IPC file written BATCH_ROWS rows at a time, so reading row r needs only its batch."""

    def __init__(self, path: Path):
        import pyarrow as pa

        self.path, self.rows, self.count = path, [], 0
        self.sink = pa.OSFile(str(path), "wb")
        self.writer = pa.ipc.new_file(self.sink, _schema())

    def add(self, plan: int, record: SourceRecord, tier: str) -> int:
        self.rows.append({"plan": plan, "source_id": record.id, "tier": tier, "genre": record.genre,
                          "text": record.text})
        if len(self.rows) == BATCH_ROWS:
            self._flush()
        self.count += 1
        return self.count - 1

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows:
            self.writer.write_batch(pa.RecordBatch.from_pylist(self.rows, schema=_schema()))
            self.rows = []

    def close(self) -> None:
        self._flush()
        self.writer.close()
        self.sink.close()


class _Rows:
    """Random access to the rows of a _BatchedWriter file, memory-mapped."""

    def __init__(self, path: Path):
        import pyarrow as pa

        self.reader = pa.ipc.open_file(pa.memory_map(str(path)))

    def row(self, r: int) -> dict:
        batch = self.reader.get_batch(r // BATCH_ROWS)
        return {name: batch.column(name)[r % BATCH_ROWS].as_py() for name in batch.schema.names}


def assign(records: Iterable[SourceRecord], needs: list[Need], windows: dict[str, tuple[int, int]],
           paragraphs: Callable[[str], tuple[list[int], str]], folder: Path) -> dict:
    """Choose a carrier for every need and store them in `folder`; return the summary (tiers, rows read)."""
    import pyarrow as pa

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    waiting: dict[str, list[Need]] = {}
    for need in needs:
        waiting.setdefault(need.genre, []).append(need)
    unserved = len(needs)
    slot_file, slot_row = array("b", [-1]) * len(needs), array("q", [-1]) * len(needs)
    position = {need.index: i for i, need in enumerate(needs)}
    tiers = dict.fromkeys(TIERS + ("none",), 0)
    chosen, spares = _BatchedWriter(tmp / "chosen.arrow"), _BatchedWriter(tmp / "spares.arrow")
    spare_features: list[tuple[int, Carrier]] = []
    rows_read = skipped_empty = 0
    limit = SCAN_FACTOR * max(1, len(needs))
    for record in records if unserved else ():
        rows_read += 1
        if not record.text.strip():
            skipped_empty += 1
        else:
            bounds, brk = paragraphs(record.text)
            carrier = Carrier(len(record.text), len(record.text.split()), record.genre, array("l", bounds), len(brk))
            need, tier = _best_need(carrier, waiting, windows)
            if need is not None:
                waiting[need.genre].remove(need)
                unserved -= 1
                tiers[tier] += 1
                i = position[need.index]
                slot_file[i], slot_row[i] = 0, chosen.add(need.index, record, tier)
            elif len(spare_features) < 2 * unserved:  # the spare's text waits on disk, its features here
                spare_features.append((spares.add(-1, record, "any"), carrier))
        if not unserved or rows_read >= limit:  # stop pulling from the stream: a Hub source is read no further
            break
    chosen.close()
    spares.close()
    # The last tier: plans still waiting take spares in plan order. A spare without any paragraph
    # boundary can only carry a background document, so those go first to background plans.
    plain = [spare for spare in spare_features if not spare[1].bounds]
    capable = [spare for spare in spare_features if spare[1].bounds]
    for need in sorted((n for queue in waiting.values() for n in queue), key=lambda n: n.index):
        pools = (plain, capable) if need.lead is None else (capable,)
        found = None
        for pool in pools:
            k = next((k for k, (_, spare) in enumerate(pool[:SPARE_PEEK]) if spare.serves(need)), None)
            if k is not None:
                found = pool.pop(k)
                break
        if found is None:
            tiers["none"] += 1
            continue
        i = position[need.index]
        slot_file[i], slot_row[i] = 1, found[0]
        tiers["any"] += 1
    summary = {"rows_read": rows_read, "skipped_empty": skipped_empty, "tiers": tiers,
               "plans": len(needs), "scan_limit": limit}
    (tmp / "summary.json").write_text(json.dumps(summary))
    table = pa.table({"plan": [n.index for n in needs], "file": slot_file.tolist(), "row": slot_row.tolist()})
    with pa.OSFile(str(tmp / "slots.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return summary


def _best_need(carrier: Carrier, waiting: dict[str, list[Need]], windows) -> tuple[Need | None, str | None]:
    label = carrier.genre
    if label in waiting:
        for need in waiting[label][:PEEK]:
            if carrier.serves(need):
                return need, "genre"
    best = None
    for genre, queue in waiting.items():
        lo, hi = windows.get(genre, (0, -1))
        if not queue or not lo <= carrier.words <= hi or (best is not None and queue[0].index > best.index):
            continue
        for need in queue[:PEEK]:
            if best is not None and need.index > best.index:
                break
            if carrier.serves(need):
                best = need
                break
    return (best, "length") if best is not None else (None, None)


class CarrierIndex:
    """The stored assignment, memory-mapped: what a worker reads a plan's carrier from."""

    def __init__(self, folder: Path):
        import pyarrow as pa

        with pa.memory_map(str(folder / "slots.arrow")) as source:
            slots = pa.ipc.open_file(source).read_all().to_pydict()
        self.slots = {plan: (f, r) for plan, f, r in zip(slots["plan"], slots["file"], slots["row"])}
        self.files = [_Rows(folder / "chosen.arrow"), _Rows(folder / "spares.arrow")]
        self.summary = json.loads((folder / "summary.json").read_text())

    @staticmethod
    def complete(folder: Path) -> bool:
        return (folder / "slots.arrow").exists()

    def carrier(self, plan_index: int) -> tuple[dict, str] | None:
        """(row with source_id, genre, text; tier) of a plan's carrier, or None if the source had none."""
        f, r = self.slots.get(plan_index, (-1, -1))
        if f < 0:
            return None
        row = self.files[f].row(r)
        return row, row["tier"] if f == 0 else "any"
