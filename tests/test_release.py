import json

import pytest
from click.testing import CliRunner
from conftest import TINY

from generator.cli import main


@pytest.mark.slow  # three builds
def test_release_diff_rebuild_round_trip(tiny_copy, tmp_path):
    runner = CliRunner()
    root = tmp_path / "manifests"
    first = runner.invoke(main, ["release", str(tiny_copy), "--manifests", str(root)])
    assert first.exit_code == 0, first.output
    lock = root / "tiny" / "0.1.0.json"
    data = json.loads(lock.read_text())
    assert data["manifest"]["parent_fingerprint"] is None and "Orbis" in data["spec_text"]
    again = runner.invoke(main, ["release", str(tiny_copy), "--manifests", str(root)])
    assert again.exit_code == 0 and "already recorded" in again.output

    rebuilt = tmp_path / "rebuilt"
    result = runner.invoke(main, ["rebuild", str(lock), "-o", str(rebuilt)])
    assert result.exit_code == 0, result.output
    assert json.loads((rebuilt / "manifest.json").read_text())["fingerprint"] == data["manifest"]["fingerprint"]
    for shard in (tiny_copy / "data").iterdir():
        assert (rebuilt / "data" / shard.name).read_bytes() == shard.read_bytes()

    # A changed spec with the same version number: diff shows it, release refuses it.
    spec_dir = tmp_path / "changed"
    spec_dir.mkdir()
    # (a depth range that moves mentions: a slightly narrower one can leave every document as it was)
    (spec_dir / "corpus.yaml").write_text(TINY.read_text().replace("depth: [0.3, 0.7]", "depth: [0.45, 0.7]"))
    other = tmp_path / "other"
    assert runner.invoke(main, ["build", str(spec_dir), "-o", str(other), "-q"]).exit_code == 0
    shown = runner.invoke(main, ["diff", str(tiny_copy), str(other)])
    assert shown.exit_code == 1  # they differ, as `diff` and `git diff --exit-code` say it
    assert "spec changed" in shown.output and "-  depth: [0.3, 0.7]" in shown.output
    as_json = json.loads(runner.invoke(main, ["diff", str(tiny_copy), str(other), "--json"]).output)
    assert as_json["by_id"]["changed"] and not as_json["same_content"]
    refused = runner.invoke(main, ["release", str(other), "--manifests", str(root)])
    assert refused.exit_code == 2 and "already released" in refused.output

    # The next version records its parent.
    (spec_dir / "corpus.yaml").write_text((spec_dir / "corpus.yaml").read_text().replace("version: 0.1.0",
                                                                                         "version: 0.2.0"))
    newer = tmp_path / "newer"
    assert runner.invoke(main, ["build", str(spec_dir), "-o", str(newer), "-q"]).exit_code == 0
    assert runner.invoke(main, ["release", str(newer), "--manifests", str(root)]).exit_code == 0
    locked = json.loads((root / "tiny" / "0.2.0.json").read_text())
    assert locked["manifest"]["parent_fingerprint"] == data["manifest"]["fingerprint"]
    lock_diff = runner.invoke(main, ["diff", str(lock), str(root / "tiny" / "0.2.0.json")])
    assert "0.1.0" in lock_diff.output and "spec changed" in lock_diff.output
