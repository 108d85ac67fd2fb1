"""Workers, Ray and crash-safe resume give the bytes of a plain build."""
import json
import random
import signal
import subprocess
import sys
import time

import pytest

from generator.build import build

pytestmark = pytest.mark.slow

from conftest import ROOT, TINY


def quiet(_):
    pass


def shard_bytes(out):
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ds"
    build(TINY, out, count=600, progress=False, log=quiet)
    return out


def test_two_workers_give_the_same_bytes(reference, tmp_path):
    out = tmp_path / "w2"
    manifest = build(TINY, out, count=600, workers=2, progress=False, log=quiet, unit_size=100).manifest
    assert shard_bytes(out) == shard_bytes(reference)
    assert manifest["fingerprint"] == json.loads((reference / "manifest.json").read_text())["fingerprint"]


def test_ray_executor_gives_the_same_bytes(reference, tmp_path):
    ray = pytest.importorskip("ray")
    out = tmp_path / "ray"
    try:
        build(TINY, out, count=600, workers=2, executor="ray", progress=False, log=quiet)
    finally:
        ray.shutdown()
    assert shard_bytes(out) == shard_bytes(reference)


def kill_at_progress(cmd, units, total_units, rng) -> int:
    """Run `cmd` four times, each SIGKILLed once `units` holds a target number of work units: three
    random targets (then a random moment inside the next unit) and, last, all of them (which lands in
    the merge and publishing steps). Returns how many runs were killed before they finished."""
    kills = 0
    for target in sorted(rng.sample(range(1, total_units), 3)) + [total_units]:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and len(list(units.glob("unit-*.arrow"))) < target:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05) if target < total_units else 0)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    return kills


def test_sigkill_at_random_moments_then_rerun(reference, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "generator.cli", "build", str(TINY), "-o", str(out), "--count", "600", "-q",
           "--unit-size", "50"]
    rng = random.Random(11)
    units = out / ".sdfgen-build" / "units"
    # Kills are aimed by progress, not by a timed span (a first run compiles templates and is slower
    # than the resumes): a random moment inside a random unit, then once all 12 units exist, which
    # lands in the merge and publishing steps.
    assert kill_at_progress(cmd, units, 12, rng) >= 3
    final = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert shard_bytes(out) == shard_bytes(reference)
    assert not (out / ".sdfgen-build").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    # The same accounting as a clean build: every planned document either landed or was rejected once.
    assert manifest["totals"] == json.loads((reference / "manifest.json").read_text())["totals"]
    assert manifest["totals"]["documents"] == 600
    assert manifest["totals"]["documents"] + manifest["totals"]["rejected"] == manifest["totals"]["planned"]


def test_sigkill_during_replacement_rounds_then_rerun(tmp_path):
    """A spec whose length floor rejects about a quarter of the documents: kills land in the first
    round, in the replacement rounds and in the merge; the rerun gives the bytes of a clean build."""
    spec = tmp_path / "strict"
    spec.mkdir()
    (spec / "corpus.yaml").write_text(TINY.read_text().replace("min_tokens: 50", "min_tokens: 600"))
    reference = tmp_path / "reference"
    build(spec, reference, count=300, progress=False, log=quiet, unit_size=25)
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["replacements"]["rounds"] >= 2
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "generator.cli", "build", str(spec), "-o", str(out), "--count", "300", "-q",
           "--unit-size", "25"]
    units = out / ".sdfgen-build" / "units"
    # 12 units of first plans, then at least one unit per replacement round.
    total_units = 12 + manifest["replacements"]["rounds"]
    rng = random.Random(5)
    assert kill_at_progress(cmd, units, total_units, rng) >= 3
    final = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert shard_bytes(out) == shard_bytes(reference)
    assert json.loads((out / "manifest.json").read_text())["replacements"] == manifest["replacements"]

