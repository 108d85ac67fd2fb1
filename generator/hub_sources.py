"""Hub datasets as sources of real text: a revision pinned to its commit, then rows streamed through `datasets`.

`load_dataset(..., streaming=True)` reads Parquet a row group at a time (JSON a file at a time)
and only as far as the caller iterates, so a source of billions of documents costs what is read
of it. The endpoint and the token are the client libraries' own: HF_ENDPOINT, HF_TOKEN or the
saved login. Imported only when a source is on the Hub: `datasets` takes about a second to import.
"""
from __future__ import annotations

import importlib
from typing import Iterator

from .errors import SourceError


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a refused connection, a DNS failure or a timeout raises: huggingface_hub talks through httpx2
    (2.x) or httpx, whose errors are not OSErrors; fsspec and pyarrow raise OSErrors."""
    found: list[type[BaseException]] = [OSError]
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            pass
    return tuple(found)

def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def resolve_revision(given: str, repo: str, revision: str | None) -> str:
    """The commit sha `revision` of dataset `repo` (default: the main branch) points at now."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return HfApi().dataset_info(repo, revision=revision).sha
    except RevisionNotFoundError:
        raise SourceError(f"{given}: the dataset {repo} has no revision {revision!r}") from None
    except GatedRepoError:
        raise SourceError(f"{given}: {repo} is gated; accept its terms on the Hub and set HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise SourceError(f"{given}: no dataset {repo} on {_endpoint()} (or no access to it; "
                          "set HF_TOKEN for a private one)") from None
    except OfflineModeIsEnabled:
        raise SourceError(f"{given}: HF_HUB_OFFLINE is set; a Hub source needs the Hub") from None
    except HfHubHTTPError as exc:
        raise SourceError(f"{given}: the Hub answered {_status(exc)}: {_first_line(exc)}") from None
    except _transport_errors() as exc:
        raise SourceError(f"{given}: cannot reach {_endpoint()} ({type(exc).__name__}: {_first_line(exc)})") from None


def hub_rows(given: str, repo: str, config: str | None, split: str, sha: str, text_column: str,
             genre_column: str) -> Iterator[tuple[str, str | None]]:
    """(text, genre label) of every row of one split of a Hub dataset at commit `sha`, streamed in order."""
    dataset = _open(given, repo, config, split, sha)
    columns = dataset.column_names  # None when the files do not declare their columns (some JSON)
    if columns is not None:
        if text_column not in columns:
            raise SourceError(f"{given}: no column {text_column!r} (columns: {', '.join(columns)}); "
                              "choose one with --text-column")
        has_genre = genre_column in columns and genre_column != text_column
        keep = [text_column] + ([genre_column] if has_genre else [])
        dataset = dataset.select_columns(keep)
    # Row by row: datasets still reads a Parquet record batch at a time underneath, but a batch of
    # rows asked for here could reach into the next file just to fill itself.
    rows = iter(dataset)
    try:
        yield from _rows_of(rows, given, text_column, genre_column)
    finally:
        # A reader that stops early closes the Parquet reader now, not at interpreter exit (where
        # datasets' clean-up finds pyarrow already gone and prints a traceback).
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _rows_of(rows, given: str, text_column: str, genre_column: str) -> Iterator[tuple[str, str | None]]:
    row = 0
    while True:
        try:
            example = next(rows)
        except StopIteration:
            return
        except (ValueError, *_transport_errors()) as exc:
            raise SourceError(f"{given}: reading row {row} failed: {_first_line(exc)}") from None
        if text_column not in example:
            raise SourceError(f"{given}: no column {text_column!r} (columns: {', '.join(example)}); "
                              "choose one with --text-column")
        text, genre = example[text_column], example.get(genre_column)
        if text is not None and not isinstance(text, str):
            raise SourceError(f"{given}: column {text_column!r} holds {type(text).__name__} values, not text")
        yield text or "", genre if isinstance(genre, str) and genre else None
        row += 1


def _open(given: str, repo: str, config: str | None, split: str, sha: str):
    from datasets import load_dataset
    from datasets.exceptions import DatasetNotFoundError

    try:
        return load_dataset(repo, name=config, split=split, revision=sha, streaming=True)
    except DatasetNotFoundError as exc:
        raise SourceError(f"{given}: {_first_line(exc)}") from None
    except ValueError as exc:
        # datasets' own words name what is available: "BuilderConfig 'x' not found. Available: [...]",
        # "Bad split: x. Available splits: [...]".
        raise SourceError(f"{given}: {_first_line(exc)}") from None
    except _transport_errors() as exc:
        raise SourceError(f"{given}: cannot read it from {_endpoint()}: {_first_line(exc)}") from None


def _status(exc) -> str:
    response = getattr(exc, "response", None)
    return str(getattr(response, "status_code", "an error"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
