"""Splicing facts into real text no one here wrote: installed packages' own documentation."""
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT, TINY
from realtext import without_passage

from generator.backends import BackendSettings
from generator.backends.splice import FRAMES, boundaries, paragraphs
from generator.backends.splice_carriers import CarrierIndex, Need, assign
from generator.build import BuildError, build
from generator.library import TemplateLibrary
from generator.sources import SourceRecord, files_sha256


@pytest.fixture(scope="module")
def package_docs(tmp_path_factory):
    """METADATA files (package READMEs) of the libraries installed beside the tests."""
    site = Path(pq.__file__).resolve().parents[2]
    folder = tmp_path_factory.mktemp("package-docs")
    picked = 0
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        text = meta.read_text(encoding="utf-8", errors="replace")
        if len(text) > 6000 and text.count("\n\n") > 15:
            (folder / f"{meta.parent.name}.md").write_text(text, encoding="utf-8")
            picked += 1
    if picked < 6:
        pytest.fail(f"only {picked} package READMEs found in {site}")
    return folder


def test_spliced_documents_keep_the_source_and_honour_depth(package_docs, tmp_path):
    out = tmp_path / "ds"
    manifest = build(TINY, out, settings=BackendSettings("splice", source=str(package_docs)), count=12, progress=False,
                     log=lambda m: None).manifest
    rows = pq.read_table(out / "data").to_pylist()
    assert manifest["backend"]["name"] == "splice"
    facts = [r for r in rows if r["kind"] == "fact"]
    assert facts, manifest["rejections"]
    lo, hi = manifest["depth_range"]
    for row in rows:
        source = (package_docs / row["source_id"]).read_text(encoding="utf-8", errors="replace")
        if row["kind"] == "background":
            assert row["text"] == source
            continue
        (span,) = row["spans"]
        assert lo <= row["depth"] <= hi
        rest, passage = without_passage(row["text"], span, source)
        assert rest == source
        assert passage.strip().count("\n") == 0  # one paragraph of its own


def test_boundaries_skip_code_blocks():
    text = "Intro para.\n\n```\ncode\n\nmore code\n```\n\nAfter code.\n\nExample::\n\n    indented\n\nEnd."
    spots = boundaries(text)
    assert text.index("more code") not in spots
    assert text.index("After code.") in spots
    assert text.index("    indented") not in spots
    assert text.index("End.") in spots


def test_text_without_blank_lines_breaks_paragraphs_at_lines_that_end_a_sentence():
    text = "Title line\nFirst sentence here.\nA wrapped line that goes\non and on.\n```\ncode.\nmore\n```\nLast one."
    bounds, brk = paragraphs(text)
    assert brk == "\n"
    assert bounds == [text.index("A wrapped")]  # not mid-sentence, not inside the code block
    assert paragraphs("One.\n\nTwo.\nThree.")[1] == "\n\n"


def test_splice_needs_a_source(tmp_path):
    with pytest.raises(BuildError, match="--source"):
        build(TINY, tmp_path / "o", settings=BackendSettings("splice"), progress=False, log=lambda m: None)


# ---------------------------------------------------------------- the carrier rule


def _text(words: int, paragraphs: int) -> str:
    per = max(1, words // paragraphs)
    return "\n\n".join(" ".join(f"w{p}x{i}" for i in range(per)) for p in range(paragraphs))


WINDOWS = {"forum_thread": (300, 800), "academic_paper": (900, 2000)}


def _fact(index, genre, lo=0.3, hi=0.7):
    return Need(index, genre, lead=10, passage=58, lo=lo, hi=hi)


def _assign(records, needs, tmp_path):
    consumed = []

    def stream():
        for record in records:
            consumed.append(record.id)
            yield record

    summary = assign(stream(), needs, WINDOWS, paragraphs, tmp_path / "splice")
    return summary, consumed, CarrierIndex(tmp_path / "splice")


def test_carriers_by_label_then_length_window_never_reused_and_read_only_as_needed(tmp_path):
    records = [
        SourceRecord("r0", _text(100, 3)),  # in no window: kept aside as a spare
        SourceRecord("r1", _text(500, 4), genre="academic_paper"),  # labelled: beats any window
        SourceRecord("r2", _text(500, 4)),  # forum window: the lowest waiting forum plan (background)
        SourceRecord("r3", _text(500, 1)),  # forum window, but no paragraph boundary for a fact
        SourceRecord("r4", "  \n"),
        SourceRecord("r5", _text(600, 4)),  # forum window: the fact plan
        SourceRecord("r6", _text(600, 4)),  # never read: every plan has a carrier by then
    ]
    needs = [Need(0, "forum_thread"), _fact(1, "academic_paper"), _fact(2, "forum_thread")]
    summary, consumed, index = _assign(records, needs, tmp_path)
    assert consumed == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert summary["rows_read"] == 6 and summary["skipped_empty"] == 1
    assert summary["tiers"] == {"genre": 1, "length": 2, "any": 0, "none": 0}
    got = {i: (index.carrier(i)[0]["source_id"], index.carrier(i)[1]) for i in range(3)}
    assert got == {0: ("r2", "length"), 1: ("r1", "genre"), 2: ("r5", "length")}
    assert index.carrier(1)[0]["text"] == records[1].text and index.carrier(1)[0]["genre"] == "academic_paper"


def test_spares_serve_what_no_window_could_and_the_rest_is_counted(tmp_path):
    records = [SourceRecord("a", _text(100, 4)), SourceRecord("b", _text(120, 1)), SourceRecord("c", _text(90, 5))]
    needs = [_fact(0, "academic_paper"), _fact(1, "academic_paper"), _fact(2, "academic_paper")]
    summary, consumed, index = _assign(records, needs, tmp_path)
    assert consumed == ["a", "b", "c"]
    assert summary["tiers"] == {"genre": 0, "length": 0, "any": 2, "none": 1}
    assert index.carrier(0)[0]["source_id"] == "a" and index.carrier(1)[0]["source_id"] == "c"
    assert index.carrier(2) is None  # "b" has no paragraph boundary to splice at


def test_an_insertion_point_is_inside_the_depth_range_exactly():
    text = _text(1000, 20)
    for lo, hi in ((0.2, 0.8), (0.45, 0.5), (0.0, 0.05)):
        need = _fact(0, "forum_thread", lo, hi)
        at = need.insertion(len(text), boundaries(text), 2, (lo + hi) / 2)
        if at is None:
            assert not any(lo <= (b + 10) / (len(text) + 60) <= hi for b in boundaries(text))
            continue
        assert lo <= (at + need.lead) / (len(text) + need.passage + 2) <= hi


# ---------------------------------------------------------------- builds from real text


@pytest.fixture(scope="module")
def labelled_source(tmp_path_factory):
    """Real documents in Parquet, under another text column, a third of them labelled with a genre."""
    from realtext import parquet_bytes, real_documents

    docs = real_documents()
    genres = sorted(TemplateLibrary(ROOT / "templates").genres)
    labels = [genres[i % len(genres)] if i % 3 == 0 else None for i in range(len(docs))]
    path = tmp_path_factory.mktemp("labelled") / "real.parquet"
    path.write_bytes(parquet_bytes(docs, row_group_size=16, text_column="body", genre=labels))
    return path


def _splice(source, out, **kw):
    settings = BackendSettings("splice", source=str(source), source_column="body")
    return build(TINY, out, settings=settings, progress=False, log=lambda m: None, **kw)


def _source_rows(path):
    return pq.read_table(path).to_pylist()


def test_labelled_carriers_give_their_genre_and_every_carrier_is_intact(labelled_source, tmp_path):
    from generator.library import load_spec_and_library
    from generator.plan import plan_documents

    out = tmp_path / "ds"
    manifest = _splice(labelled_source, out, count=60).manifest
    options = manifest["backend"]["options"]
    assert options["sha256"] == files_sha256(labelled_source) and options["text_column"] == "body"
    carriers = options["carriers"]
    assert sum(carriers["tiers"].values()) == carriers["plans"] == 60
    assert carriers["tiers"]["genre"] > 0 and carriers["rows_read"] < len(_source_rows(labelled_source))
    spec, _ = load_spec_and_library(TINY)
    planned = {p.id: p for p in plan_documents(spec, spec.seed, 60)}
    source = _source_rows(labelled_source)
    rows = pq.read_table(out / "data").to_pylist()
    assert len({r["source_id"] for r in rows}) == len(rows), "no carrier serves two documents"
    lo, hi = manifest["depth_range"]
    for row in rows:
        carrier = source[int(row["source_id"].rsplit(":", 1)[1])]
        assert row["source_id"] == f"{labelled_source.name}:{source.index(carrier)}"
        if row["genre"] != "spliced":  # chosen by the source's own label, which is the plan's genre
            assert row["genre"] == carrier["genre"] == planned[row["id"]].genre
        if row["kind"] == "background":
            assert row["text"] == carrier["body"]
            continue
        (span,) = row["spans"]
        assert lo <= row["depth"] <= hi
        rest, passage = without_passage(row["text"], span, carrier["body"])
        assert rest == carrier["body"]
        mention = row["text"][span["start"]:span["end"]]
        assert any(passage.strip() == frame.replace("{m}", mention) for frame in FRAMES), passage


@pytest.mark.slow
def test_carriers_do_not_depend_on_workers(labelled_source, tmp_path):
    one = tmp_path / "one"
    _splice(labelled_source, one, count=60, unit_size=10)
    two = tmp_path / "two"
    _splice(labelled_source, two, count=60, unit_size=10, workers=2)
    assert _shards(one) == _shards(two)


def test_carriers_do_not_depend_on_restarts(labelled_source, tmp_path, monkeypatch):
    import generator.backends.splice as splice_mod
    import generator.rounds as build_mod  # the round loop is where each unit runs

    one = tmp_path / "one"
    _splice(labelled_source, one, count=60, unit_size=10)
    real_unit, real_read = build_mod.run_unit, splice_mod.read_source
    calls = {"units": 0, "reads": 0}

    def crash_on_third(*args, **kwargs):
        calls["units"] += 1
        if calls["units"] == 3:
            raise KeyboardInterrupt("simulated crash")
        return real_unit(*args, **kwargs)

    def counted_read(*args, **kwargs):
        calls["reads"] += 1
        return real_read(*args, **kwargs)

    monkeypatch.setattr(build_mod, "run_unit", crash_on_third)
    monkeypatch.setattr(splice_mod, "read_source", counted_read)
    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        _splice(labelled_source, resumed, count=60, unit_size=10)
    monkeypatch.setattr(build_mod, "run_unit", real_unit)
    result = _splice(labelled_source, resumed, count=60, unit_size=10)
    assert result.units_reused == 2
    assert calls["reads"] == 1, "the carriers were chosen once; the resumed build read them from the work folder"
    assert _shards(resumed) == _shards(one)


def _shards(out):
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


def test_a_source_too_small_leaves_plans_without_carrier(tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps({"body": _text(400, 6)}) + "\n" for _ in range(1))
                     + json.dumps({"body": _text(500, 6).replace("w", "v")}) + "\n")
    manifest = _splice(small, tmp_path / "ds", count=10).manifest
    assert manifest["backend"]["options"]["carriers"]["tiers"]["none"] == 8
    # The 8 replacements find no carrier either; a round that keeps none of 8 plans is the last.
    assert manifest["replacements"]["rounds"] == 1 and manifest["replacements"]["shortfall"] == 8
    assert manifest["rejections"].get("no_carrier") == 16


def test_a_local_splice_release_rebuilds_and_refuses_changed_files(labelled_source, tmp_path):
    from click.testing import CliRunner

    from generator.cli import main

    source = tmp_path / "src.parquet"
    source.write_bytes(labelled_source.read_bytes())
    out = tmp_path / "ds"
    _splice(source, out, count=30)
    runner = CliRunner()
    released = runner.invoke(main, ["release", str(out), "--manifests", str(tmp_path / "locks")])
    assert released.exit_code == 0, released.output
    (lock,) = (tmp_path / "locks").rglob("*.json")
    again = runner.invoke(main, ["rebuild", str(lock), "-o", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert _shards(tmp_path / "again") == _shards(out)
    source.write_bytes(source.read_bytes() + b"\n")
    changed = runner.invoke(main, ["rebuild", str(lock), "-o", str(tmp_path / "changed")])
    assert changed.exit_code == 2 and "changed since the recorded sha256" in changed.output
    assert len(changed.output.strip().splitlines()) == 1
