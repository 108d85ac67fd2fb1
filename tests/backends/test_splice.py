"""Splicing facts into real text no one here wrote: installed packages' own documentation."""
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import TINY

from generator.backends import BackendSettings
from generator.backends.splice import boundaries
from generator.build import BuildError, build


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
        start = row["text"].rfind("\n\n", 0, span["start"]) + 2
        end = row["text"].find("\n\n", span["end"]) + 2
        assert row["text"][:start] + row["text"][end:] == source
        assert row["text"][start:end].count("\n") == 2  # one paragraph of its own


def test_boundaries_skip_code_blocks():
    text = "Intro para.\n\n```\ncode\n\nmore code\n```\n\nAfter code.\n\nExample::\n\n    indented\n\nEnd."
    spots = boundaries(text)
    assert text.index("more code") not in spots
    assert text.index("After code.") in spots
    assert text.index("    indented") not in spots
    assert text.index("End.") in spots


def test_splice_needs_a_source(tmp_path):
    with pytest.raises(BuildError, match="--source"):
        build(TINY, tmp_path / "o", settings=BackendSettings("splice"), progress=False, log=lambda m: None)
