import json

from click.testing import CliRunner
from fakehub import FakeHubServer

from generator.cli import main

TOKEN = "hf_test_token_not_for_files_42"


def _push(server, out, *extra):
    return CliRunner().invoke(main, ["push", str(out), "--repo-id", "lab/tiny-corpus", "--endpoint", server.base_url,
                                     *extra])


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


def test_push_to_a_hub_that_serves_only_the_upload_endpoints(tiny_copy, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with FakeHubServer(token=TOKEN, minimal=True) as hub:
        result = _push(hub, tiny_copy)
        assert result.exit_code == 0, result.output
        repo = hub.repos["lab/tiny-corpus"]
        assert repo.files["manifest.json"] == (tiny_copy / "manifest.json").read_bytes()
        assert "v0.1.0" in repo.tags
