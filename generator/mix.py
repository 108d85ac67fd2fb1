"""How many ordinary documents a mix takes, by documents or by tokens, read from the source in its order.

By documents, R x (synthetic documents) non-empty ordinary documents. By tokens, a prefix of
the source's non-empty documents whose total is as close as a prefix can be to R x (synthetic
tokens): a document is taken when it brings the total nearer to the target (or as near), so
the total ends within half a document of it. The source is read only that far.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Iterator

from .errors import ExportError
from .sources import SourceRecord

RATIO_BY = ("documents", "tokens")
COUNT_BATCH = 64  # documents tokenised together; the few counted past the stop are simply dropped


@dataclass
class Tally:
    """What a mix read and took from its ordinary source."""

    rows_read: int = 0  # rows of the source looked at, taken or not
    skipped_empty: int = 0  # rows whose text was empty or whitespace
    documents: int = 0  # rows taken into the mix
    tokens: int = 0  # the tokens of the rows taken


def mix_target(by: str, ratio: float, synthetic_documents: int, synthetic_tokens: int) -> int:
    if by not in RATIO_BY:
        raise ExportError(f"--ratio-by must be one of {', '.join(RATIO_BY)}, not {by!r}")
    if not ratio > 0:
        raise ExportError("--ratio must be positive with --mix")
    return round(ratio * (synthetic_documents if by == "documents" else synthetic_tokens))


def take_ordinary(records: Iterable[SourceRecord], by: str, wanted: int, tally: Tally,
                  source: str) -> Iterator[tuple[SourceRecord, int]]:
    """(record, tokens) of the ordinary documents the mix takes, streamed; ExportError if the source runs dry."""
    from .tokens import count_tokens

    def non_empty():
        for record in records:
            tally.rows_read += 1
            if record.text.strip():
                yield record
            else:
                tally.skipped_empty += 1

    stream = non_empty()
    last = 0
    while True:
        if by == "documents" and tally.documents >= wanted:
            return
        batch = list(itertools.islice(stream, COUNT_BATCH if by == "tokens" else min(COUNT_BATCH, wanted - tally.documents)))
        if not batch:
            break
        for record, n in zip(batch, count_tokens([r.text for r in batch])):
            # Take it if the total gets no farther from the target: 2 * (total + n) - 2 * wanted <= n.
            if by == "tokens" and 2 * (tally.tokens - wanted) + n > 0:
                return
            tally.documents += 1
            tally.tokens += n
            last = n
            yield record, n
    if by == "documents" and tally.documents < wanted:
        raise ExportError(f"{source}: holds {tally.documents:,} non-empty documents; the ratio needs {wanted:,}")
    if by == "tokens" and 2 * (wanted - tally.tokens) > last:  # short by more than half a document
        raise ExportError(f"{source}: holds {tally.tokens:,} tokens in {tally.documents:,} documents; the ratio "
                          f"needs about {wanted:,}")
