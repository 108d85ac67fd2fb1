"""Prompt templates (templates/prompts/*.j2) and the request marker; parsing.py reads what comes back."""
from __future__ import annotations

import re
from pathlib import Path

from .parsing import ParsedDocument, brainstorm_items, parse_document, parse_list, parse_verdict, strip_markers, tagged  # noqa: F401

META = re.compile(r"^\{#-?\s*stage:\s*(\w+)\s*\|\s*version:\s*(\d+)\s*-?#\}")


class PromptLibrary:
    def __init__(self, root: Path):
        from jinja2 import FileSystemLoader, StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment

        self.env = SandboxedEnvironment(loader=FileSystemLoader(str(root)), undefined=StrictUndefined,
                                        autoescape=False, trim_blocks=True, lstrip_blocks=True)
        self.versions: dict[str, str] = {}
        for path in sorted(Path(root).glob("*.j2")):
            head = path.read_text(encoding="utf-8").splitlines()[0]
            match = META.match(head)
            self.versions[path.stem] = f"{match.group(2)}" if match else "0"

    def render(self, name: str, request_info: dict | None = None, **context) -> str:
        """The prompt `name` rendered; with `request_info`, the request marker (see `marker`) ends it."""
        text = self.env.get_template(f"{name}.j2").render(**context).strip()
        if request_info is not None:
            text += "\n\n" + marker(name, **request_info)
        return text


# Every stage's prompt ends with one line naming its stage and the numbers it asks for, so a
# loopback fake (or a log reader) can tell what a request wants without parsing its wording:
# rewording a prompt cannot break it. The models read it as a compact restatement of the task.
MARKER = re.compile(r"<request_info\s+((?:\w+=\"[^\"]*\"\s*)*)/>")
_FIELD = re.compile(r'(\w+)="([^"]*)"')


def marker(stage: str, **fields) -> str:
    """`<request_info stage="document" words="700" .../>`; values are plain text without quotes or angle brackets."""
    def clean(value) -> str:
        return re.sub(r'["<>]', "", str(value))

    pairs = " ".join(f'{k}="{clean(v)}"' for k, v in {"stage": stage, **fields}.items())
    return f"<request_info {pairs}/>"


def read_marker(text: str) -> dict[str, str]:
    """The fields of the last request marker in `text` ({} when there is none)."""
    found = MARKER.findall(text)
    return dict(_FIELD.findall(found[-1])) if found else {}
