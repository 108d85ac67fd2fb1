"""What the user reads is what happened: exit codes, what verify covers, what a replaced dataset leaves, help."""
import json
import re
import shutil

import pytest
from click.testing import CliRunner
from conftest import TINY

from generator.build import build
from generator.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def quiet(_):
    pass


def test_diff_exit_codes_follow_diff(tiny_build, tmp_path):
    twin = tmp_path / "twin"
    shutil.copytree(tiny_build, twin)
    same = run("diff", tiny_build, twin)
    assert same.exit_code == 0 and "same content" in same.output
    other = tmp_path / "other"
    build(TINY, other, seed=8, count=20, progress=False, log=quiet)
    differs = run("diff", tiny_build, other)
    assert differs.exit_code == 1 and "content differs" in differs.output
    as_json = run("diff", tiny_build, other, "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["same_content"] is False


def test_verify_covers_the_card_and_every_file_the_build_wrote(tiny_copy):
    manifest = json.loads((tiny_copy / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(tiny_copy).as_posix() for p in tiny_copy.rglob("*") if p.is_file()}
    assert listed == on_disk - {"manifest.json"}
    assert {"README.md", "corpus.yaml"} <= listed
    card = tiny_copy / "README.md"
    card.write_text(card.read_text() + "\nAn edit.\n")
    bad = run("verify", tiny_copy)
    assert bad.exit_code == 1 and "README.md" in bad.output


@pytest.mark.slow  # matplotlib
def test_plots_written_into_the_dataset_are_listed_and_verified(tiny_copy, tmp_path):
    result = run("stats", tiny_copy, "--plots", tiny_copy / "plots")
    assert result.exit_code == 0, result.output
    checked = run("verify", tiny_copy)
    assert checked.exit_code == 0, checked.output
    plots = sorted(p.name for p in (tiny_copy / "plots").iterdir())
    assert plots and all(f"plots/{name}" in checked.output for name in plots)
    listed = {f["path"] for f in json.loads((tiny_copy / "manifest.json").read_text())["files"]}
    assert {f"plots/{name}" for name in plots} <= listed
    # Plots written elsewhere are not part of the dataset and change nothing in it.
    before = (tiny_copy / "manifest.json").read_bytes()
    assert run("stats", tiny_copy, "--plots", tmp_path / "elsewhere").exit_code == 0
    assert (tiny_copy / "manifest.json").read_bytes() == before
    plot = tiny_copy / "plots" / plots[0]
    plot.write_bytes(plot.read_bytes() + b"\0")
    bad = run("verify", tiny_copy)
    assert bad.exit_code == 1 and f"plots/{plots[0]}" in bad.output
    stray = tiny_copy / "plots" / "stray.png"
    plot.unlink()
    stray.write_bytes(b"x")
    bad = run("verify", tiny_copy)
    assert "plots/stray.png: not listed" in bad.output and f"plots/{plots[0]}: missing" in bad.output


def test_a_replaced_dataset_leaves_nothing_of_the_old_one(tmp_path):
    out = tmp_path / "ds"
    build(TINY, out, count=20, progress=False, log=quiet)
    assert run("stats", out, "--plots", out / "plots").exit_code == 0
    (out / "notes.txt").write_text("scribbles inside the old dataset")
    (out / "old-extra").mkdir()
    (out / "old-extra" / "x.bin").write_bytes(b"1")
    manifest = build(TINY, out, seed=8, count=20, force=True, progress=False, log=quiet).manifest
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == {f["path"] for f in manifest["files"]} | {"manifest.json"}
    assert not (out / "plots").exists() and not (out / "old-extra").exists()
    assert run("verify", out).exit_code == 0


def test_force_into_a_folder_that_held_no_dataset_keeps_its_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    build(TINY, out, count=20, force=True, progress=False, log=quiet)
    assert (out / "notes.txt").read_text() == "keep me"
    assert run("verify", out).exit_code == 0


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"(?m)^\s+(?:-\w, )?(--[a-z-]+)", help_text))


def test_evals_help_lists_only_what_evals_uses():
    shown = _options(run("evals", "--help").output)
    assert {"--backend", "--model", "--base-url", "--cache", "--rpm", "--concurrency", "--per-fact", "--format",
            "--seed", "--out"} <= shown
    for foreign in ("--types-per-fact", "--ideas-per-type", "--words", "--revise", "--classify", "--source",
                    "--poll-interval"):
        assert foreign not in shown, foreign
    assert len(shown) <= 16, sorted(shown)
    # build keeps the whole family.
    assert {"--types-per-fact", "--revise", "--source", "--words"} <= _options(run("build", "--help").output)


def test_plots_added_to_a_dataset_from_before_the_file_list_keep_it_whole(tiny_copy):
    manifest = json.loads((tiny_copy / "manifest.json").read_text())
    del manifest["files"]  # as sdfgen 0.2.0 wrote it
    (tiny_copy / "manifest.json").write_text(json.dumps(manifest, indent=2))
    assert run("stats", tiny_copy, "--plots", tiny_copy / "plots").exit_code == 0
    listed = {f["path"] for f in json.loads((tiny_copy / "manifest.json").read_text())["files"]}
    assert {"corpus.yaml", "README.md", "plots/depth.png"} <= listed
    assert {s["path"] for s in manifest["shards"]} <= listed
    assert run("verify", tiny_copy).exit_code == 0
