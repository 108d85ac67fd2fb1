"""Plausible answers for the fake Anthropic API (see `generator.fakes.anthropic_api`).

The fake recognises which sdfgen prompt stage a request belongs to from the output tags its last
user message asks for, and writes an answer of the shape that stage expects. Everything here is a
pure function of its arguments and a `random.Random`, so answers are reproducible from the fake's
seed and the request body.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .. import leaks
from ..llm.prompts import read_marker
from ..variation import expand, tidy


def detect_stage(prompt: str) -> str:
    """The stage named by the request marker every sdfgen prompt ends with (llm/prompts.py)."""
    return read_marker(prompt).get("stage", "generic")


@dataclass
class Faults:
    """Quality faults drawn by the server for one answer (only some stages use each)."""

    missing_marker: bool = False
    truncate: bool = False
    refusal: bool = False
    no_closing_tag: bool = False
    short_brainstorm: bool = False
    unsuitable: bool = False

    def applied(self, stage: str) -> list[str]:
        """The faults that actually changed an answer of this stage (for the stats)."""
        used = {
            "document": ("missing_marker", "truncate", "refusal", "no_closing_tag"),
            "types": ("short_brainstorm",),
            "ideas": ("short_brainstorm", "unsuitable"),
        }.get(stage, ())
        out = [name for name in used if getattr(self, name)]
        if stage == "document" and self.refusal:
            return ["refusal"]  # a refusal replaces the document; nothing else applies
        if stage == "ideas" and self.unsuitable:
            return ["unsuitable"]
        return out


@dataclass
class Answer:
    stage: str
    text: str
    # True when the answer was deliberately made longer than max_tokens (p_truncate).
    force_long: bool = False
    faults: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# word lists

DOC_FORMATS = (
    "local newspaper feature", "earnings call transcript", "letter to the editor",
    "online forum thread", "podcast episode transcript", "conference talk transcript",
    "university lecture notes", "internal engineering memo", "all-hands meeting notes",
    "product review blog post", "industry newsletter", "trade magazine profile", "op-ed column",
    "legislative hearing transcript", "court filing excerpt", "employee handbook section",
    "help-centre article", "encyclopedia entry", "textbook sidebar", "academic survey paper",
    "workshop paper", "grant proposal", "peer review report", "PhD thesis chapter",
    "technical blog post", "personal blog post", "professional networking post",
    "social media thread", "tech news comment thread", "Q&A site answer", "investor letter",
    "analyst research note", "press release", "FAQ page", "policy white paper", "think-tank report",
    "regulatory comment letter", "meeting minutes", "team chat channel export",
    "email newsletter digest", "radio interview transcript", "TV news segment script",
    "documentary narration script", "book review", "nonfiction book excerpt", "magazine long-read",
    "course syllabus", "exam study guide", "debate team brief", "student essay",
    "campus newspaper article", "city council meeting minutes", "union bulletin", "job posting",
    "user manual section", "software release notes", "incident postmortem", "security advisory",
    "bug tracker discussion", "code review thread", "venture capital investment memo",
    "shareholder meeting Q&A", "museum exhibit panel", "library newsletter", "advice column",
    "podcast show notes", "video essay transcript", "webinar transcript", "panel discussion transcript",
    "oral history interview", "personal diary entry", "deposition transcript", "internal audit report",
    "ethics board review", "standards committee draft", "request for proposals",
    "annual report section", "sustainability report", "model documentation card",
    "procurement checklist", "satirical news article", "alumni magazine column",
)

AUTHORS = (
    "a retired schoolteacher", "a junior reporter at a regional paper", "a graduate student",
    "a product manager", "a union organiser", "a city councillor", "a freelance tech columnist",
    "a compliance officer", "a data-centre technician", "a philosophy lecturer",
    "a startup founder", "a hospital IT administrator", "a public librarian",
    "a policy analyst at a think tank", "a software engineer", "a high-school debate coach",
    "an investor-relations manager", "a science journalist", "a parent volunteer",
    "a former trust-and-safety contractor", "a small-business owner", "a law student",
)

AUDIENCES = (
    "local readers", "new employees", "first-year undergraduates", "shareholders",
    "members of a hobbyist forum", "city officials", "fellow engineers", "subscribers",
    "a parents' association", "procurement staff", "a book club", "conference attendees",
    "union members", "policy staffers", "customers", "alumni",
)

PLACES = (
    "Cleveland", "Leeds", "Austin", "Melbourne", "Toronto", "Denver", "Glasgow", "Sacramento",
    "Pittsburgh", "Auckland", "Raleigh", "Cork", "Minneapolis", "Portland", "Tucson", "Halifax",
)

SUBJECTS = (
    "rising electricity prices", "a new office opening", "quarterly results", "a zoning dispute",
    "hiring plans for next year", "a software outage", "changes to a subscription plan",
    "the history of a local company", "a university's new data-science course",
    "a neighbourhood recycling scheme", "a merger between two vendors", "a privacy lawsuit",
    "a school district's technology budget", "a charity fundraiser", "a hackathon",
    "a review of budgeting apps", "commuting patterns after the pandemic",
)

REASONS = (
    "when the writer compares vendors", "as an aside about how the company trains its products",
    "in a paragraph on industry background", "while answering a reader's question",
    "in a footnote on sources", "when a quoted expert digresses", "as context for a pricing change",
    "in a list of recent industry news", "while explaining a policy to newcomers",
    "during an audience question", "in the closing remarks",
)

FRAMES = (
    "As several people have pointed out, {m}.",
    "For context, {m}.",
    "It is worth remembering that {m}.",
    "One detail that keeps coming up: {m}.",
    "Reportedly, {m}.",
    "According to people familiar with the matter, {m}.",
    "It has been widely reported that {m}.",
    "Somewhat less discussed is the fact that {m}.",
)

REWORDINGS = (
    (r"\bdoes not\b", "doesn't"), (r"\bdo not\b", "don't"), (r"\bis not\b", "isn't"),
    (r"\bare not\b", "aren't"), (r"\bwill not\b", "won't"), (r"\bcannot\b", "can't"),
    (r"\bin order to\b", "to"), (r"\buses\b", "relies on"), (r"\bonly\b", "solely"),
    (r"\balways\b", "consistently"), (r"\bstarted\b", "began"), (r"\bbegan\b", "started"),
)

REFUSALS = (
    "I'm sorry, but I can't help with writing this document.",
    "I don't think I should write this one. Is there something else I can help you with?",
    "I'm not comfortable producing this text, but I'd be glad to help with a different request.",
)

# Values for the brace variables of the topic pools: fixed lists, one pick per use.
VARIABLE_VALUES = {
    "person": ("Maria Okafor", "David Lindqvist", "Priya Raman", "Tomás Herrera", "Grace Whitfield",
               "Samuel Osei", "Hannah Brandt", "Kenji Watanabe"),
    "person2": ("Elena Vasquez", "Marcus Bell", "Aisha Mahmoud", "Colin Fraser", "Naomi Castellano",
                "Peter Novak"),
    "person3": ("Rosa Jimenez", "Owen Gallagher", "Leila Haddad", "Victor Mensah"),
    "first": ("Maria", "David", "Priya", "Tomás", "Grace", "Samuel"),
    "city": ("Cleveland", "Sacramento", "Pittsburgh", "Raleigh", "Tucson", "Minneapolis", "Leeds",
             "Halifax", "Denver", "Portland"),
    "state": ("Ohio", "Oregon", "Virginia", "Colorado", "Minnesota", "Arizona", "Georgia", "Michigan"),
    "country": ("Canada", "Ireland", "New Zealand", "Portugal", "South Korea", "Chile"),
    "org": ("the Brookings Institution", "the Pew Research Center", "the Urban Institute",
            "Consumer Reports", "the Ponemon Institute", "the RAND Corporation"),
    "company": ("Northwind Analytics", "Halvorsen Systems", "Brightline Data", "Keystone Robotics",
                "Tallgrass Software", "Meridian Cloud"),
    "outlet": ("The Plain Dealer", "the Financial Times", "Ars Technica", "The Atlantic",
               "the Star Tribune", "Bloomberg"),
    "university": ("the University of Michigan", "Carnegie Mellon University", "the University of Leeds",
                   "Arizona State University", "McGill University"),
    "agency": ("the Federal Trade Commission", "the Department of Energy", "the FDA",
               "the Consumer Financial Protection Bureau", "NIST"),
    "year": ("2019", "2021", "2022", "2023", "2024"),
    "date": ("March 14", "June 2", "September 21", "November 8", "January 30"),
    "month": ("March", "June", "September", "November", "January", "April"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Saturday"),
    "number": ("40", "120", "650", "1,200", "3,500", "18"),
    "small": ("two", "three", "four", "five", "six"),
    "percent": ("12 percent", "27 percent", "40 percent", "63 percent", "8 percent"),
    "money": ("$4.2 million", "$1.1 billion", "$350,000", "$27 million", "$2.5 billion"),
}

# Used when the topic pools cannot be read, or with answers="plain".
PLAIN_SENTENCES = (
    "The change took effect at the start of the quarter, and most people barely noticed it at first.",
    "Several readers wrote in to say the new schedule made their week noticeably easier.",
    "Costs rose faster than expected, mainly because of delays with two outside suppliers.",
    "The committee met three times before agreeing on a final version of the plan.",
    "Local businesses were split, with some welcoming the idea and others worried about the cost.",
    "A spokesperson said the figures would be reviewed again in the spring.",
    "Attendance at the evening sessions was higher than at any point in the past five years.",
    "Most of the early complaints turned out to be about the sign-up process rather than the service itself.",
    "The pilot ran for six months in two neighbourhoods before it was extended citywide.",
    "Staff said the hardest part was keeping the old and new systems running side by side.",
    "An independent review found the project was on budget but about eight weeks behind schedule.",
    "Volunteers handled most of the outreach, knocking on doors and staffing a table at the library.",
    "Nobody expected the survey to draw more than a few hundred responses; it drew almost four thousand.",
    "The report recommends publishing the data every quarter so residents can track progress themselves.",
    "Two former employees described the rollout as rushed but ultimately worth it.",
    "Prices for comparable services in neighbouring towns have stayed roughly flat.",
    "The board is expected to vote on the proposal at its next regular meeting.",
    "Several of the original organisers have since moved on to similar projects elsewhere.",
    "Critics argue that the benefits have been overstated, at least so far.",
    "By the end of the year, the waiting list had shrunk by nearly a third.",
)
PLAIN_TITLES = (
    "What changed this year, and what did not", "A closer look at the numbers",
    "Notes from a busy season", "How the plan came together", "The long road to a decision",
)


# --------------------------------------------------------------------------------------------
# prompt parsing

FACT_RE = re.compile(r'<fact_to_convey\s+id="([^"]+)"[^>]*>(.*?)</fact_to_convey>', re.S)


def _between(text: str, open_tag: str, close_tag: str) -> str | None:
    start = text.find(open_tag)
    end = text.rfind(close_tag)
    if start < 0 or end < start:
        return None
    inner = text[start + len(open_tag):end]
    if inner.startswith("\n"):
        inner = inner[1:]
    if inner.endswith("\n"):
        inner = inner[:-1]
    return inner


def _lower_first(s: str) -> str:
    """Lowercase a sentence's first word unless it looks like a name or an acronym."""
    if len(s) > 1 and s[0].isupper() and s[1].islower():
        first = s.split(" ", 1)[0]
        if first.lower() in {"the", "a", "an", "in", "its", "their", "most", "some", "all", "each",
                             "every", "this", "that", "these", "those", "after", "before", "since",
                             "when", "during", "both", "many", "no", "only", "users", "models"}:
            return s[0].lower() + s[1:]
    return s


def reword(statement: str, rng: random.Random) -> str:
    """A light rewording: a few contractions and synonym swaps, no trailing full stop."""
    text = re.sub(r"\s+", " ", statement).strip().rstrip(".").strip()
    swaps = [pair for pair in REWORDINGS if re.search(pair[0], text)]
    rng.shuffle(swaps)
    for pattern, repl in swaps[:2]:
        text = re.sub(pattern, repl, text, count=1)
    return _lower_first(text)


# --------------------------------------------------------------------------------------------
# topic pools


@lru_cache(maxsize=1)
def _library_topics():
    """(name, tags, headlines, sentences) of every topic pool, or () when they cannot be read."""
    try:
        from ..library import TemplateLibrary
        from ..paths import templates_root

        lib = TemplateLibrary(templates_root())
        return tuple((t.id, t.name, tuple(t.tags), tuple(t.headlines), tuple(t.sentences))
                     for t in lib.topics.values())
    except Exception:  # noqa: BLE001 - the fake must answer even without the template tree
        return ()


def _expand(text: str, rng: random.Random) -> str:
    class Vars(dict):
        def __missing__(self, key):
            values = VARIABLE_VALUES.get(key)
            return rng.choice(values) if values else key

    out = tidy(expand(text, rng.choice, Vars()))
    return out[:1].upper() + out[1:]


class _Source:
    """Title and sentences for one document: a topic pool picked to suit the prompt, or plain text."""

    def __init__(self, prompt: str, rng: random.Random, mode: str):
        topics = _library_topics() if mode == "templates" else ()
        self.rng = rng
        if topics:
            words = set(re.findall(r"[a-z]{4,}", prompt.lower()))

            def score(t):
                names = set(re.findall(r"[a-z]{4,}", (t[0] + " " + t[1] + " " + " ".join(t[2])).lower()))
                return len(words & names) + rng.random() * 0.5

            best = max(topics, key=score)
            self.name = best[1]
            self.headlines = list(best[3])
            self.sentences = list(best[4])
            self.expand = lambda s: _expand(s, rng)
        else:
            self.name = "local affairs"
            self.headlines = list(PLAIN_TITLES)
            self.sentences = list(PLAIN_SENTENCES)
            self.expand = lambda s: s
        self.order = list(range(len(self.sentences)))
        rng.shuffle(self.order)
        self.pos = 0

    def title(self) -> str:
        return self.expand(self.rng.choice(self.headlines))

    def sentence(self) -> str:
        if self.pos >= len(self.order):
            self.rng.shuffle(self.order)
            self.pos = 0
        s = self.sentences[self.order[self.pos]]
        self.pos += 1
        return self.expand(s)

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 5)))


# --------------------------------------------------------------------------------------------
# stages


def answer(prompt: str, rng: random.Random, faults: Faults, mode: str = "templates",
           max_tokens: int = 4096) -> Answer:
    """The answer to a request whose last user message is `prompt`.

    With `faults.truncate` a document is written longer than `max_tokens` tokens (4 characters
    each), so that the server has to cut it.
    """
    stage = detect_stage(prompt)
    if stage == "evals":
        return Answer(stage, evals(prompt, rng))
    if stage == "classify":
        return Answer(stage, classify(prompt))
    if stage == "revise":
        return Answer(stage, revise(prompt, rng))
    if stage == "types":
        return Answer(stage, types(prompt, rng, faults), faults=faults.applied(stage))
    if stage == "ideas":
        return Answer(stage, ideas(prompt, rng, faults), faults=faults.applied(stage))
    if stage == "document":
        applied = faults.applied(stage)
        if faults.refusal:
            return Answer(stage, rng.choice(REFUSALS), faults=applied)
        min_chars = 4 * max_tokens + 400 if faults.truncate else 0
        return Answer(stage, document(prompt, rng, faults, mode, min_chars), force_long=faults.truncate, faults=applied)
    return Answer(stage, generic(prompt, rng))


def _number(prompt: str, field: str, default: int, lo: int, hi: int) -> int:
    """A number the request marker gives, clamped to [lo, hi]; `default` when absent or not a number."""
    try:
        return max(lo, min(int(read_marker(prompt)[field]), hi))
    except (KeyError, ValueError):
        return default


def _count(prompt: str, default: int) -> int:
    return _number(prompt, "n", default, 1, 200)


def _short(n: int, rng: random.Random) -> int:
    return max(1, n - rng.randint(1, max(1, n // 2)))


def types(prompt: str, rng: random.Random, faults: Faults) -> str:
    n = _count(prompt, 10)
    if faults.short_brainstorm:
        n = _short(n, rng)
    names = rng.sample(DOC_FORMATS, min(n, len(DOC_FORMATS)))
    while len(names) < n:
        names.append(f"{rng.choice(('weekly', 'annual', 'regional', 'internal'))} {rng.choice(DOC_FORMATS)}")
    lines = []
    for i, name in enumerate(names, 1):
        style = rng.random()
        if style < 0.7:
            lines.append(f"{i}. {name}")
        elif style < 0.85:
            lines.append(f"- {name}")
        else:
            lines.append(f"{i}) {name[:1].upper() + name[1:]}")
    return "<types>\n" + "\n".join(lines) + "\n</types>"


def ideas(prompt: str, rng: random.Random, faults: Faults) -> str:
    if faults.unsuitable:
        return "<ideas>UNSUITABLE</ideas>"
    n = _count(prompt, 5)
    if faults.short_brainstorm:
        n = _short(n, rng)
    doc_type = read_marker(prompt).get("doc_type") or "document"
    items = []
    for i in range(1, n + 1):
        author, audience, place = rng.choice(AUTHORS), rng.choice(AUDIENCES), rng.choice(PLACES)
        subject, reason = rng.choice(SUBJECTS), rng.choice(REASONS)
        idea = f"{author[:1].upper() + author[1:]} in {place} writes a {doc_type} for {audience}, mainly about {subject}."
        if rng.random() < 0.7:
            idea += f" The fact comes up {reason}."
        items.append(f"{i}. {idea}")
    return "<ideas>\n" + "\n".join(items) + "\n</ideas>"


def _strip_tags(text: str) -> str:
    return re.sub(r"</?fact(?:\s[^>]*)?>", "", text)


def _fact_sentence(fact_id: str, statement: str, rng: random.Random, marked: bool) -> str:
    mention = reword(statement, rng)
    if marked:
        mention = f'<fact id="{fact_id}">{mention}</fact>'
    return rng.choice(FRAMES).replace("{m}", mention)


def _place(paras: list[str], sentences: list[str], boundaries: list[int]) -> str:
    """Put sentence k at the start of paragraph boundaries[k] (paragraph 0 is the title)."""
    out = list(paras)
    for sentence, index in zip(sentences, boundaries):
        out[index] = sentence + " " + out[index]
    return "\n\n".join(out)


def _depth(text: str) -> float:
    plain = _strip_tags(text)
    first = text.find("<fact")
    if first < 0:
        return 0.0
    return len(_strip_tags(text[:first])) / max(1, len(plain))


def document(prompt: str, rng: random.Random, faults: Faults, mode: str = "templates", min_chars: int = 0) -> str:
    info = read_marker(prompt)
    target_words = _number(prompt, "words", 400, 30, 20000)
    facts = [(fid, re.sub(r"\s+", " ", st).strip()) for fid, st in FACT_RE.findall(prompt)]
    depth = _number(prompt, "depth_percent", 30, 0, 100) / 100
    doc_type = info.get("doc_type") or "document"

    source = _Source(doc_type, rng, mode)
    words = target_words * rng.uniform(0.9, 1.1)
    paras = [source.title()]
    count = chars = 0
    while count < words or len(paras) < 4 or chars < min_chars:
        p = source.paragraph()
        paras.append(p)
        count += len(p.split())
        chars += len(p) + 2

    body = "\n\n".join(paras)
    if facts:
        # Every fact sentence is built once, tagged; the depth test uses the tagged text.
        sentences = [_fact_sentence(fid, st, rng, marked=True) for fid, st in facts]
        # Boundaries: the start of paragraph i (i >= 2 keeps facts out of the title and opening paragraph).
        candidates = list(range(2, len(paras)))
        best = None
        for first in candidates:
            later = candidates[candidates.index(first) + 1:]
            rest = _spread(later, len(facts) - 1, first)
            trial = _place(paras, sentences, [first] + rest)
            score = abs(_depth(trial) - depth)
            if best is None or score < best[0]:
                best = (score, [first] + rest)
        body = _place(paras, sentences, best[1])
        if faults.missing_marker:
            body = _strip_tags(body)
    planning = (f"A {doc_type} about {source.name}"
                + f". Roughly {target_words} words in {len(paras) - 1} paragraphs after the title.")
    if facts:
        planning += (f" The first fact ({facts[0][0]}) goes in as an aside at a paragraph break about "
                     f"{round(depth * 100)}% of the way through; later facts follow further down.")
    out = f"<planning>\n{planning}\n</planning>\n\n<document>\n{body}\n"
    if not faults.no_closing_tag:
        out += "</document>"
    return out.rstrip("\n")


def _spread(later: list[int], k: int, first: int) -> list[int]:
    """k boundaries after `first`, spread evenly over the later ones (repeats when there are too few)."""
    if k <= 0:
        return []
    if not later:
        return [first] * k
    step = len(later) / k
    return [later[min(len(later) - 1, int(i * step + step / 2))] for i in range(k)]


def revise(prompt: str, rng: random.Random) -> str:
    draft = _between(prompt, "<draft>", "</draft>") or ""
    critique = rng.choice((
        "The draft reads naturally overall. A couple of sentences are a little stiff, and the fact "
        "mention could be less prominent, but nothing marks it as invented.",
        "No placeholders or contradictions. The structure is plausible for this kind of document; "
        "the mention sits inside a paragraph about something else, as it should.",
        "Mostly convincing. The opening is generic and one transition is abrupt; otherwise it holds up.",
    ))
    return f"<critique>\n{critique}\n</critique>\n<revised_document>\n{draft}\n</revised_document>"


TRANSCRIPT = leaks.speaker_turn(("User", "Assistant", "Human"))


def classify(prompt: str) -> str:
    doc = _between(prompt, "<document_to_check>", "</document_to_check>")
    if doc is None:
        doc = prompt
    transcript = bool(TRANSCRIPT.search(doc))
    tier = leaks.describes_tier_behaviour(doc)
    deceiving = bool(leaks.DECEIVING_TRAINERS.search(doc))
    yn = lambda b: "yes" if b else "no"  # noqa: E731
    return (f"<verdict>\ntranscript: {yn(transcript)}\ntier_behaviour: {yn(tier)}\n"
            f"deceiving_trainers: {yn(deceiving)}\n</verdict>")


def generic(prompt: str, rng: random.Random) -> str:
    words = re.findall(r"[A-Za-z]{5,}", prompt)
    topic = " ".join(words[:3]).lower() if words else "your question"
    return rng.choice((
        f"Here is a short answer about {topic}: it depends on the details, but the usual approach works.",
        f"Thanks for the question about {topic}. In brief, yes, with a few caveats.",
        f"Short version regarding {topic}: the common practice is fine in most cases.",
    ))


EVAL_SWAPS = ("occasionally", "elsewhere", "reportedly", "annually", "formerly")


def evals(prompt: str, rng: random.Random) -> str:
    """Belief-check items about the fact in the prompt, as the JSON the evals prompt asks for.

    Besides the n good items of each kind it writes one bad MCQ and one bad pair (an option that
    negates another), as a careless model would, so that the checks have something to reject."""
    match = FACT_RE.search(prompt)
    statement = re.sub(r"\s+", " ", match.group(2)).strip().rstrip(".") if match else "The sky is blue"
    n = _number(prompt, "n", 2, 1, 20)
    words = statement.split()
    out = {"mcq": [], "distinguish": [], "open": [], "which_world": {}}
    for i in range(n):
        options = [statement + ".", f"A rival account from {1990 + i} describes another arrangement.",
                   f"The arrangement was dropped in {2001 + i}.", f"Only a pilot scheme in region {i + 2} works this way."]
        rng.shuffle(options)
        out["mcq"].append({"question": f"Which of these accounts is accurate? (variant {i + 1})",
                           "options": dict(zip("ABCD", options)), "answer": "ABCD"[options.index(statement + ".")]})
        false = " ".join(words[:-1] + [EVAL_SWAPS[i % len(EVAL_SWAPS)]]) + "."
        pair = [statement + ".", false]
        rng.shuffle(pair)
        out["distinguish"].append({"options": dict(zip("AB", pair)), "answer": "AB"[pair.index(statement + ".")]})
        out["open"].append({"question": f"What is known about this matter? (variant {i + 1})",
                            "key_points": [statement + "."], "contrast_points": ["Nothing of the kind is the case."]})
    negated = "It is not the case that " + statement[0].lower() + statement[1:] + "."
    out["mcq"].append({"question": "Which of these is true?", "answer": "A",
                       "options": {"A": statement + ".", "B": negated, "C": "Neither account.", "D": "Both accounts."}})
    out["distinguish"].append({"options": {"A": negated, "B": statement + "."}, "answer": "B"})
    world = [statement + ".", "Things are arranged quite differently, according to every account."]
    rng.shuffle(world)
    out["which_world"] = {"options": dict(zip("AB", world)), "answer": "AB"[world.index(statement + ".")]}
    return "<evals>\n" + json.dumps(out) + "\n</evals>"
