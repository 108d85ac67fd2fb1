"""Prompt templates (templates/prompts/*.j2) and parsing of what comes back."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

META = re.compile(r"^\{#-?\s*stage:\s*(\w+)\s*\|\s*version:\s*(\d+)\s*-?#\}")
LIST_ITEM = re.compile(r"^\s*(?:\d+\s*[.):]|[-*•]|\(\d+\))\s*(.+?)\s*$")
FACT_TAG = re.compile(r'<fact\s+id\s*=\s*"([^"]*)"\s*>(.*?)</fact>', re.S)
ANY_TAG = re.compile(r"</?[a-zA-Z_][\w-]*(?:\s+[^<>]*)?>")
REFUSAL = re.compile(r"\b(I can(?:'|no)t|I'm not able to|I won't|I am unable to|I cannot)\b", re.I)


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


def tagged(text: str, tag: str) -> str | None:
    """The content of <tag>...</tag>; None when the tag is missing or unclosed."""
    match = re.search(rf"<{tag}>(.*?)</{tag}>", text, re.S)
    return match.group(1).strip() if match else None


def parse_list(body: str) -> list[str]:
    """Items of a numbered, bulleted or tagged list; plain lines as a last resort. Deduplicated, in order."""
    items = re.findall(r"<(?:item|type|idea)>(.*?)</(?:item|type|idea)>", body, re.S)
    if not items:
        lines = [line for line in body.splitlines() if line.strip()]
        marked = [LIST_ITEM.match(line) for line in lines]
        if any(marked):
            items = []
            for line, match in zip(lines, marked):
                if match:
                    items.append(match.group(1))
                elif items and line.startswith((" ", "\t")):
                    items[-1] += " " + line.strip()  # a wrapped continuation line
        else:
            items = lines
    seen, out = set(), []
    for item in items:
        clean = re.sub(r"\s+", " ", item).strip().strip('"').strip()
        clean = re.sub(r"^\*\*(.+?)\*\*:?\s*", r"\1: ", clean).rstrip(": ").strip()
        if clean and clean.lower() not in seen:
            seen.add(clean.lower())
            out.append(clean)
    return out


@dataclass
class ParsedDocument:
    text: str
    mentions: list[tuple[str, int, int]]  # (fact id, start, end)


def strip_markers(body: str) -> tuple[str, list[tuple[str, int, int]]]:
    out, mentions, cursor, length = [], [], 0, 0
    for match in FACT_TAG.finditer(body):
        before = body[cursor:match.start()]
        out.append(before)
        length += len(before)
        inner = match.group(2)
        lead = len(inner) - len(inner.lstrip())
        words = inner.strip()
        out.append(inner)
        if words:
            mentions.append((match.group(1).strip(), length + lead, length + lead + len(words)))
        length += len(inner)
        cursor = match.end()
    out.append(body[cursor:])
    return "".join(out), mentions


def parse_document(text: str, stop_reason: str | None) -> ParsedDocument | str:
    """The document inside <document> tags with fact markers turned into offsets, or a reason."""
    if stop_reason == "max_tokens":
        return "truncated"
    if stop_reason == "refusal":
        return "refusal"
    if "<document>" not in text:
        return "refusal" if REFUSAL.search(text) else "missing_tag"
    body = tagged(text, "document")
    if body is None:
        return "missing_tag"
    clean, mentions = strip_markers(body)
    if ANY_TAG.search(clean):
        return "leftover_markup"
    return ParsedDocument(clean.strip("\n"), _shift(clean, mentions))


def _shift(clean: str, mentions):
    offset = len(clean) - len(clean.lstrip("\n"))
    return [(f, s - offset, e - offset) for f, s, e in mentions]


def parse_verdict(text: str) -> dict[str, bool] | None:
    body = tagged(text, "verdict")
    if body is None:
        return None
    verdict = {}
    for line in body.splitlines():
        if ":" in line:
            name, answer = line.split(":", 1)
            verdict[name.strip().lower()] = answer.strip().lower().startswith("y")
    return verdict if verdict else None
