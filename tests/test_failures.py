"""Every failure a user can cause is one line on stderr naming the path, with exit 2 (1 for a failed check),
and nothing half-written: each command against a missing, empty, damaged or foreign input."""
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY, build_interrupted_after_one_unit

from generator.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line(result, code: int, *needles: str) -> str:
    """The result's single error line, after checking the exit code and that nothing else went wrong."""
    assert not (result.exception and not isinstance(result.exception, SystemExit)), repr(result.exception)
    assert result.exit_code == code, result.output
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(errors) == 1 and errors[0].startswith("sdfgen: "), result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def corrupt_shard(out: Path) -> Path:
    shard = sorted((out / "data").glob("*.parquet"))[0]
    blob = bytearray(shard.read_bytes())
    blob[len(blob) // 2: len(blob) // 2 + 200] = b"x" * 200
    shard.write_bytes(bytes(blob))
    return shard


def truncate_manifest(out: Path) -> None:
    path = out / "manifest.json"
    path.write_text(path.read_text()[:100])


# ---------------------------------------------------------------- build: where the output cannot go

def test_build_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    result = run("build", TINY, "-o", tmp_path / "afile" / "sub", "-q")
    one_line(result, 2, str(tmp_path / "afile"), "not a folder")
    assert files_under(tmp_path) == ["afile"]


def test_build_where_nothing_may_be_written(tmp_path):
    # Root ignores chmod, so aim at sysfs, where nobody may create a folder.
    result = run("build", TINY, "-o", "/sys/sdfgen-test/out", "-q")
    one_line(result, 2, "/sys/sdfgen-test")


def test_an_unwritable_folder_is_named_where_it_is_caught(tmp_path, monkeypatch):
    """The mapping itself, provoked by a PermissionError as a non-root user would see it."""
    from generator.errors import OutputError
    from generator.paths import ensure_folder

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(OutputError, match=r"out: cannot write here: Permission denied"):
        ensure_folder(tmp_path / "out")


def test_count_zero_is_refused_before_anything_is_written(tmp_path):
    result = run("build", TINY, "-o", tmp_path / "zero", "--count", "0", "-q")
    one_line(result, 2, "--count")
    assert not (tmp_path / "zero").exists()


def test_added_file_that_is_not_text_names_the_file(tmp_path):
    added = tmp_path / "docs.jsonl"
    added.write_bytes(b"\xff\xfe\x00binary")
    result = run("build", TINY, "-o", tmp_path / "o", "--add", added, "-q")
    one_line(result, 2, str(added))
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- commands on a finished dataset

@pytest.mark.parametrize("command", [["stats"], ["sample"], ["export", "--format", "text-jsonl", "-o", "{tmp}/x.jsonl"],
                                     ["release", "--manifests", "{tmp}/m"], ["diff", "{tiny}"]])
def test_a_truncated_manifest(tiny_copy, tiny_build, tmp_path, command):
    truncate_manifest(tiny_copy)
    args = [command[0], tiny_copy] + [a.format(tmp=tmp_path, out=tiny_copy, tiny=tiny_build) for a in command[1:]]
    result = run(*args)
    one_line(result, 2, "manifest.json")
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "m").exists()


def test_verify_a_truncated_manifest_is_a_failed_check(tiny_copy):
    truncate_manifest(tiny_copy)
    one_line(run("verify", tiny_copy), 1, str(tiny_copy))


@pytest.mark.parametrize("command", [["stats"], ["sample"], ["export", "--format", "text-jsonl", "-o", "{tmp}/x.jsonl"],
                                     ["stats", "--plots", "{out}/plots"], ["diff", "{tiny}"]])
def test_a_corrupted_shard(tiny_copy, tiny_build, tmp_path, command):
    shard = corrupt_shard(tiny_copy)
    before = files_under(tiny_copy)
    card = (tiny_copy / "README.md").read_bytes()
    args = [command[0], tiny_copy] + [a.format(tmp=tmp_path, out=tiny_copy, tiny=tiny_build) for a in command[1:]]
    one_line(run(*args), 2, shard.name)
    assert not (tmp_path / "x.jsonl").exists()
    assert files_under(tiny_copy) == before and (tiny_copy / "README.md").read_bytes() == card


@pytest.mark.parametrize("command", ["stats", "sample", "verify", "release", "push"])
def test_a_folder_that_is_not_a_dataset(tmp_path, command, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_unused")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("buy rye")
    extra = {"push": ["--repo-id", "a/b", "--endpoint", "http://127.0.0.1:9"],
             "release": ["--manifests", tmp_path / "m"]}.get(command, [])
    one_line(run(command, folder, *extra), 1 if command == "verify" else 2, str(folder))
    assert files_under(tmp_path) == ["notes", "notes/todo.txt"]


def test_diff_against_a_folder_that_is_not_a_dataset(tiny_build, tmp_path):
    (tmp_path / "notes").mkdir()
    one_line(run("diff", tiny_build, tmp_path / "notes"), 2, str(tmp_path / "notes"), "manifest.json")


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"manifest": {}}'])
def test_diff_and_rebuild_with_a_foreign_lock_file(tiny_build, tmp_path, content):
    lock = tmp_path / "lock.json"
    lock.write_text(content)
    one_line(run("diff", tiny_build, lock), 2, str(lock))
    one_line(run("rebuild", lock, "-o", tmp_path / "out"), 2, str(lock))
    assert not (tmp_path / "out").exists()


def test_outputs_under_a_file(tiny_build, tmp_path):
    (tmp_path / "afile").write_text("x")
    one_line(run("export", tiny_build, "--format", "text-jsonl", "-o", tmp_path / "afile" / "x.jsonl"), 2,
             str(tmp_path / "afile"))
    one_line(run("stats", tiny_build, "--plots", tmp_path / "afile" / "plots"), 2, str(tmp_path / "afile"))
    one_line(run("evals", TINY, "-o", tmp_path / "afile" / "evals"), 2, str(tmp_path / "afile"))
    one_line(run("release", tiny_build, "--manifests", tmp_path / "afile"), 2, str(tmp_path / "afile"))
    assert files_under(tmp_path) == ["afile"]


def test_fake_api_on_a_port_in_use():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        one_line(run("fake-api", "--port", s.getsockname()[1]), 2, str(s.getsockname()[1]))


def test_export_mix_that_is_not_a_source(tiny_build, tmp_path):
    mix = tmp_path / "mix.parquet"
    mix.write_bytes(b"not parquet at all")
    one_line(run("export", tiny_build, "--format", "text-jsonl", "-o", tmp_path / "x.jsonl", "--mix", mix), 2, str(mix))
    assert not (tmp_path / "x.jsonl").exists()


def test_a_spec_folder_without_a_spec(tmp_path):
    one_line(run("plan", tmp_path), 2, "corpus.yaml")
    one_line(run("build", tmp_path, "-o", tmp_path / "o"), 2, "corpus.yaml")
    assert files_under(tmp_path) == []


def test_sample_filters_that_match_nothing_are_one_line(tiny_build):
    one_line(run("sample", tiny_build, "--genre", "no_such_genre"), 1)


def test_a_damaged_work_unit_is_named_removed_and_rewritten(tiny_build, tmp_path, monkeypatch):
    from generator.build import build
    from generator.errors import BuildError

    out = tmp_path / "o"
    build_interrupted_after_one_unit(out, monkeypatch, unit_size=50)
    unit = next((out / ".sdfgen-build" / "units").glob("*.arrow"))
    unit.write_bytes(unit.read_bytes()[:200])  # a disk fault, not a kill: units are renamed into place whole
    with pytest.raises(BuildError, match=unit.name):
        build(TINY, out, progress=False, log=lambda m: None, unit_size=50)
    assert not unit.exists() and not (out / "manifest.json").exists()
    build(TINY, out, progress=False, log=lambda m: None, unit_size=50)
    assert [p.read_bytes() for p in sorted((out / "data").iterdir())] == \
        [p.read_bytes() for p in sorted((tiny_build / "data").iterdir())]


def test_a_ray_address_nothing_answers_at_is_one_line(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("build", TINY, "-o", tmp_path / "o", "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "-q")
    one_line(result, 2, f"127.0.0.1:{port}")
    assert not (tmp_path / "o").exists()


def test_a_malformed_repo_id_is_one_line(tiny_build, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_unused")
    one_line(run("push", tiny_build, "--repo-id", "bad id//x", "--endpoint", "http://127.0.0.1:9"), 2, "bad id//x")
