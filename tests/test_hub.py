import json

import pytest
from click.testing import CliRunner
from fakehub import FakeHubServer

from generator.cli import main

TOKEN = "hf_test_token_not_for_files_42"


def _push(server, out, *extra):
    return CliRunner().invoke(main, ["push", str(out), "--repo-id", "lab/tiny-corpus", "--endpoint", server.base_url,
                                     *extra])


@pytest.mark.slow  # a push and a datasets load
def test_push_one_commit_byte_for_byte_and_tagged(tiny_copy, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    manifest = json.loads((tiny_copy / "manifest.json").read_text())
    with FakeHubServer(token=TOKEN, fail_first_commits=1, conflict_first_commits=1) as hub:
        result = _push(hub, tiny_copy, "--private")
        assert result.exit_code == 0, result.output
        repo = hub.repos["lab/tiny-corpus"]
        assert repo.private
        pushed = [c for c in repo.commits if c["title"].startswith("tiny")]
        assert len(pushed) == 1
        expected = ["README.md", "manifest.json", "corpus.yaml"] + [s["path"] for s in manifest["shards"]]
        for path in expected:
            assert repo.files[path] == (tiny_copy / path).read_bytes(), path
        assert set(pushed[0]["files"]) >= set(expected)
        assert repo.tags["v0.1.0"] == pushed[0]["oid"]
        # Pushing the same version again is a no-op commit-wise, and the tag still stands.
        again = _push(hub, tiny_copy)
        assert again.exit_code == 0, again.output
    for path in tiny_copy.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes()
    assert TOKEN not in result.output


def test_push_refuses_a_dataset_that_does_not_verify(tiny_copy, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    shard = next((tiny_copy / "data").iterdir())
    shard.write_bytes(shard.read_bytes()[:-3] + b"xyz")
    with FakeHubServer(token=TOKEN) as hub:
        result = _push(hub, tiny_copy)
        assert result.exit_code == 2 and "does not verify" in result.output
        assert "lab/tiny-corpus" not in hub.repos


def test_wrong_token_is_a_clean_error(tiny_copy, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with FakeHubServer(token=TOKEN) as hub:
        result = _push(hub, tiny_copy)
    assert result.exit_code == 2 and "refused" in result.output and "hf_wrong" not in result.output


# ---------------------------------------------------------------- refusals leave the repo untouched

REPO = "lab/tiny-corpus"


def _variant(tmp_path, name, version="0.1.0", seed=None, count=20):
    """A small build of the tiny corpus at another version or seed."""
    from conftest import TINY

    from generator.build import build

    spec_dir = tmp_path / f"spec-{name}"
    spec_dir.mkdir()
    text = TINY.read_text().replace("version: 0.1.0", f"version: {version}")
    (spec_dir / "corpus.yaml").write_text(text)
    out = tmp_path / name
    build(spec_dir, out, seed=seed, count=count, progress=False, log=lambda m: None)
    return out


def _state(hub):
    repo = hub.repos[REPO]
    return {"branches": repo.branches, "tags": repo.tags, "commits": len(repo.commits),
            "files": {b: repo.files_at(b) for b in repo.branches}}


def test_a_refused_push_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    first = _variant(tmp_path, "first", seed=1)
    other = _variant(tmp_path, "other", seed=2)
    with FakeHubServer(token=TOKEN) as hub:
        assert _push(hub, first).exit_code == 0
        before = _state(hub)
        calls = hub.commit_calls
        refused = _push(hub, other)
        assert refused.exit_code == 2
        assert "v0.1.0" in refused.output and len(refused.output.strip().splitlines()) == 1, refused.output
        assert _state(hub) == before
        assert hub.commit_calls == calls  # not even attempted
        assert hub.repos[REPO].files["manifest.json"] == (first / "manifest.json").read_bytes()


def test_pushing_what_a_tag_already_holds_is_a_no_op(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    old = _variant(tmp_path, "old", version="0.1.0")
    new = _variant(tmp_path, "new", version="0.2.0")
    with FakeHubServer(token=TOKEN) as hub:
        assert _push(hub, old).exit_code == 0
        assert _push(hub, new).exit_code == 0
        before = _state(hub)
        again = _push(hub, old)
        assert again.exit_code == 0, again.output
        assert "already" in again.output
        assert _state(hub) == before  # main still holds v0.2.0: no roll-back
        assert hub.repos[REPO].files["manifest.json"] == (new / "manifest.json").read_bytes()


def test_an_older_version_never_rolls_main_back(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    old = _variant(tmp_path, "old", version="0.1.0")
    new = _variant(tmp_path, "new", version="0.2.0")
    with FakeHubServer(token=TOKEN) as hub:
        assert _push(hub, new).exit_code == 0
        before = _state(hub)
        refused = _push(hub, old)
        assert refused.exit_code == 2 and "0.2.0" in refused.output, refused.output
        assert _state(hub) == before
        # On a branch of its own it goes through.
        assert _push(hub, old, "--branch", "v0.1-line").exit_code == 0
        assert hub.repos[REPO].files["manifest.json"] == (new / "manifest.json").read_bytes()


def test_a_hub_that_cannot_show_its_refs_is_not_pushed_to_blind(tiny_copy, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with FakeHubServer(token=TOKEN, minimal=True) as hub:
        result = _push(hub, tiny_copy)
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
        assert REPO not in hub.repos


def test_an_unreachable_hub_is_one_line(tiny_copy, monkeypatch):
    import socket

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = CliRunner().invoke(main, ["push", str(tiny_copy), "--repo-id", REPO, "--endpoint",
                                       f"http://127.0.0.1:{port}"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("sdfgen: ") and len(result.output.strip().splitlines()) == 1, result.output
    assert f"127.0.0.1:{port}" in result.output
