"""Reading what a model wrote: lists, documents with fact markers, verdicts. Never raises on any answer.

Real models, the small ones most, drop markers, nest them, echo the prompt, write outside the
requested tags, stop at max_tokens or refuse. Each case is either repaired by one of the rules
below or rejected with its own reason (the README lists both):

Repairs
  R1  Empty <document></document> blocks (an echoed instruction) are ignored; of the others, the
      last is the document (a draft followed by the final version).
  R2  Wrapper tags repeated inside the document (<document>, <planning>...</planning>) are removed.
  R3  An unclosed <document> in an answer that ended normally runs to the end of the answer.
  R4  A code fence around the whole document is removed.
  R5  Fact markers are read leniently: any case, single, double or no quotes, spaces
      (<FACT ID='a'>, <fact id=a >).
  R6  A marker nested inside another is dropped; its words stay in the outer mention, which then
      counts for both facts.
  R7  An unclosed or empty marker, or a stray </fact>, is dropped; the words stay.
  R8  A list answer without its tags is read from the whole answer, numbered or bulleted lines only;
      items with markup or an echoed prompt are dropped, and document types longer than 12 words
      (a sentence, not a format name) and ideas longer than 120 words are dropped.
Rejections (reason)
  prompt_echo (the prompt's own markup or instruction sentences, and no clean document; even when
  cut at max_tokens), truncated (stopped at max_tokens), refusal (the API said so, or a refusal and
  no document), empty_answer, missing_tag (no document),
  leftover_markup (other tags left in the text), repetitive (a line of 20+ characters three times
  or more). Missing or misplaced mentions are judged later, against the plan.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

LIST_ITEM = re.compile(r"^\s*(?:\d+\s*[.):]|[-*•]|\(\d+\))\s*(.+?)\s*$")
ANY_TAG = re.compile(r"</?[a-zA-Z_][\w-]*(?:\s+[^<>]*)?/?>")
REFUSAL = re.compile(r"\b(I can(?:'|no|’)t|I'm not able to|I won't|I am unable to|I cannot|I'm sorry, but)\b", re.I)
# The prompt's own markup, or its instruction sentences (templates/prompts/document.j2), which no real
# document contains: an answer with them is echoing the prompt, not writing (seen from Gemma 3 270M).
ECHO = re.compile(r"<\s*(request_info|fact_to_convey|universe_context|draft|document_to_check)\b"
                  r"|details to build on \(use or adapt them|first plan briefly inside|how to mention them:"
                  r"|wrap each mention, and only the words|the tags are removed later", re.I)
FACT_OPEN = re.compile(r"""<\s*fact\s+id\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)'|([^\s"'<>/]+))\s*>""", re.I)
FACT_CLOSE = re.compile(r"<\s*/\s*fact\s*>", re.I)
WRAPPERS = re.compile(r"<\s*/?\s*(document|planning|revised_document)\s*>", re.I)
PLANNING = re.compile(r"<\s*planning\s*>.*?<\s*/\s*planning\s*>", re.I | re.S)
FENCE = re.compile(r"^```[\w-]*\n(.*)\n```$", re.S)
MAX_ITEM_WORDS = {"types": 12, "ideas": 120}


def _as_text(text) -> str:
    return text if isinstance(text, str) else ""


def blocks(text, tag: str) -> list[str]:
    """The contents of every complete <tag>...</tag> block (tag name in any case)."""
    return re.findall(rf"<\s*{tag}\s*>(.*?)<\s*/\s*{tag}\s*>", _as_text(text), re.S | re.I)


def tagged(text, tag: str) -> str | None:
    """The content of the last non-empty <tag>...</tag> block (R1); None when there is none."""
    found = [b.strip() for b in blocks(text, tag)]
    found = [b for b in found if b]
    if found:
        return found[-1]
    return "" if blocks(text, tag) else None


def parse_list(body, stage: str | None = None) -> list[str]:
    """Items of a numbered, bulleted or tagged list; plain lines as a last resort. Deduplicated, in order."""
    body = _as_text(body)
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
    limit = MAX_ITEM_WORDS.get(stage or "", 10_000)
    for item in items:
        clean = re.sub(r"\s+", " ", item).strip().strip('"').strip()
        clean = re.sub(r"^\*\*(.+?)\*\*:?\s*", r"\1: ", clean).rstrip(": ").strip()
        if not clean or ECHO.search(clean) or ANY_TAG.search(clean) or len(clean.split()) > limit:
            continue
        if clean.lower() not in seen:
            seen.add(clean.lower())
            out.append(clean)
    return out


def brainstorm_items(text, stage: str) -> tuple[list[str], bool]:
    """(items, unsuitable) of a brainstorm answer: inside its tags, or (R8) listed without them."""
    text = _as_text(text)
    body = tagged(text, stage)
    if body is not None and body.strip().upper().startswith("UNSUITABLE"):
        return [], True
    if body is None:
        # No tags at all: only a numbered or bulleted list counts, never loose prose.
        lines = [line for line in text.splitlines() if LIST_ITEM.match(line)]
        return parse_list("\n".join(lines), stage), False
    return parse_list(body, stage), False


@dataclass
class ParsedDocument:
    text: str
    mentions: list[tuple[str, int, int]]  # (fact id, start, end)


def strip_markers(body: str) -> tuple[str, list[tuple[str, int, int]]]:
    """The text without fact markers, and each mention's (fact id, start, end) in it (R5-R7)."""
    body = _as_text(body)
    tokens = []  # (position, end, kind, fact id)
    for m in FACT_OPEN.finditer(body):
        tokens.append((m.start(), m.end(), "open", next(g for g in m.groups() if g is not None).strip()))
    for m in FACT_CLOSE.finditer(body):
        tokens.append((m.start(), m.end(), "close", None))
    tokens.sort()
    out, cursor, length = [], 0, 0
    stack: list[tuple[list[str], int]] = []  # open outer markers: (fact ids, start in the clean text)
    raw_spans = []
    for start, end, kind, fact in tokens:
        if start < cursor:
            continue
        piece = body[cursor:start]
        out.append(piece)
        length += len(piece)
        cursor = end
        if kind == "open":
            if stack:
                stack[-1][0].append(fact)  # R6: nested; the outer mention carries it too
                stack.append(([], -1))  # placeholder, so its closing tag pops it
            else:
                stack.append(([fact], length))
        elif stack:
            facts, begin = stack.pop()
            if begin >= 0:
                raw_spans.append((facts, begin, length))
        # a stray closing tag (R7) is simply dropped
    out.append(body[cursor:])
    text = "".join(out)
    mentions = []
    for facts, begin, stop in raw_spans:  # unclosed openers (R7) never reach here
        inner = text[begin:stop]
        lead = len(inner) - len(inner.lstrip())
        words = inner.strip()
        if not words:
            continue
        for fact in dict.fromkeys(facts):
            if fact:
                mentions.append((fact, begin + lead, begin + lead + len(words)))
    return text, mentions


def _document_body(text: str, stop_reason) -> str | None:
    found = [b for b in blocks(text, "document") if b.strip()]
    if found:
        return found[-1]  # R1
    opener = list(re.finditer(r"<\s*document\s*>", text, re.I))
    if opener and stop_reason in ("end_turn", "stop_sequence", None):
        rest = text[opener[-1].end():]  # R3
        if rest.strip():
            return rest
    return None


def repetitive(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= 20]
    return bool(lines) and Counter(lines).most_common(1)[0][1] >= 3


def parse_document(text, stop_reason) -> ParsedDocument | str:
    """The document inside <document> tags with fact markers turned into offsets, or the reason there is none."""
    text = _as_text(text)
    if ECHO.search(text) and not any(b.strip() and not ECHO.search(b) for b in blocks(text, "document")):
        return "prompt_echo"  # before truncation: an echo that ran out of room is still an echo
    if stop_reason == "max_tokens":
        return "truncated"
    if stop_reason == "refusal":
        return "refusal"
    if not text.strip():
        return "empty_answer"
    body = _document_body(text, stop_reason)
    if body is None:
        if ECHO.search(text):
            return "prompt_echo"
        return "refusal" if REFUSAL.search(text) else "missing_tag"
    if ECHO.search(body):
        return "prompt_echo"
    body = PLANNING.sub("", body)  # R2
    body = WRAPPERS.sub("", body)
    fenced = FENCE.match(body.strip("\n"))  # R4
    if fenced:
        body = fenced.group(1)
    clean, mentions = strip_markers(body)
    if ANY_TAG.search(clean):
        return "leftover_markup"
    if repetitive(clean):
        return "repetitive"
    return ParsedDocument(clean.strip("\n"), _shift(clean, mentions))


def _shift(clean: str, mentions):
    offset = len(clean) - len(clean.lstrip("\n"))
    limit = len(clean.strip("\n"))
    out = []
    for f, s, e in mentions:
        s, e = s - offset, e - offset
        if 0 <= s < e <= limit:
            out.append((f, s, e))
    return out


def parse_verdict(text) -> dict[str, bool] | None:
    body = tagged(text, "verdict")
    if not body:
        return None
    verdict = {}
    for line in body.splitlines():
        if ":" in line:
            name, answer = line.split(":", 1)
            verdict[name.strip().lower()] = answer.strip().lower().startswith("y")
    return verdict if verdict else None
