"""Hub datasets as sources, end to end: the real `huggingface_hub` and `datasets` clients against the fake Hub.

`datasets` and `huggingface_hub` read HF_ENDPOINT and HF_HOME when they are imported, so every
command runs as a user runs it: `sdfgen` in a fresh process with HF_ENDPOINT pointing at the fake
and a fresh HF_HOME (nothing cached from another test).
"""
import io
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from conftest import TINY
from fakehub import FakeHubServer
from huggingface_hub import CommitOperationAdd, HfApi
from realtext import parquet_bytes, real_documents, without_passage

from generator.backends.splice import FRAMES
from generator.tokens import count_tokens

TOKEN = "hf_test_token_sources_7"
REPO = "lab/real-text"
CARD = """---
license: other
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
  - split: validation
    path: data/validation-*.parquet
- config_name: stdlib
  data_files:
  - split: train
    path: stdlib/*.parquet
---
# Real text for tests

License files and standard-library docstrings.
"""


def _layout(docs):
    """The repo's files: two train shards, a validation shard, and the stdlib docstrings as a second config."""
    licenses = [d for d in docs if not d[0].startswith("stdlib/")]
    stdlib = [d for d in docs if d[0].startswith("stdlib/")]
    half = len(licenses) // 2
    return {"README.md": CARD.encode(),
            "data/train-00000-of-00002.parquet": parquet_bytes(licenses[:half]),
            "data/train-00001-of-00002.parquet": parquet_bytes(licenses[half:-10]),
            "data/validation-00000-of-00001.parquet": parquet_bytes(licenses[-10:]),
            "stdlib/docstrings.parquet": parquet_bytes(stdlib)}


@pytest.fixture
def hub():
    """A fake Hub holding one real-text dataset (a fresh one per test: some tests move its main branch)."""
    with FakeHubServer(token=TOKEN) as server:
        api = HfApi(endpoint=server.base_url, token=TOKEN)
        api.create_repo(REPO, repo_type="dataset")
        files = _layout(real_documents())
        api.create_commit(REPO, [CommitOperationAdd(p, b) for p, b in files.items()], commit_message="real text",
                          repo_type="dataset")
        server.api = api
        yield server


def _rows(hub, path, revision="main"):
    return pq.read_table(io.BytesIO(hub.repo(REPO).files_at(revision)[path])).column("text").to_pylist()


def _move_main(hub):
    """A new commit on main that rewrites the first train shard (other documents, other order)."""
    docs = [d for d in real_documents() if not d[0].startswith("stdlib/")]
    hub.api.create_commit(REPO, [CommitOperationAdd("data/train-00000-of-00002.parquet",
                                                    parquet_bytes(list(reversed(docs))[:40]))],
                          commit_message="reshuffle", repo_type="dataset")


def sdfgen(hub, tmp_path, *args):
    """Run the CLI as a user would, against the fake Hub, with nothing cached."""
    home = tmp_path / f"hf-home-{len(list(tmp_path.glob('hf-home-*')))}"
    env = {**os.environ, "HF_ENDPOINT": hub.base_url, "HF_TOKEN": TOKEN, "HF_HOME": str(home),
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("HF_DATASETS_OFFLINE", None)
    result = subprocess.run([sys.executable, "-m", "generator.cli", *map(str, args)], env=env, capture_output=True,
                            text=True, timeout=600)
    result.home = home
    return result


def _one_line_error(result, *words):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdfgen: "), result.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.slow  # datasets' own retries
def test_unknown_dataset_or_revision_is_one_line(hub, tiny_build, tmp_path):
    out = tmp_path / "x.jsonl"
    missing = sdfgen(hub, tmp_path, "export", tiny_build, "--format", "text-jsonl", "-o", out,
                     "--mix", "hf://datasets/lab/missing")
    _one_line_error(missing, "hf://datasets/lab/missing", "no dataset lab/missing")
    no_rev = sdfgen(hub, tmp_path, "export", tiny_build, "--format", "text-jsonl", "-o", out,
                    "--mix", f"hf://datasets/{REPO}@v9")
    _one_line_error(no_rev, "has no revision 'v9'")
    hub.stop()  # nothing listens there any more
    gone = sdfgen(hub, tmp_path, "export", tiny_build, "--format", "text-jsonl", "-o", out,
                  "--mix", f"hf://datasets/{REPO}")
    _one_line_error(gone, "cannot reach http://127.0.0.1:", "ConnectError")
    assert not out.exists()


@pytest.mark.slow
def test_unknown_config_split_or_column_is_one_line(hub, tiny_build, tmp_path):
    out = tmp_path / "x.jsonl"
    base = ["export", tiny_build, "--format", "text-jsonl", "-o", out]
    _one_line_error(sdfgen(hub, tmp_path, *base, "--mix", f"hf://datasets/{REPO}:nope"),
                    "BuilderConfig 'nope' not found", "stdlib")
    _one_line_error(sdfgen(hub, tmp_path, *base, "--mix", f"hf://datasets/{REPO}/test"),
                    "Bad split: test", "validation")
    _one_line_error(sdfgen(hub, tmp_path, *base, "--mix", f"hf://datasets/{REPO}", "--text-column", "body"),
                    "no column 'body'", "origin, text")
    assert not out.exists()


@pytest.mark.slow
def test_token_mix_from_the_hub_is_streamed_pinned_and_rebuilt_byte_for_byte(hub, tiny_build, tmp_path):
    synthetic_tokens = json.loads((tiny_build / "manifest.json").read_text())["totals"]["tokens"]
    source = _rows(hub, "data/train-00000-of-00002.parquet")
    # A ratio the first train shard covers half over: the second must never be fetched.
    ratio = round(0.5 * sum(count_tokens(source)) / synthetic_tokens, 4)
    first = tmp_path / "first.parquet"
    args = ["--format", "parquet", "--ratio", ratio, "--ratio-by", "tokens", "--seed", "3"]
    result = sdfgen(hub, tmp_path, "export", tiny_build, "-o", first, "--mix", f"hf://datasets/{REPO}", *args)
    assert result.returncode == 0, result.stderr
    head = hub.repo(REPO).branches["main"]
    side = json.loads((tmp_path / "first.parquet.manifest.json").read_text())
    mixed = side["sources"][1]
    assert mixed["sha"] == head and mixed["revision"] is None and mixed["split"] == "train"
    assert mixed["uri"] == f"hf://datasets/{REPO}@{head}/train"

    # Exact by tokens: the first documents of the split, whole, within half a document of the target.
    rows = pq.read_table(first).to_pylist()
    ordinary = [r for r in rows if r["source"] == "ordinary"]
    by_row = {int(r["id"].rsplit("#", 1)[1]): r["text"] for r in ordinary}
    assert sorted(by_row) == list(range(len(ordinary))) and all(source[i] == t for i, t in by_row.items())
    assert all(r["id"].startswith(mixed["uri"] + "#") for r in ordinary)
    got = sum(count_tokens([r["text"] for r in ordinary]))
    wanted = round(ratio * synthetic_tokens)
    assert got == mixed["tokens"] == side["tokens"]["ordinary"]
    assert abs(got - wanted) <= max(count_tokens(source[len(ordinary) - 1:len(ordinary) + 1])) / 2
    # Streamed: the second train shard was never fetched, and nothing was cached as a download.
    assert f"{REPO}/data/train-00001-of-00002.parquet" not in hub.bytes_served
    assert f"{REPO}/data/train-00000-of-00002.parquet" in hub.bytes_served
    assert not list(result.home.rglob("*.parquet"))

    # main moves on; the pinned uri from the manifest still gives the very same bytes.
    _move_main(hub)
    again = tmp_path / "again.parquet"
    result = sdfgen(hub, tmp_path, "export", tiny_build, "-o", again, "--mix", mixed["uri"], *args)
    assert result.returncode == 0, result.stderr
    assert again.read_bytes() == first.read_bytes()
    moved = tmp_path / "moved.parquet"
    result = sdfgen(hub, tmp_path, "export", tiny_build, "-o", moved, "--mix", f"hf://datasets/{REPO}@main", *args)
    assert result.returncode == 0, result.stderr
    assert moved.read_bytes() != first.read_bytes()
    assert json.loads((tmp_path / "moved.parquet.manifest.json").read_text())["sources"][1]["sha"] == \
        hub.repo(REPO).branches["main"] != head


@pytest.mark.slow
def test_documents_mix_from_another_config(hub, tiny_build, tmp_path):
    out = tmp_path / "mix.parquet"
    result = sdfgen(hub, tmp_path, "export", tiny_build, "--format", "parquet", "-o", out,
                    "--mix", f"hf://datasets/{REPO}:stdlib/train", "--ratio", "0.3")
    assert result.returncode == 0, result.stderr
    rows = pq.read_table(out).to_pylist()
    ordinary = [r for r in rows if r["source"] == "ordinary"]
    n = sum(1 for r in rows if r["source"] == "synthetic")
    assert len(ordinary) == round(0.3 * n)
    stdlib = _rows(hub, "stdlib/docstrings.parquet")
    for r in ordinary:
        assert ":stdlib/train#" in r["id"] and r["text"] == stdlib[int(r["id"].rsplit("#", 1)[1])]


@pytest.mark.slow
def test_splice_into_hub_documents_spans_exact_and_rebuilt_from_the_lock(hub, tmp_path):
    out = tmp_path / "ds"
    source = f"hf://datasets/{REPO}@main"
    result = sdfgen(hub, tmp_path, "build", TINY, "-o", out, "--backend", "splice", "--source", source,
                    "--count", "40", "-q")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    options = manifest["backend"]["options"]
    head = hub.repo(REPO).branches["main"]
    assert options["source"] == source and options["revision"] == "main" and options["sha"] == head
    assert options["uri"] == f"hf://datasets/{REPO}@{head}/train"
    carriers = options["carriers"]
    assert sum(carriers["tiers"].values()) == carriers["plans"] == 40

    shards = {p: b for p, b in hub.repo(REPO).files_at(head).items() if p.startswith("data/train-")}
    source_rows = [t for p in sorted(shards) for t in pq.read_table(io.BytesIO(shards[p])).column("text").to_pylist()]
    rows = pq.read_table(out / "data").to_pylist()
    lo, hi = manifest["depth_range"]
    facts = 0
    for row in rows:
        uri, _, number = row["source_id"].rpartition("#")
        assert uri == options["uri"]
        carrier = source_rows[int(number)]
        if row["kind"] == "background":
            assert row["text"] == carrier
            continue
        facts += 1
        (span,) = row["spans"]
        assert lo <= row["depth"] <= hi and row["depth"] == pytest.approx(span["start"] / len(row["text"]))
        mention = row["text"][span["start"]:span["end"]]
        # Only the inserted paragraph differs from the carrier, byte for byte.
        rest, passage = without_passage(row["text"], span, carrier)
        assert any(passage.strip() == frame.replace("{m}", mention) for frame in FRAMES), passage
        assert rest.encode() == carrier.encode()
    assert facts >= 10, manifest["rejections"]

    released = sdfgen(hub, tmp_path, "release", out, "--manifests", tmp_path / "locks")
    assert released.returncode == 0, released.stderr
    (lock,) = (tmp_path / "locks").rglob("*.json")
    _move_main(hub)
    rebuilt = sdfgen(hub, tmp_path, "rebuild", lock, "-o", tmp_path / "rebuilt")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads((tmp_path / "rebuilt" / "manifest.json").read_text())["fingerprint"] == manifest["fingerprint"]
    fresh = sdfgen(hub, tmp_path, "build", TINY, "-o", tmp_path / "fresh", "--backend", "splice", "--source", source,
                   "--count", "40", "-q")
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads((tmp_path / "fresh" / "manifest.json").read_text())["backend"]["options"]["sha"] != head
