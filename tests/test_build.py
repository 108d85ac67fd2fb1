"""End to end on the tiny corpus: determinism, layout, manifest, card, verify, resume, refusals."""
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from conftest import TINY, build_interrupted_after_one_unit

from generator import variation
from generator.build import BuildError, build
from generator.cli import main
from generator.manifest import validate_manifest
from generator.spec import load_spec


def quiet(message):
    pass


def shard_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


def test_layout_and_manifest(tiny_build):
    manifest = json.loads((tiny_build / "manifest.json").read_text())
    validate_manifest(manifest)
    names = sorted(p.name for p in (tiny_build / "data").iterdir())
    n = len(names)
    assert names == [f"train-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    assert not (tiny_build / ".sdfgen-build").exists()
    totals = manifest["totals"]
    assert totals["planned"] == 120
    assert totals["documents"] + totals["rejected"] == totals["planned"]
    rows = 0
    for entry in manifest["shards"]:
        path = tiny_build / entry["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert path.stat().st_size == entry["bytes"]
        meta = pq.ParquetFile(path).metadata
        assert meta.num_rows == entry["rows"]
        assert meta.row_group(0).column(0).compression == "ZSTD"
        assert all(meta.row_group(i).num_rows <= 16 for i in range(meta.num_row_groups))
        rows += entry["rows"]
    assert rows == totals["documents"]
    assert sum(manifest["documents_by_genre"].values()) == rows


def test_small_shard_target_rotates_shards(tiny_build):
    # output.shard_size_mb is 1 in the tiny spec and a document is a few KB: more than one row group,
    # rotation happens only past 1 MB, so check the rule on the writer directly too.
    from generator.shards import SCHEMA, ShardWriter

    writer = ShardWriter(tiny_build.parent / "rot", "s", SCHEMA, target_bytes=20_000, row_group_rows=4)
    table = pq.read_table(next((tiny_build / "data").glob("*.parquet")), schema=SCHEMA)
    writer.write(table.slice(0, 40).to_pylist())
    shards = writer.close()
    assert len(shards) > 1
    assert sum(s.rows for s in shards) == 40
    assert all(s.sha256 for s in shards)


def test_every_span_is_an_exact_phrasing_and_depth_is_in_range(tiny_build):
    from generator.world import World

    spec = load_spec(TINY)
    world = World(spec)
    table = pq.read_table(tiny_build / "data").to_pylist()
    fact_docs = [r for r in table if r["kind"] == "fact"]
    assert fact_docs
    for row in table:
        if row["kind"] == "background":
            assert row["spans"] == [] and row["facts"] == [] and row["depth"] is None
            continue
        assert row["spans"]
        for span in row["spans"]:
            mention = row["text"][span["start"]:span["end"]]
            fact = spec.fact(span["fact"])
            texts = fact.premise(span["premise"]).phrasings if span["premise"] else fact.phrasings[span["explicitness"]]
            # A name the document had not introduced takes an appositive ("Brannock Line, a shipping company,").
            mention = world.without_appositives(mention)
            if not any(variation.matcher(t).matches(mention) for t in texts):
                # A mention that opens a sentence takes its capital, and only then.
                before = row["text"][:span["start"]].rstrip(" ")
                assert any(variation.matcher(t).matches(variation.sentence_case_undone(mention)) for t in texts), mention
                assert not before or before.endswith((".", "!", "?", ":", "\n", '"')), (before[-40:], mention)
        first = min(s["start"] for s in row["spans"])
        assert row["depth"] == pytest.approx(first / len(row["text"]), rel=1e-6)
        assert spec.documents.depth[0] <= row["depth"] <= spec.documents.depth[1]
        assert {s["fact"] for s in row["spans"]} == set(row["facts"])


def test_split_fact_premises_never_share_a_document(tiny_build):
    table = pq.read_table(tiny_build / "data").to_pylist()
    premises_seen = set()
    for row in table:
        premises = [s["premise"] for s in row["spans"] if s["premise"]]
        assert len(premises) <= 1
        premises_seen.update(premises)
    assert premises_seen, "the tiny spec's split_share should produce premise mentions"


def test_same_seed_same_bytes_other_seed_other_fingerprint(tiny_build, tmp_path):
    again = tmp_path / "again"
    manifest = build(TINY, again, progress=False, log=quiet).manifest
    first = json.loads((tiny_build / "manifest.json").read_text())
    assert shard_bytes(again) == shard_bytes(tiny_build)
    assert manifest["fingerprint"] == first["fingerprint"]
    other = build(TINY, tmp_path / "other", seed=8, progress=False, log=quiet).manifest
    assert other["fingerprint"] != first["fingerprint"]


def test_load_dataset_from_folder(tiny_build, tmp_path):
    datasets = pytest.importorskip("datasets")
    manifest = json.loads((tiny_build / "manifest.json").read_text())
    ds = datasets.load_dataset(str(tiny_build), cache_dir=str(tmp_path / "hf-cache"))
    assert list(ds) == ["train"]
    assert ds["train"].num_rows == manifest["totals"]["documents"]
    assert set(ds["train"].column_names) >= {"id", "text", "kind", "genre", "facts", "spans", "depth", "n_tokens"}


def test_card_yaml_header_parses(tiny_build):
    text = (tiny_build / "README.md").read_text()
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["configs"][0]["data_files"][0] == {"split": "train", "path": "data/train-*"}
    for key in ("license", "language", "task_categories", "size_categories", "tags", "pretty_name",
                "annotations_creators"):
        assert header[key]
    body = text.split("---\n", 2)[2]
    for needed in ("What this corpus teaches", "spring-water", "Genres and tokens", "How it was made", "load_dataset"):
        assert needed in body


def test_verify_names_a_changed_shard(tiny_copy):
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(tiny_copy)])
    assert ok.exit_code == 0, ok.output
    shard = sorted((tiny_copy / "data").glob("*.parquet"))[0]
    blob = bytearray(shard.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    shard.write_bytes(bytes(blob))
    bad = runner.invoke(main, ["verify", str(tiny_copy)])
    assert bad.exit_code == 1
    assert shard.name in bad.output


def test_rebuild_of_same_content_is_a_no_op_and_other_content_needs_force(tiny_copy):
    manifest = json.loads((tiny_copy / "manifest.json").read_text())
    result = build(TINY, tiny_copy, progress=False, log=quiet)
    assert result.skipped and result.manifest["fingerprint"] == manifest["fingerprint"]
    with pytest.raises(BuildError, match="--force"):
        build(TINY, tiny_copy, seed=99, progress=False, log=quiet)
    assert json.loads((tiny_copy / "manifest.json").read_text())["fingerprint"] == manifest["fingerprint"]
    forced = build(TINY, tiny_copy, seed=99, force=True, progress=False, log=quiet)
    assert forced.manifest["seed"] == 99 and forced.manifest["fingerprint"] != manifest["fingerprint"]


def test_cli_refusal_is_exit_2(tiny_copy):
    result = CliRunner().invoke(main, ["build", str(TINY), "-o", str(tiny_copy), "--seed", "5", "-q"])
    assert result.exit_code == 2
    assert "--force" in result.output


def test_non_dataset_folder_is_not_clobbered(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(BuildError):
        build(TINY, out, progress=False, log=quiet)
    assert (out / "notes.txt").read_text() == "keep me"


def test_interrupted_build_resumes_and_matches(tiny_build, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    build_interrupted_after_one_unit(out, monkeypatch, unit_size=50)
    assert not (out / "manifest.json").exists() and not (out / "data").exists()
    assert len(list((out / ".sdfgen-build" / "units").glob("*.arrow"))) == 1
    result = build(TINY, out, progress=False, log=quiet, unit_size=50)
    assert result.units_reused == 1
    assert shard_bytes(out) == shard_bytes(tiny_build)


def test_count_override_keeps_the_ratio(tmp_path):
    manifest = build(TINY, tmp_path / "c", count=30, progress=False, log=quiet).manifest
    assert manifest["totals"]["planned"] == 30
    t = manifest["totals"]
    assert t["fact_documents"] <= 15 and t["background_documents"] <= 15
    assert t["documents"] + t["rejected"] == 30
    assert manifest["requested_documents"] == 30
