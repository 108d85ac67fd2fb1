"""Counts: plan answers at once for any count, build says what it will write before it starts, and
`--count N` (or the spec's documents.count) is the number of documents kept, rejected ones replaced
deterministically."""
import json
from collections import Counter

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import TINY

from generator import summary as summary_mod
from generator.build import BuildError, build
from generator.cli import main
from generator.library import load_spec_and_library


def quiet(_):
    pass


def shard_bytes(out):
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


def strict_spec(tmp_path, min_tokens=320, name="strict"):
    """The tiny corpus with a length floor that rejects about a quarter of its documents."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "corpus.yaml").write_text(TINY.read_text().replace("min_tokens: 50", f"min_tokens: {min_tokens}"))
    return folder


# ---------------------------------------------------------------- plan

def test_plan_answers_for_a_huge_count_without_walking_the_plans(monkeypatch):
    walked = Counter()
    real = summary_mod.plan_documents

    def counting(*args, **kwargs):
        for plan in real(*args, **kwargs):
            walked["plans"] += 1
            yield plan

    monkeypatch.setattr(summary_mod, "plan_documents", counting)
    result = CliRunner().invoke(main, ["plan", str(TINY), "--count", "1000000000000", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert walked["plans"] == 0
    assert summary["documents"] == 10 ** 12 and summary["fact_documents"] == 5 * 10 ** 11
    assert summary["exact"] is False
    assert sum(summary["by_genre"].values()) == 10 ** 12
    # Every fact document carries its primary fact, and some a second one (facts_per_document [1, 2]).
    assert 5 * 10 ** 11 < sum(summary["by_fact"].values()) < 10 ** 12
    assert sum(summary["by_explicitness"].values()) + sum(summary["split_premises"].values()) == \
        sum(summary["by_fact"].values())
    assert summary["estimated_tokens"] > 10 ** 14 and summary["estimated_disk_bytes"] > 10 ** 14


def test_closed_form_agrees_with_the_plans():
    spec, library = load_spec_and_library(TINY)
    exact = summary_mod.summarise_plans(spec, library, 7, 20_000)
    expected = summary_mod.summarise_plans(spec, library, 7, 20_000, exact_limit=0)
    assert exact["exact"] and not expected["exact"]
    for key in ("documents", "fact_documents", "background_documents"):
        assert exact[key] == expected[key]
    for key in ("by_genre", "by_fact", "by_explicitness", "split_premises"):
        assert set(exact[key]) == set(expected[key]), key
        for name, n in exact[key].items():
            assert abs(n - expected[key][name]) <= max(60, 0.06 * n), (key, name, n, expected[key][name])
    assert abs(exact["estimated_tokens"] - expected["estimated_tokens"]) < 0.03 * exact["estimated_tokens"]


def test_plan_refuses_zero():
    result = CliRunner().invoke(main, ["plan", str(TINY), "--count", "0"])
    assert result.exit_code == 2 and result.stderr.startswith("sdfgen: --count 0")


def test_build_prints_its_estimate_before_it_starts(tmp_path):
    result = CliRunner().invoke(main, ["build", str(TINY), "-o", str(tmp_path / "o"), "--count", "20"])
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "estimate:" in err
    line = next(line for line in err.splitlines() if "estimate:" in line)
    for needle in ("20 documents", "tokens", "on disk"):
        assert needle in line, line
    assert err.index("estimate:") < err.index("fingerprint")  # before the summary, i.e. before the work


# ---------------------------------------------------------------- exact counts

def test_count_is_the_number_kept_with_replacements_in_the_manifest(tmp_path):
    spec = strict_spec(tmp_path)
    manifest = build(spec, tmp_path / "o", count=30, progress=False, log=quiet).manifest
    t = manifest["totals"]
    assert t["documents"] == 30 and t["fact_documents"] == 15 and t["background_documents"] == 15
    r = manifest["replacements"]
    assert r["rounds"] >= 1 and r["planned"] == t["planned"] - 30 == t["rejected"]
    assert r["by_reason"] == {"too_short": t["rejected"]} and r["shortfall"] == 0
    rows = pq.read_table(tmp_path / "o" / "data").to_pylist()
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids) and len(ids) == 30 and ids[-1] >= "doc-00000030"  # replacements follow the plan
    # A replacement carries the primary fact of the document it replaces: the facts stay balanced.
    primaries = Counter(row["facts"][0] for row in rows if row["kind"] == "fact")
    assert primaries == {"spring-water": 8, "tuesday-closing": 7}


def test_the_spec_count_means_kept_fact_documents(tmp_path):
    spec = strict_spec(tmp_path)
    manifest = build(spec, tmp_path / "o", progress=False, log=quiet).manifest
    assert manifest["totals"]["fact_documents"] == 60 and manifest["totals"]["background_documents"] == 60
    assert manifest["requested_documents"] is None


@pytest.mark.slow  # six builds
def test_replacements_are_deterministic_for_any_worker_count_and_unit_size(tmp_path):
    spec = strict_spec(tmp_path)
    one = build(spec, tmp_path / "one", count=40, progress=False, log=quiet).manifest
    two = build(spec, tmp_path / "two", count=40, workers=2, unit_size=7, progress=False, log=quiet).manifest
    assert shard_bytes(tmp_path / "one") == shard_bytes(tmp_path / "two")
    assert one["fingerprint"] == two["fingerprint"] and one["replacements"] == two["replacements"]


def test_a_crash_inside_a_replacement_round_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    from generator import rounds as rounds_mod

    spec = strict_spec(tmp_path)
    build(spec, tmp_path / "ref", count=30, progress=False, log=quiet, unit_size=10)
    out = tmp_path / "resumed"
    real = rounds_mod.run_unit
    calls = {"n": 0}

    def crash_in_round_one(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # round 0 is units 1-3 of 10 plans; the 4th unit holds replacements
            raise KeyboardInterrupt("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(rounds_mod, "run_unit", crash_in_round_one)
    with pytest.raises(KeyboardInterrupt):
        build(spec, out, count=30, progress=False, log=quiet, unit_size=10)
    assert len(list((out / ".sdfgen-build" / "units").glob("*.arrow"))) == 3
    monkeypatch.setattr(rounds_mod, "run_unit", real)
    result = build(spec, out, count=30, progress=False, log=quiet, unit_size=10)
    assert result.units_reused == 3
    assert shard_bytes(out) == shard_bytes(tmp_path / "ref")


def test_when_nothing_can_be_kept_nothing_is_published(tmp_path):
    spec = strict_spec(tmp_path, min_tokens=4000)
    with pytest.raises(BuildError, match="too_short"):
        build(spec, tmp_path / "o", count=10, progress=False, log=quiet)
    assert not (tmp_path / "o" / "manifest.json").exists() and not (tmp_path / "o" / "data").exists()


def test_rounds_are_bounded_and_a_shortfall_is_reported(tmp_path, monkeypatch):
    from generator import rounds as rounds_mod

    monkeypatch.setattr(rounds_mod, "MAX_REPLACEMENT_ROUNDS", 1)
    notes = []
    spec = strict_spec(tmp_path, min_tokens=460)  # about half rejected: one round cannot make it up
    manifest = build(spec, tmp_path / "o", count=40, progress=False, log=notes.append).manifest
    r = manifest["replacements"]
    assert r["rounds"] == 1 and r["shortfall"] > 0
    assert manifest["totals"]["documents"] == 40 - r["shortfall"]
    assert any("short of the 40" in n for n in notes), notes


def test_replacements_never_plan_more_than_their_share(tmp_path, monkeypatch):
    from generator import rounds as rounds_mod

    monkeypatch.setattr(rounds_mod, "MAX_REPLACEMENT_SHARE", 0.1)
    spec = strict_spec(tmp_path, min_tokens=460)
    manifest = build(spec, tmp_path / "o", count=40, progress=False, log=quiet).manifest
    r = manifest["replacements"]
    assert r["planned"] == 4 and r["shortfall"] > 0
    assert manifest["totals"]["planned"] == 44
