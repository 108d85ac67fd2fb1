"""The template library's lint: every pool unit expanded every way, every genre rendered in every
placement against three corpora, and nothing a careful reader would mark."""
import re

import pytest

from generator.backends.templates import MARKERS
from generator.checks import document_checks
from generator.documents import Document
from generator.genre_preview import objections, sample_documents
from generator.library import load_spec_and_library
from generator.lint import lint_topic, lint_world
from generator.material import load_world_lines

from conftest import CORPORA, TINY

SPECS = {"default": CORPORA / "alignment-faking-helpful-only", "control": CORPORA / "septerra-control", "tiny": TINY}


@pytest.fixture(scope="module")
def loaded():
    return {name: load_spec_and_library(path) for name, path in SPECS.items()}


@pytest.mark.slow  # every alternative of every pool line
def test_every_pool_and_world_line_lints_clean(loaded):
    _, library = loaded["default"]
    findings = [str(f) for topic in library.topics.values() for f in lint_topic(topic)]
    findings += [str(f) for f in lint_world(load_world_lines(library.root / "world.yaml"))]
    assert findings == []
    assert len(library.topics) >= 30


@pytest.mark.parametrize("spec_name", sorted(SPECS))
def test_every_genre_renders_every_placement_without_a_defect(loaded, spec_name):
    spec, library = loaded[spec_name]
    checks = document_checks(spec)
    seen = set()
    problems = []
    for genre in sorted(library.genres):
        for plan, doc in sample_documents(spec, library, genre, 2):
            kind = plan.placement or "background"
            seen.add((genre, kind))
            if not isinstance(doc, Document):
                problems.append(f"{genre} {kind}: rejected {doc.reason} {doc.detail}")
                continue
            assert not any(m in doc.text for m in MARKERS)
            # No markup, but a Markdown quote ("> " at the start of a line) is the genre's own.
            assert not re.search(r"[<{}]|[^\n]>", doc.text), (genre, doc.text[:300])
            # Lengths are the author's guide, not a defect (a document about a tiny universe is short).
            problems += [f"{genre} {kind} {doc.id}: {p}"
                         for p in objections(doc, checks, library.genres[genre], lengths=False)]
            for span in doc.spans:
                assert doc.text[span.start:span.end].strip() == doc.text[span.start:span.end]
    assert problems == []
    assert len({g for g, _ in seen}) == len(library.genres) >= 30
    assert {k for _, k in seen} == {"background", "about_world", "aside"}


def test_no_alternatives_nest_inside_alternatives():
    """vary() reads one level of braces: "{a|b {c|d} e}" leaves a literal brace in the text, which
    the render test above finds only when the draw reaches it (one control document in 30)."""
    from generator.paths import templates_root

    for path in sorted((templates_root() / "genres").glob("*.j2")):
        for literal in re.findall(r'vary\("((?:[^"\\]|\\.)*)"', path.read_text(encoding="utf-8")):
            depth = 0
            for ch in literal:
                depth += (ch == "{") - (ch == "}")
                assert depth <= 1, (path.name, literal)
