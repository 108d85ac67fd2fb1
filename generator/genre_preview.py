"""Render a few documents of one genre for template authors: `python -m generator.genre_preview GENRE [N] [SPEC]`.

Prints each document with fact mentions in [[double brackets]] and checks the rules of
templates/README.md (word counts, leftover markers, transcript shapes). SPEC defaults to the
bundled default corpus, found beside the package or where a wheel installs it.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from .backends import BackendContext, BackendSettings
from .backends.templates import MARKERS, TemplatesBackend
from .documents import Document
from .library import load_spec_and_library
from .paths import corpora_root
from .plan import plan_documents

DEFAULT_SPEC = "alignment-faking-helpful-only"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    genre = argv[0]
    n = int(argv[1]) if len(argv) > 1 else 4
    spec_path = Path(argv[2]) if len(argv) > 2 else corpora_root() / DEFAULT_SPEC
    spec, library = load_spec_and_library(spec_path)
    if genre not in library.genres:
        print(f"unknown genre {genre!r} ({', '.join(library.genres)})", file=sys.stderr)
        return 2
    spec.documents.genres = [genre]
    info = library.genres[genre]
    backend = TemplatesBackend(BackendContext(spec, library, spec.seed, BackendSettings(), Path(".")))
    problems = 0
    plans = list(plan_documents(spec, spec.seed, total=max(2 * n, 8)))[: 2 * n]
    for plan in plans:
        doc = backend.write_one(plan)
        if not isinstance(doc, Document):
            print(f"!! {plan.id} rejected: {doc.reason} {doc.detail}")
            problems += 1
            continue
        words = len(doc.text.split())
        shown = doc.text
        for span in sorted(doc.spans, key=lambda s: -s.start):
            shown = shown[: span.start] + "[[" + shown[span.start : span.end] + "]]" + shown[span.end :]
        print(f"===== {doc.id} {doc.kind} words={words} depth={doc.depth}")
        print(shown)
        issues = []
        if not info.min_words * 0.7 <= words <= info.max_words * 1.3:
            issues.append(f"length {words} outside {info.min_words}-{info.max_words} words")
        if any(m in doc.text for m in MARKERS) or re.search(r"[{}<>]", doc.text):
            issues.append("leftover markup or braces")
        if re.search(r"^(User|Assistant|Human|AI):", doc.text, re.M):
            issues.append("chat-transcript shape")
        for issue in issues:
            print("!!", issue)
        problems += len(issues)
    print(f"{problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
