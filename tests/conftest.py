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
