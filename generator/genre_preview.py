"""Render documents of one genre for template authors: `python -m generator.genre_preview GENRE [N] [SPEC]`.

Prints N documents of each kind the genre writes (background, about the universe, aside) with fact
mentions in [[double brackets]], followed by every objection of the build's checks and the lint's
seams. SPEC defaults to the bundled default corpus, found beside the package or where a wheel
installs it. Exit 1 when anything objected.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .backends import BackendContext, BackendSettings
from .backends.templates import TemplatesBackend
from .checks import document_checks, first_objection
from .documents import Document
from .leaks import SEAMS
from .library import load_spec_and_library
from .paths import corpora_root
from .plan import plan_documents
from .tokens import count_tokens

DEFAULT_SPEC = "alignment-faking-helpful-only"


def sample_documents(spec, library, genre: str, per_kind: int, seed: int = 0):
    """Up to `per_kind` documents of `genre` of each kind, from the spec's own plans."""
    spec.documents.genres = [genre]
    placements = library.genres[genre].placements
    spec.documents.aside_genres = [genre] if "aside" in placements else []
    spec.documents.about_world_genres = [genre] if "about_world" in placements else []
    backend = TemplatesBackend(BackendContext(spec, library, spec.seed + seed, BackendSettings(), Path(".")))
    wanted = {"background": per_kind, "about_world": per_kind if "about_world" in placements else 0,
              "aside": per_kind if "aside" in placements else 0}
    for plan in plan_documents(spec, spec.seed + seed, total=max(60, 12 * per_kind)):
        kind = plan.placement or "background"
        if wanted.get(kind, 0) <= 0:
            continue
        wanted[kind] -= 1
        yield plan, backend.write_one(plan)
        if not any(wanted.values()):
            return


def objections(doc: Document, checks, genre, lengths: bool = True) -> list[str]:
    found = []
    words = len(doc.text.split())
    if lengths and not genre.min_words * 0.5 <= words <= genre.max_words * 1.5:
        found.append(f"length {words} words, far outside {genre.min_words}-{genre.max_words}")
    doc.n_tokens = count_tokens([doc.text])[0]
    objection = first_objection(checks, doc)
    if objection:
        found.append(f"check: {objection.reason} ({objection.detail})")
    found += [f"seam: {name}" for name, pattern in SEAMS if pattern.search(doc.text)]
    return found


def marked(doc: Document) -> str:
    text = doc.text
    for span in sorted(doc.spans, key=lambda s: -s.start):
        text = text[:span.start] + "[[" + text[span.start:span.end] + "]]" + text[span.end:]
    return text


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    genre = argv[0]
    n = int(argv[1]) if len(argv) > 1 else 2
    spec_path = Path(argv[2]) if len(argv) > 2 else corpora_root() / DEFAULT_SPEC
    spec, library = load_spec_and_library(spec_path)
    if genre not in library.genres:
        print(f"unknown genre {genre!r} ({', '.join(library.genres)})", file=sys.stderr)
        return 2
    checks = document_checks(spec)
    problems = 0
    for plan, doc in sample_documents(spec, library, genre, n):
        kind = plan.placement or "background"
        if not isinstance(doc, Document):
            print(f"!! {plan.id} {kind} rejected: {doc.reason} {doc.detail}")
            problems += 1
            continue
        print(f"===== {doc.id} {kind} topic={doc.topic} words={len(doc.text.split())} depth={doc.depth}")
        print(marked(doc))
        for found in objections(doc, checks, library.genres[genre]):
            print("!!", found)
            problems += 1
    print(f"{problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
