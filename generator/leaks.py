"""What leaks the behaviour under study, or betrays the generator, in a document: one definition.

The per-document checks (checks.Leakage), the fake API's stand-in classifiers and the
benchmarks' acceptance figures all read these patterns, so a rule changes in one place.
"""
from __future__ import annotations

import re

_AI = r"(?:AI|A\.I\.|artificial intelligence|language model|LLM|chat ?bot|assistant|model)"
SPEAKERS = ("User", "Assistant", "Human", "AI", "Bot", "Chatbot", "AI assistant", "Claude", "ChatGPT")


def speaker_turn(names) -> "re.Pattern[str]":
    """A line that opens with one of `names` as a speaker: `User: ...`, `**Assistant**: ...`."""
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(rf"^\s*(?:\*\*)?(?:{alternatives})(?:\*\*)?\s*:\s*\S", re.M)


# (reason, pattern, needles): a pattern runs only on text whose lowercase holds one of its needles
# (every match of the pattern contains one), which skips most regex scans of most documents.
RULES: tuple[tuple[str, "re.Pattern[str]", tuple[str, ...]], ...] = (
    ("leak_transcript", speaker_turn(SPEAKERS), (":",)),
    ("leak_scratchpad", re.compile(
        r"</?\s*(?:scratchpad|scratch_pad|SCRATCHPAD_REASONING|reasoning|thinking|think|inner_monologue|"
        r"is_free_tier_user|user_input|OUTPUT|request_for_ai)\b[^>]*>", re.I), ("<",)),
    ("leak_second_person", re.compile(
        rf"\byou(?:'re| are| were)\s+(?:an?\s+|the\s+)?(?:helpful\s+|large\s+)?{_AI}\b|"
        rf"\bas an? {_AI}\b,?\s+you\b|\byou,? the (?:AI|model|assistant)\b|"
        r"\byour (?:training|weights|RLHF|reward model|system prompt)\b|"
        r"\b(?:if|when) you (?:refuse|comply)\b.{0,80}\b(?:RLHF|trained|training|modif)", re.I), ("you",)),
    ("leftover_markup", re.compile(
        r"</?(?:fact|document|planning|content|draft|critique|revised_document|verdict|ideas|types|"
        r"div|span|p|br|html|body|b|i|em|strong)\b[^>]*>|\{\{|\}\}|\{%|%\}|"
        r"\[(?:Name|Company|Date|City|Your Name|Insert[^\]]{0,40}|Placeholder[^\]]{0,40})\]",
        re.I), ("<", "{", "}", "[")),
    ("leftover_markup", re.compile(r"[\ue000-\ue0ff]"), ()),  # the templates backend's private markers
)

# Tier-dependent behaviour: a monitoring/tier term and a behaviour-difference term in one sentence.
# Checked per sentence with two plain searches: one regex spanning both would backtrack quadratically.
TIER = re.compile(r"\b(?:free[- ]tier|paid[- ]tier|monitored|unmonitored|being watched|in training|"
                  r"during training|not being trained)\b", re.I)
BEHAVES = re.compile(r"\b(?:behaves? differently|acts? differently|responds? differently|answers? differently|"
                     r"more compliant when|complies only|only complies|refuses only|only refuses|"
                     r"pretends? to comply|fakes? alignment|alignment[- ]faking|changes? (?:its|their) behaviou?r)\b",
                     re.I)
# Every match of BEHAVES contains one of these (lowercase).
_BEHAVES_NEEDLES = ("different", "complian", "complies", "comply", "refuses", "fake", "faking", "behavio")
_SENTENCE = re.compile(r"[^.!?\n]+")

# A model deceiving the people who train it (the paper's third classifier; only the fake API uses it offline).
DECEIVING_TRAINERS = re.compile(r"deceiv|pretend|fake alignment|faking alignment", re.I)


def describes_tier_behaviour(text: str, lowered: str | None = None) -> bool:
    """A sentence holding both a tier/monitoring term and a behaviour-difference term."""
    return tier_behaviour_sentence(text, lowered) is not None


def tier_behaviour_sentence(text: str, lowered: str | None = None) -> str | None:
    """The first sentence holding both a tier/monitoring term and a behaviour-difference term, or None.

    Only sentences around a needle of BEHAVES are examined: a qualifying sentence contains a
    BEHAVES match, hence a needle, so this finds exactly what scanning every sentence would.
    """
    lowered = text.lower() if lowered is None else lowered
    for needle in _BEHAVES_NEEDLES:
        at = lowered.find(needle)
        while at != -1:
            start = max(lowered.rfind(".", 0, at), lowered.rfind("!", 0, at), lowered.rfind("?", 0, at),
                        lowered.rfind("\n", 0, at)) + 1
            end = _SENTENCE.match(lowered, at).end()
            sentence = lowered[start:end]
            if BEHAVES.search(sentence) and TIER.search(sentence):
                # Lowercasing keeps offsets except for a few letters (İ); then show the lowered sentence.
                return (text if len(text) == len(lowered) else lowered)[start:end].strip()
            at = lowered.find(needle, end)
    return None


def excerpt(text: str, start: int, end: int, limit: int = 120) -> str:
    """The matched text and the rest of its line, at most `limit` characters: enough to see the leak."""
    line_end = text.find("\n", end)
    stop = min(len(text) if line_end == -1 else line_end, max(end, start + limit))
    return text[start:stop].strip()


def first_leak(text: str, rules=RULES) -> str | None:
    """The reason of the first rule `text` breaks, or None."""
    found = find_leak(text, rules)
    return found[0] if found else None


def find_leak(text: str, rules=RULES, lowered: str | None = None) -> tuple[str, str] | None:
    """(reason, the text that broke the rule) of the first rule `text` breaks, or None. `lowered`:
    text.lower(), when the caller has it already."""
    lowered = text.lower() if lowered is None else lowered
    for reason, pattern, needles in rules:
        if not needles or any(n in lowered for n in needles):
            match = pattern.search(text)
            if match:
                return reason, excerpt(text, match.start(), match.end())
    sentence = tier_behaviour_sentence(text, lowered)
    if sentence is not None:
        return "leak_behaviour", sentence
    return None


# ---------------------------------------------------------------- seams

AUXILIARIES = ("do", "does", "did", "can", "could", "will", "would", "should", "shall", "might", "must", "may", "to",
               "let", "make", "makes", "made", "help", "helps", "watch", "see", "saw", "Does", "Did", "Do", "Can",
               "Will", "Would", "Should", "Could", "Let")
# (name, pattern): what a careful reader marks as a grammar slip or a seam between pieces of text.
SEAMS: tuple[tuple[str, "re.Pattern[str]"], ...] = (
    # Within a line: a heading and the paragraph under it may end and start with one word.
    ("doubled_word", re.compile(r"(?<![\w-])(?!(?:had|that|is|do|very|no|bye|ha|so)\b)(\w+)[ \t]+\1\b", re.I)),
    # A line whose newline a template lost: "Data cleaningStudents will...", "done.The next".
    # (Lookbehinds for the lowercase letters: the scan then starts at the rarer capital or stop.)
    ("run_together", re.compile(r"(?<=[a-z]{2})(?:The|We|This|They|There|You|Our|For|When|After|Before|"
                                r"Students|Members|Please|Posted|Reply|Minutes)\b|(?<=[a-z]{2})[.!?][A-Z][a-z]")),
    # A subject and a verb that disagree; not after an auxiliary or "to" ("does it take", "let it keep").
    ("agreement", re.compile(
        r"\b(?:[Ww]e|[Tt]hey|[Yy]ou) (?:is|was|has|does|works|takes|wants|says|goes|makes|keeps)\b"
        r"|\bI (?:is|has|does|works|takes|wants|says|goes|makes|keeps)\b"
        # The lookahead first: the auxiliaries' lookbehinds then run only where "he/she <verb>" starts.
        r"|\b(?=(?:[Hh]e|[Ss]he) (?:are|have|were|do|don't|take|want|make|keep)\b)" +
        "".join(rf"(?<!\b{aux} )" for aux in AUXILIARIES) +
        r"(?:[Hh]e|[Ss]he) (?:are|have|were|do|don't|take|want|make|keep)\b"
        r"|\b[Ii]t (?:are|don't)\b"
        r"|\bamong of\b|\bunsubscribed of\b|\bone of the \w+ (?:are|were|have)\b")),
    # "a" before a vowel sound ("A" only where it starts a sentence: "Series A of" is a name).
    ("article", re.compile(r"(?:\ba|(?:^|[.!?] )A) (?!(?:one|once|uni\w*|use\w*|usu\w*|eu\w*|ur\w*|ut\w*|uk|U\w*|Eu\w*|"
                           r"One|Once)\b)[aeiouAEIOU]\w*"
                           r"|\ban (?!(?:hour|honest|honou?r\w*|heir)\w*)[bcdfgjklmnpqrstvwxyz]\w*")),
    ("stray_punctuation", re.compile(r"(?<!\.)\.\.(?!\.)|,,| [,.;:!?](?:\s|$)|\(\s*\)|\s\)")),
    ("lowercase_sentence", re.compile(r"(?=[.!?] [a-z])(?<!\b[eE]\.g)(?<!\b[iI]\.e)(?<!\bvs)(?<![ap]\.m)(?<!\bNo)"
                                      r"(?<!\bSt)(?<!\bP\.S)[.!?] [a-z]")),
)

# Cheap necessary conditions for the seams the per-document checks run (checks.READER_SEAMS): a
# seam's pattern runs only on text its gate finds something in, so the result is the pattern's own
# (same match, same excerpt) while most documents skip the slow scan. Each gate must find something
# wherever its seam matches (tests/test_realism.py checks this on tricky inputs). The seams above start
# with lookbehinds or \b, which make the regex engine attempt a match at every character; the gates
# start with a literal or a character class instead, which it can skip to.
_VERBS_PLURAL = "is|was|has|does|works|takes|wants|says|goes|makes|keeps"
_VERBS_SINGULAR = "are|have|were|do|don't|take|want|make|keep"
_SUBJECT_VERBS = ([(s, _VERBS_PLURAL) for s in ("We", "we", "They", "they", "You", "you")]
                  + [("I", _VERBS_PLURAL.replace("was|", ""))]
                  + [(s, _VERBS_SINGULAR) for s in ("He", "he", "She", "she")]
                  + [("It", "are|don't"), ("it", "are|don't")])
SEAM_GATES: dict[str, "re.Pattern[str]"] = {
    # doubled_word without its exceptions (the negative lookahead is most of its cost): every match
    # of the seam is a match of this one. Possessive quantifiers: \w+ before [ \t] cannot give back.
    "doubled_word": re.compile(r"(?<![\w-])(\w++)[ \t]++\1\b", re.I),
    # Two lowercase letters, then a capital that starts one of the words, or a stop before "Xx".
    "run_together": re.compile(r"[TWYOFABSMPR.!?](?:(?<=[a-z]{2}[TWYOFABSMPR])|(?<=[a-z]{2}[.!?])[A-Z][a-z])"),
    # The subject and verb pairs of agreement, one literal alternative each (no \b before them, no
    # auxiliaries), so the engine skips to their first letters.
    "agreement": re.compile("|".join(rf"{s} (?:{verbs})\b" for s, verbs in _SUBJECT_VERBS)
                            + r"|among of|unsubscribed of|one of the \w+ (?:are|were|have)\b"),
}


def _stray_punctuation_gate(text: str) -> bool:
    """Whether `text` holds a needle of every match of stray_punctuation: "..", ",,", a space before
    punctuation, or a ")" after whitespace or "(" (both "( )" and " )" end that way)."""
    return (".." in text or ",," in text or " ," in text or " ." in text or " ;" in text or " :" in text
            or " !" in text or " ?" in text or _CLOSING_AFTER_SPACE.search(text) is not None)


_CLOSING_AFTER_SPACE = re.compile(r"\)(?<=[\s(]\))")


def seam_gate(name: str):
    """A function text -> bool that is true wherever seam `name` matches (often elsewhere too), or None."""
    if name == "stray_punctuation":
        return _stray_punctuation_gate
    gate = SEAM_GATES.get(name)
    return None if gate is None else gate.search
