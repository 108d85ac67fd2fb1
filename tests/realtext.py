"""Real text no one here wrote, from what ships with the installed packages: license files and the
docstrings of the standard library's modules. Distinct texts, in a fixed order, of very different
lengths (a few words to thousands), most with several paragraphs."""
from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SITE = Path(pq.__file__).resolve().parents[2]


def real_documents() -> list[tuple[str, str]]:
    """(origin, text) pairs: license files of installed distributions, then stdlib module docstrings."""
    seen, out = set(), []

    def add(origin: str, text: str) -> None:
        if text.strip() and text not in seen:
            seen.add(text)
            out.append((origin, text))

    for path in sorted(p for p in SITE.glob("*.dist-info/**/*") if p.is_file() and "licen" in str(p).lower()):
        add(str(path.relative_to(SITE)), path.read_text(encoding="utf-8", errors="replace"))
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=True)
        except (SyntaxError, UnicodeDecodeError):
            continue
        if doc and doc.count("\n\n") >= 2:
            add(f"stdlib/{path.name}", doc)
    assert len(out) >= 150, f"only {len(out)} real documents found beside {SITE}"
    return out


def parquet_bytes(docs: list[tuple[str, str]], row_group_size: int = 32, text_column: str = "text",
                  **extra: list) -> bytes:
    """A Parquet file (origin, the text and any extra columns) as bytes, in pyarrow's default layout."""
    sink = pa.BufferOutputStream()
    table = pa.table({"origin": [o for o, _ in docs], text_column: [t for _, t in docs], **extra})
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue().to_pybytes()


def without_passage(text: str, span: dict, carrier: str) -> tuple[str, str]:
    """(text with the spliced paragraph around `span` cut out, that paragraph). The carrier's own
    paragraph break decides what a paragraph is: a blank line if it has any, else a line break."""
    import re

    brk = "\n\n" if re.search(r"\n[ \t]*\n(?=\S)", carrier) else "\n"
    start = text.rfind(brk, 0, span["start"]) + len(brk)
    end = text.find(brk, span["end"]) + len(brk)
    return text[:start] + text[end:], text[start:end]
