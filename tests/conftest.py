import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny" / "corpus.yaml"
CORPORA = ROOT / "corpora"
# A spec written from the docs alone by someone who had not seen the templates: no passages, no period.
UNSEEN = ROOT / "tests" / "fixtures" / "halvern" / "corpus.yaml"


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory):
    """One finished build of the tiny corpus, shared read-only by many tests."""
    from generator.build import build

    out = tmp_path_factory.mktemp("tiny") / "ds"
    build(TINY, out, progress=False, log=lambda m: None)
    return out


@pytest.fixture
def tiny_copy(tiny_build, tmp_path):
    """A private copy a test may damage."""
    out = tmp_path / "ds"
    shutil.copytree(tiny_build, out)
    return out


def build_interrupted_after_one_unit(out, monkeypatch, **kwargs):
    """A build of the tiny corpus that crashes (KeyboardInterrupt) as its second work unit starts,
    leaving exactly one finished unit behind; the real unit runner is restored afterwards."""
    from generator import rounds
    from generator.build import build

    real = rounds.run_unit
    calls = {"n": 0}

    def crash_on_second(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated crash")
        return real(*args, **kw)

    monkeypatch.setattr(rounds, "run_unit", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        build(TINY, out, progress=False, log=lambda m: None, **kwargs)
    monkeypatch.setattr(rounds, "run_unit", real)
