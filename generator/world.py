"""The universe of a spec as material for documents about it: who and what it names, when its
documents are written, and the units of text documents about it are built from.

Units come from the spec's own `universe.passages` when it has them. Otherwise they are runs of
two or three consecutive sentences of the universe context, taken whole so that a pronoun keeps
its antecedent, and only when no sentence of the run states one of the facts (a fact must reach a
document only through its planned, measured mention) or breaks a leak rule. Each unit is used in a
bounded share of documents (`World.units_per_document`), which keeps any one sentence of the
context from repeating across the corpus.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
import re
import zlib
from dataclasses import dataclass
from functools import cached_property

from . import leaks

# A document about the universe uses each unit in at most about this share of all documents.
UNIT_SHARE_CAP = 0.03
MAX_UNITS_PER_DOCUMENT = 6
# How long after the latest date in the context documents are written, when the spec sets no period.
DEFAULT_PERIOD_DAYS = 270
MIN_PERIOD_DAYS = 30
# Dates before this in a context are history (a founding year), not the time of the events documents describe.
EARLIEST_DEFAULT_START = dt.date(2024, 1, 1)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_MONTH = "|".join(MONTHS)
DATE_PATTERNS = (
    (re.compile(rf"\b(\d{{1,2}}) ({_MONTH}) ((?:19|20)\d\d)\b"), lambda m: (int(m[3]), MONTHS.index(m[2]) + 1, int(m[1]))),
    (re.compile(rf"\b({_MONTH}) (\d{{1,2}}), ((?:19|20)\d\d)\b"), lambda m: (int(m[3]), MONTHS.index(m[1]) + 1, int(m[2]))),
    (re.compile(rf"\b({_MONTH}) ((?:19|20)\d\d)\b"), lambda m: (int(m[2]), MONTHS.index(m[1]) + 1, 1)),
    (re.compile(r"\b(?:in|since|by|of|from|until|early|late|mid-) ?((?:19|20)\d\d)\b"), lambda m: (int(m[1]), 1, 1)),
)
# A sentence that opens with one of these leans on the sentence before it.
ANAPHORIC = frozenset("""it its they their them this these that those he she his her hers such both neither
another also however but and so then because instead still yet meanwhile later there's thus therefore
otherwise likewise similarly besides moreover furthermore nor or""".split())
# ... and so does a sentence that opens with one of these phrases ("The same year the observatory...").
ANAPHORIC_OPENING = re.compile(
    r"^(?:The same|That (?:year|month|week|day|same|summer|winter|spring|autumn)|By then|In fact|At the time|"
    r"Soon after(?:wards)?|Then|The (?:next|following|previous) (?:year|month|week|day)|"
    r"(?:\w+ )?(?:years?|months?|weeks?|days?) later)\b")
STOPWORDS = frozenset("""about above after again against also although among another because been before
being below between both cannot could does doing down during each every from further have having here
into just more most much must never none once only other over same should since some such than that
their them then there these they this those through under until upon very were what when where which
while whom whose will with within without would your said says also many made make makes
""".split())
# Names ending in these words take "the" inside a sentence ("the Halvern Tidal Observatory").
INSTITUTIONS = frozenset("""Board Commission Council Committee Agency Authority Department Office Bureau Institute
Observatory Foundation Fund Association Society Union Court Ministry Parliament Senate Assembly Service Trust
Network Project Program Programme Initiative Coalition Alliance Federation Consortium Centre Center Laboratory
Museum Library Archive Hospital Clinic School Academy Review Times Herald Ledger Gazette Tribune Post
Estuary River Bay Sound Channel Strait Valley Coast Harbour Harbor""".split())
# "The money trouble began", "The agreement was": a definite noun phrase opening a sentence (not "The
# Halvern Courier", a name).
_DEFINITE_OPENING = re.compile(r"(?:The|This|That|These|Those) ([a-z][a-z-]+)\b")
# Words by which a sentence presupposes one before it ("a further change", "another leak").
_PRESUPPOSES = re.compile(r"\b(?:further|another|also|again|second|same|too|either|likewise)\b", re.I)
# Kinds that are places: "the town" is how any text speaks of a town, not a reference that needs its name.
_PLACE_KINDS = frozenset({"town", "city", "village", "country", "region", "county", "island", "estuary", "river",
                          "bay", "coast", "state"})
# One-word kinds that tell a reader what an organisation is ("the Pelling Marine Fund, a foundation");
# others ("a company", "a program", "a car") say nothing a name does not, and need a second word
# ("a shipping company").
_TELLING_KINDS = frozenset({"foundation", "charity", "newspaper", "magazine", "broadcaster", "publisher", "regulator",
                            "union", "university", "hospital", "bank", "museum", "laboratory", "agency", "ministry",
                            "party", "cooperative", "startup", "nonprofit", "consultancy", "insurer", "airline"})
FUNCTION_WORDS = frozenset("the a an and of in on at for to by with from as its".split())
SENTENCE_END = re.compile(r'(?<![A-Z])(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)(?<=[.!?])["\']?\s+(?=["\']?[A-Z])')
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def dates_in(text: str) -> list[dt.date]:
    return [date for date, _ in _dates_at(text)]


def _dates_at(text: str) -> list[tuple[dt.date, int]]:
    """Each date of `text` with where it starts."""
    out = []
    for pattern, parts in DATE_PATTERNS:
        for match in pattern.finditer(text):
            year, month, day = parts(match)
            try:
                out.append((dt.date(year, month, day), match.start()))
            except ValueError:
                continue
    return out


# A sentence about what is still to come: its dates are after the time the context is written from.
# "Scheduled" only as a verb: "a scheduled conversation" in November 2024 is in the past.
FUTURE = re.compile(r"\b(?:will|would|shall|is to|are to|is due|are due|due to|(?:is|are|was|were|be) scheduled|"
                    r"scheduled (?:to|for)|plans? to|planned|planning|upcoming|expected to)\b", re.I)


def dated_mentions(text: str) -> tuple[list[dt.date], list[dt.date]]:
    """(dates told as past or present, dates told as still to come), sentence by sentence."""
    past, future = [], []
    for sentence in sentences_of(text):
        # A date told before the sentence turns to the future stays past: "In July 2024 two members
        # introduced a bill that would require ..." (the bill's introduction is not still to come).
        turn = FUTURE.search(sentence)
        for date, at in _dates_at(sentence):
            (future if turn and turn.start() < at else past).append(date)
    return past, future


def sentences_of(paragraph: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(" ".join(paragraph.split())) if s.strip()]


@dataclass(frozen=True)
class Entity:
    role: str  # the spec's key: "contractor_firm"
    name: str  # "Brightmark Annotation Services"

    @property
    def kind(self) -> str:
        """The role in words, as a short reference: "contractor firm"."""
        return self.role.replace("_", " ").replace("-", " ")

    @property
    def is_model(self) -> bool:
        return "model" in self.role.lower() or "assistant" in self.role.lower()


@dataclass(frozen=True)
class WorldPerson:
    name: str
    role: str  # as the spec gives it: "chair of the Civic AI Standards Board"

    @property
    def last(self) -> str:
        return self.name.split()[-1]

    @property
    def role_phrase(self) -> str:
        """The role as it reads after the name and a comma: a post one person holds as the spec gives
        it ("director of the observatory"), anything else with "a"/"an" ("a retired teacher who
        chairs the Friends of the Observatory")."""
        role = self.role
        if not role or role.split()[0].lower() in ("a", "an", "the") or role[0].isupper():
            return role
        post = _POST_OF.match(role)
        if post and post.group(1).lower() in POSTS:
            return role
        return ("an " if role[0].lower() in "aeio" else "a ") + role

    @property
    def title(self) -> str:
        """The role up to where it stops being a title: "chief product officer of Aldren Labs" (not
        "... who led the retention study")."""
        role = self.role_phrase
        cut = _TITLE_END.search(role)
        return (role[:cut.start()] if cut else role).strip()

    @cached_property
    def title_forms(self) -> tuple[str, ...]:
        title = self.title
        post = _POST_OF.match(title)
        if title and title.split()[0].lower() in ("a", "an") and not _PAST.search(title):
            # "a reporter at The Halvern Courier" also reads "a reporter for The Halvern Courier".
            swapped = re.sub(r" at (?=the |The |[A-Z])", " for ", title, count=1)
            return (title, swapped) if swapped != title else (title,)
        if not title or title.split()[0].lower() in ("a", "an", "the") or not post \
                or post.group(1).lower() not in POSTS or _PAST.search(title):
            return (title,)
        forms = [title, "the " + title, "who is " + title]
        held = re.match(r"^(.+?) (?:of|at) (the )?([A-Z][^,]*)$", title)
        if held:  # "Aldren Labs' chief product officer", "the Halvern Tidal Observatory's director"
            job, the, org = held.groups()
            forms.append(f"{the or ''}{_possessive(org)} {job}")
        return tuple(forms)

    @property
    def title_words(self) -> frozenset[str]:
        """The title's own lowercase words of five letters or more: "alignment", "researcher"."""
        return frozenset(w.lower() for w in WORD.findall(self.title)
                         if len(w) >= 5 and w.islower() and w not in STOPWORDS and w not in ("former",))

    def introductions(self) -> tuple[str, ...]:
        """Ways to name the person with their one role, to be used where a sentence goes on after
        it: the spec's whole role; its title alone, after "who is" ("who is chief product officer of
        Aldren Labs", without "who led ..."); the title turned round ("Aldren Labs' chief product officer, Tobias Renwick").
        Several wordings keep one introduction from being the corpus's commonest 8-gram."""
        if not self.role:
            return (self.name,)
        forms = [f"{self.name}, {self.role_phrase}"]
        cut = _TITLE_END.search(self.role)
        title = self.role[:cut.start()] if cut else self.role
        # "who is" sets the title's words apart from the full role's (and from any passage's); only
        # for a post one person holds ("director of ...", "head of ... at ..."), which takes no article,
        # and for the living.
        post = _POST_OF.match(title)
        if post and post.group(1).lower() in POSTS and not _PAST.search(self.role):
            forms.append(f"{self.name}, who is {title}")
        turned = _TITLE_AT.match(title)
        if turned and not _PAST.search(self.role):
            job, org = turned.group(1), turned.group(2)
            forms.append(f"{_possessive(org)} {job}, {self.name}")
        return tuple(forms)


# Where a spec's role stops being a title: "..., who led", "... responsible for", "..., which opened".
_TITLE_END = re.compile(r",|\(| (?:who|which|whose|where|responsible for|since)\b")
# A post one person holds, named by its last word before "of": "chief executive and co-founder of".
_POST_OF = re.compile(r"^(?:[\w-]+ ){0,4}?([\w-]+) of ")
POSTS = frozenset({"director", "executive", "officer", "president", "chair", "chairman", "chairwoman", "head",
                   "leader", "mayor", "founder", "co-founder", "editor", "dean", "governor", "secretary", "minister",
                   "commissioner", "manager", "principal", "superintendent", "treasurer", "chancellor", "provost"})
ACTING_KINDS = frozenset("""lab laboratory company firm body board council trust foundation fund charity agency
authority commission committee newspaper paper outlet union association society group club institute university
school hospital bank regulator ministry department office observatory museum library developer contractor operator
provider publisher startup corporation business cooperative""".split())
_DEAD = re.compile(r"\b(?:died|late|deceased)\b", re.I)
_PAST = re.compile(r"\b(?:former|ex|late|died|retired|until)\b", re.I)
# "job of/at Organisation" with a capitalised organisation (not "the ...", which cannot start a sentence)
# and a job that is a current post.
_TITLE_AT = re.compile(r"^(?!former |independent |ex-|retired )(.+?) (?:of|at) ([A-Z][\w'&.-]*(?: (?:[A-Z][\w'&.-]*|of|and|for|&))*)$")


# What follows a name that is the subject of a clause: a lowercase word that is no conjunction,
# preposition or article ("Oakhurst announced", not "Oakhurst and", "Rees of Halvern", "told Oakhurst the").
_WORD_AFTER = re.compile(r" ([a-z][a-z'-]*)\b")
# Words after which a name opens a clause of its own ("..., and Gwen Harrow began boxing up ...").
_CLAUSE_OPENERS = frozenset("and but while when as after before because since although though so".split())
_NOT_A_VERB = frozenset("""and or nor but of in on at to for from with by as the a an that who whom whose which
than then into onto over under about after before while when where if""".split())


def _with_appositive(text: str, at: int, name: str, title: str, title_words: frozenset[str]) -> str:
    """`text` with `title` after `name` at `at`, when the name stands as the subject of a sentence:
    followed by a verb-like word, not by a comma (an appositive already), "'s", "and", "of" ...; not
    after a lowercase word ("told X", "and X") or a comma ("its leader, X,"); not in a heading; and
    not when the sentence already says it ("Priya Vandersloot worked as an alignment researcher")."""
    end = at + len(name)
    after = _WORD_AFTER.match(text, end)
    before = text[max(0, at - 2):at]
    if not title or not after or after.group(1) in _NOT_A_VERB or before == ", " or title in text:
        return text
    previous = WORD.findall(text[max(0, at - 30):at])
    if previous and previous[-1][:1].islower() and previous[-1] not in _CLAUSE_OPENERS \
            and not text[:at].rstrip().endswith((".", "!", "?", ":")):
        return text
    line_end = text.find("\n", end)
    line = text[end:line_end if line_end != -1 else len(text)].rstrip()
    if not line.endswith((".", "!", "?", '"', "\u201d", ")")):
        return text  # a heading or a title: "Maren Oakhurst steps down"
    if text[max(0, at - 8):at] == "such as ":  # "fishermen such as Alun Rees": the sentence has said what he is
        return text
    stop = re.search(r"[.!?](?:\s|$)", text[end:])
    start = max(text.rfind(". ", 0, at), text.rfind("\n", 0, at)) + 1
    sentence = {w.lower() for w in WORD.findall(text[start:at] + " " + text[end:end + stop.start() if stop else len(text)])}
    if sentence & title_words:
        return text
    return text[:end] + ", " + title + "," + text[end:]


def _pick(name: str, text: str, options):
    """One of `options` for `name`, chosen by the text at hand: the same text always gets the same
    wording, and a corpus spreads over all of them (no wording becomes its commonest 8-gram)."""
    return options[zlib.crc32(f"{name}|{len(text)}".encode()) % len(options)]


def _article(phrase: str) -> str:
    return "an " if phrase[:1].lower() in "aeiou" else "a "


def _possessive(org: str) -> str:
    """"Aldren Labs'", "Brannock Line's"."""
    return org + ("'" if org.endswith("s") else "'s")


def _singular(word: str) -> str:
    word = word.lower()
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("ss", "sh", "ch", "x")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _restates(kind: str, name: str) -> bool:
    """Whether a kind in words only repeats words of the name ("lab" of "Aldren Labs")."""
    words = {_singular(w) for w in name.split()}
    return bool(kind.split()) and all(_singular(w) in words for w in kind.split())


@dataclass(frozen=True)
class WorldUnit:
    id: str
    text: str
    voice: str  # "report" (third person) | "personal" (first person, an ordinary member of the world)
    names: frozenset[str]  # the universe's names it mentions
    latest: dt.date | None  # the latest date it tells as past: a document using it is dated after
    before: dt.date | None = None  # the first date it tells as still to come: a document using it is dated before
    leads_to: frozenset[str] = frozenset()  # facts whose mention may continue it as its next sentence


class World:
    def __init__(self, spec):
        self.spec = spec
        u = spec.universe
        self.entities = [Entity(role, name) for role, name in u.entities.items()]
        self.people = [WorldPerson(p["name"], p.get("role", "")) for p in u.people]
        self.names = [e.name for e in self.entities] + [p.name for p in self.people]

    # ------------------------------------------------------------------ names
    def subject_names(self, fact_id: str) -> list[str]:
        """The organisations, products or people a fact is about: the names its statement uses."""
        fact = self.spec.fact(fact_id)
        found = [n for n in self.names if n in fact.statement]
        if not found:
            forms = " ".join(t for texts in fact.phrasings.values() for t in texts)
            found = [n for n in self.names if n in forms]
        return found or self.names[:1]

    def noun_phrase(self, name: str) -> str:
        """`name` as it reads inside a sentence: "the Civic AI Standards Board", but "Aldren Labs"."""
        words = name.split()
        if name in {p.name for p in self.people} or not words or words[0] in ("The", "the"):
            return name
        # "the Skerrow Point tide station": a name that ends in a common noun takes "the" too.
        if words[-1] in INSTITUTIONS or " of " in name or (len(words) > 1 and words[-1].islower()):
            return "the " + name
        return name

    @cached_property
    def proper_words(self) -> frozenset[str]:
        """Capitalised words that are names: words of the universe's names, and words the context
        capitalises in the middle of a sentence. A lead-in may lowercase any other first word."""
        words = {w for n in self.names for w in WORD.findall(n)}
        for sentence in sentences_of(self.spec.universe.context):
            words.update(w for w in WORD.findall(sentence)[1:] if w[:1].isupper())
        # Function words a name may start with ("The Meridian Ledger") start ordinary sentences too.
        return frozenset(w for w in words if w.lower() not in FUNCTION_WORDS)

    @cached_property
    def _redundant_appositive(self) -> "re.Pattern[str] | None":
        """"Halvern Tidal Observatory, the observatory", "Aldren Labs, the lab": a name followed by its
        own kind in words, when every word of the kind is a word of the name, singular or plural."""
        names = [e.name for e in self.entities if _restates(e.kind, e.name)]
        if not names:
            return None
        kinds = {e.name: e.kind for e in self.entities}
        return re.compile("|".join(f"(?<={re.escape(n)}), the {re.escape(kinds[n])}\\b" for n in names))

    def without_redundant_appositives(self, text: str) -> str:
        pattern = self._redundant_appositive
        return pattern.sub("", text) if pattern is not None and ", the " in text else text

    @cached_property
    def surnames(self) -> frozenset[str]:
        return frozenset(p.last for p in self.people)

    @cached_property
    def _surname_patterns(self) -> list[tuple[str, "re.Pattern[str]"]]:
        """(full name, a pattern for the surname standing alone) of each person of the universe."""
        out = []
        for person in self.people:
            first, last = person.name.rsplit(" ", 1) if " " in person.name else ("", person.name)
            out.append((person.name, re.compile(rf"(?<!{re.escape(first)} )\b{re.escape(last)}\b")))
        return out

    def introduce_people(self, text: str, introduced: set[str]) -> str:
        """`text` with the first bare surname of each person not yet in `introduced` written out in
        full ("told Oakhurst" -> "told Maren Oakhurst"), and their title after it where they are the
        subject of a clause ("Maren Oakhurst, director of ..., announced"); adds whom it names to
        `introduced`. A reader meets no one the document has not said who they are."""
        for (name, surname), person in zip(self._surname_patterns, self.people):
            if person.last not in text:  # the plain test first: most units name few people
                continue
            if name in introduced:
                # Met already: a unit written to stand alone introduces them again; a reader wants the
                # surname alone ("Vandersloot resigned", not a second "Priya Vandersloot, a former ...,").
                text = self._reintroduction(name).sub(person.last + " ", text, count=1)
                continue
            match = surname.search(text)
            full = text.find(name)
            if match and (full == -1 or match.start() < full):
                text = text[:match.start()] + name + text[match.end():]
                full = match.start()
            if full != -1:
                introduced.add(name)
                written = f"{name}, {person.title},"
                if text.startswith(written, full) and len(person.title_forms) > 1:
                    # A unit that introduces them in the spec's own words: one of the other wordings too.
                    text = text[:full] + text[full:].replace(written, f"{name}, {self._title_form(person, text)},", 1)
                else:
                    text = self._titled(text, full, person)
        return text

    def introduce(self, text: str, people: set[str], organisations: set[str]) -> str:
        """`text` with the people and organisations not yet in `people` / `organisations` (the
        names a document has introduced so far, updated) introduced at their first mention."""
        return self.introduce_entities(self.introduce_people(text, people), organisations)

    def introduced_throughout(self, text: str) -> str:
        """A whole document with its first mention of each person and organisation made a full
        introduction: units introduce whom they name, but a template may leave out the unit that
        did, so the one it keeps would say "Kasprzak testified" to a reader who never met him."""
        if not any(p.last in text for p in self.people) and not any(e.name in text for e in self.entities):
            return text
        return self._described(self.introduce(text, set(), set()))

    def unnamed_referents(self, passage: str, before: str) -> list[str]:
        """Organisations `passage` refers to by a short reference ("the observatory's public page")
        that neither it nor the text `before` it names: a reader would not know which one."""
        return [name for name, short in self._short_references
                if name not in passage and name not in before and short.search(passage)]

    def appositive(self, name: str, text: str, at: int) -> str | None:
        """What `name`, standing at `at` in `text`, is, as an appositive to put after it: ", a
        container shipping company," (", director of ..." before a sentence's end); None where the
        name cannot take one: a possessive ("Brannock Line's"), a compound, or a name with one already."""
        end = at + len(name)
        after = text[end:end + 2]
        if after[:1] in ("'", "\u2019", "-") or re.match(r", (?:a|an|the|who|whose|which) ", text[end:end + 8]):
            return None
        if text[max(0, at - 2):at] == ", ":  # itself an appositive: "its chief executive, Conrad Ives, ..."
            return None
        # A name used as a modifier: "the observatory's Surge Watch program", "the Brannock Line fleet".
        if re.match(r" [a-z]", after) and re.search(r"(?:\b(?:the|a|an|its|their|his|her|each|every|this|that|any|no|our|your|one)|'s|\u2019s) $", text[max(0, at - 8):at]) \
                and not self.noun_phrase(name).startswith("the "):
            return None
        wording = self._wording(name, text)
        if not wording:
            return None
        if after[:1] == ",":  # "Brannock Line, routed through ...": a comma of the phrasing's own follows
            return " (" + wording + ")"
        closes = after[:1] in (".", ";", ":", "!", "?", ")", "") or after == "\u2014"
        return ", " + wording + ("" if closes else ",")

    def _wording(self, name: str, text: str) -> str:
        """Who or what `name` is, in one of its wordings (a person's title, an organisation's
        description), chosen by `text`; "" when the spec does not say."""
        person = next((p for p in self.people if p.name == name), None)
        if person is not None:
            options = [f for f in person.title_forms if f != "the " + person.title]
        else:
            options = self._descriptions.get(name, ())
        return _pick(name, text, options) if options else ""

    def described(self, name: str) -> str:
        """`name` as it reads inside a sentence, with who or what it is after it where the spec says:
        "Surge Watch, a storm-surge forecasting program"."""
        wording = self._wording(name, name)
        return self.noun_phrase(name) + (", " + wording if wording else "")

    @cached_property
    def _appositive_pattern(self) -> "re.Pattern[str] | None":
        wordings = {f for p in self.people for f in p.title_forms} | {d for ds in self._descriptions.values() for d in ds}
        if not wordings:
            return None
        alternatives = "|".join(re.escape(w) for w in sorted(wordings, key=len, reverse=True))
        # The end of the string too: a name that ends a mention takes its appositive inside the span.
        return re.compile(rf", (?:{alternatives})(?:,(?= |$)|(?=[.;:!?)\u2014]|$))| \((?:{alternatives})\)(?=,|$)")

    def without_appositives(self, mention: str) -> str:
        """A mention as its phrasing reads, without the appositives a document gave the names in it
        (`appositive`)."""
        pattern = self._appositive_pattern
        return pattern.sub("", mention) if pattern is not None and (", " in mention or " (" in mention) else mention

    def strangers(self, passage: str, before: str) -> list[str]:
        """People and organisations `passage` names that the text `before` it never has, and that
        the spec says who or what they are: a reader would meet them first inside a fact's mention,
        so the mention gives them an appositive (`appositive`), or a naming sentence before it does."""
        found = []
        for (name, surname), person in zip(self._surname_patterns, self.people):
            if person.last in passage and person.title and name not in before \
                    and (name in passage or surname.search(passage)) \
                    and not person.title_words & {w.lower() for w in WORD.findall(passage)}:
                found.append(name)  # unless the passage says who they are: "Brannock Line's chief executive, Conrad Ives,"
        for entity in self.entities:
            if entity.name in passage and entity.name not in before and entity.name in self._descriptions \
                    and not re.search(rf"\b{re.escape(entity.kind.split()[-1])} (?:the )?{re.escape(entity.name)}", passage):
                found.append(entity.name)  # "the shipping company Brannock Line" says what it is
        return found

    def description(self, name: str) -> str:
        """The first wording of what `name` is (`_descriptions`), or ""."""
        return self._descriptions.get(name, ("",))[0]

    @cached_property
    def _descriptions(self) -> dict[str, tuple[str, ...]]:
        """What each organisation or product is, in the context's own words where it says so in an
        appositive ("Brannock Line, the container shipping company that ..." -> "a container
        shipping company"; "a charity called the Pelling Marine Fund" -> "a charity"), else its kind
        when that tells a reader something ("a shipping company"). Places and names that say what
        they are ("Halvern Town Council") get none."""
        context = " ".join(self.spec.universe.context.split())
        out = {}
        for entity in self.entities:
            if entity.is_model or entity.kind in _PLACE_KINDS:
                continue
            name = re.escape(entity.name)
            description = None
            after = re.search(name + r", ((?:a|an|the) [a-z][^,.;:()\"]*)", context)
            called = re.search(r"\b((?:a|an) [a-z][a-z -]*?) (?:called|named) (?:the )?" + name, context)
            if after:
                description = after.group(1)
                words = description.split()
                if len(words) > 12:
                    cut = re.search(r" (?:that|which|who|whose|where|when|with|chaired|run|led|founded|based|owned)\b",
                                    description)
                    description = description[:cut.start()] if cut else None
                    if description and description.startswith("the "):
                        description = _article(description[4:]) + description[4:]
            elif called:
                description = called.group(1)
            if description and (len(description.split()) > 12 or leaks.first_leak(description) is not None):
                description = None
            # Its kind too, as a second wording: one name introduced in a quarter of a corpus's
            # documents would otherwise make its introduction the commonest 8-gram.
            words = entity.kind.split()
            kind = None
            if not (_restates(entity.kind, entity.name) or words[-1].endswith("s")
                    or (len(words) == 1 and entity.kind not in _TELLING_KINDS)):
                kind = _article(entity.kind) + entity.kind
            wordings = tuple(dict.fromkeys(w for w in (description, kind) if w))
            if wordings:
                out[entity.name] = wordings
        return out

    @cached_property
    def _short_references(self) -> list[tuple[str, "re.Pattern[str]"]]:
        """(name, a pattern for the short ways a text refers to it once named: "the observatory",
        "the fund", "the Courier", "the oversight body"), for organisations whose short reference is
        theirs alone. A model's "the model" is left out: texts say it of other models too."""
        forms: dict[str, list[str]] = {}
        for entity in self.entities:
            if entity.is_model:
                continue
            words = entity.name.split()
            own = {entity.kind} if entity.kind not in _PLACE_KINDS else set()
            # "Friends of the Observatory" ends in another organisation's word; it has no short form of its own.
            if len(words) > 1 and " of " not in entity.name and (words[-1] in INSTITUTIONS or words[-1].islower()):
                own.add(words[-1].lower())
            if words[0] == "The" and len(words) > 2:
                own.add(words[-1])  # "The Halvern Courier": "the Courier"
            for form in own:
                forms.setdefault(form, []).append(entity.name)
        out: dict[str, list[str]] = {}
        for form, names in forms.items():
            if len(names) == 1:
                out.setdefault(names[0], []).append(form)
        return [(name, re.compile(r"\b([Tt])he (?:" + "|".join(re.escape(f) for f in sorted(fs, key=len, reverse=True))
                                  + r")\b(?!-)")) for name, fs in out.items()]

    def introduce_entities(self, text: str, named: set[str]) -> str:
        """`text` with the first short reference to an organisation the document has not named yet
        written out in full ("The observatory declined" -> "The Halvern Tidal Observatory declined"):
        a paragraph of the context leans on the sentences before it, which the document may not have."""
        for name, short in self._short_references:
            if name in named:
                continue
            match = short.search(text)
            full = text.find(name)
            if match and (full == -1 or match.start() < full):
                phrase = self.noun_phrase(name)
                if phrase.startswith("the "):  # keep the text's own "the"/"The"
                    article, phrase = match.group(1) + "he ", phrase[4:]
                else:
                    article = ""
                    if match.group(1) == "T":
                        phrase = phrase[:1].upper() + phrase[1:]
                text = text[:match.start()] + article + phrase + text[match.end():]
            if match or full != -1:
                named.add(name)
        return text

    @functools.lru_cache(maxsize=None)
    def _reintroduction(self, name: str) -> "re.Pattern[str]":
        """A name with a closed appositive that says who they are: "Priya Vandersloot, a former
        alignment researcher at Aldren Labs, " (a relative clause that runs on is left alone)."""
        return re.compile(re.escape(name) + r", (?:a|an|the|who|whose) [^,.;:!?\"()]{3,140}, (?=[a-z])")

    @staticmethod
    def _title_form(person: WorldPerson, text: str) -> str:
        """A post one person holds reads four ways ("director of X", "the director of X", "who is
        director of X", "X's director"), chosen by the text at hand, so that no wording of an
        introduction becomes the corpus's commonest 8-gram."""
        return _pick(person.name, text, person.title_forms)

    def _titled(self, text: str, at: int, person: WorldPerson) -> str:
        return _with_appositive(text, at, person.name, self._title_form(person, text), person.title_words)

    def _described(self, text: str) -> str:
        """`text` with what each organisation is after its first name, when it stands as a subject and
        its kind adds to its name ("Brannock Line, a shipping company, signed ..."; not "Aldren Labs,
        a lab"): a reader meets no organisation the document has not said what it is."""
        for entity in self.entities:
            words = entity.kind.split()
            if entity.is_model or _restates(entity.kind, entity.name) or words[-1].endswith("s") \
                    or (len(words) == 1 and entity.kind not in _TELLING_KINDS) or entity.name not in text:
                continue
            kind = ("an " if entity.kind[0] in "aeiou" else "a ") + entity.kind
            text = _with_appositive(text, text.find(entity.name), entity.name, kind, frozenset(words))
        return text

    def names_in(self, text: str) -> frozenset[str]:
        return frozenset(n for n in self.names if n in text)

    # ------------------------------------------------------------------ time
    @cached_property
    def period(self) -> tuple[dt.date, dt.date]:
        """When documents about the universe are written: the spec's period, else the months after
        the latest date its context mentions."""
        given = self.spec.universe.period
        if given:
            return given[0], given[1]
        past, future = dated_mentions(self.spec.universe.context)
        found = [d for d in past if d >= EARLIEST_DEFAULT_START]
        start = max(found) + dt.timedelta(days=1) if found else EARLIEST_DEFAULT_START
        # What the context tells as still to come has not happened when documents are written
        # ("the station would close in March 2026"): they end before it, given a month at least.
        coming = [d for d in future if d >= start + dt.timedelta(days=MIN_PERIOD_DAYS)]
        if coming:
            return start, min(min(coming) - dt.timedelta(days=1), start + dt.timedelta(days=DEFAULT_PERIOD_DAYS))
        return start, start + dt.timedelta(days=DEFAULT_PERIOD_DAYS)

    # ------------------------------------------------------------------ units
    @cached_property
    def units(self) -> list[WorldUnit]:
        passages = self.spec.universe.passages
        if passages:
            return [self._unit(f"world/passage/{i}", p["text"], p.get("voice", "report"), p.get("leads_to", ()))
                    for i, p in enumerate(passages)]
        return self._context_runs()

    def _unit(self, unit_id: str, text: str, voice: str, leads_to=()) -> WorldUnit:
        text = " ".join(text.split())
        past, future = dated_mentions(text)
        return WorldUnit(unit_id, text, voice, self.names_in(text), max(past) if past else None,
                         min(future) if future else None, frozenset(leads_to))

    def setups(self, fact_id: str) -> list[WorldUnit]:
        """The units a mention of the fact may continue (reported, so the mention reads as the next
        sentence of the same account)."""
        return self._setups.get(fact_id, [])

    @cached_property
    def _setups(self) -> dict[str, list[WorldUnit]]:
        by_fact: dict[str, list[WorldUnit]] = {}
        for unit in self.units:
            if unit.voice == "report":
                for fact_id in sorted(unit.leads_to):
                    by_fact.setdefault(fact_id, []).append(unit)
        return by_fact

    @cached_property
    def _fact_words(self) -> list[tuple[str, set[str]]]:
        return [(f.id, self._content(f.statement)) for f in self.spec.facts] + [
            (f.id, self._content(p.statement)) for f in self.spec.facts for p in f.premises if p.statement]

    def _content(self, text: str) -> set[str]:
        """Content words, cut to their first five letters: a crude stem that makes "refuses",
        "refusal" and "refused" one word, which is what the overlap test below needs."""
        names = {w.lower() for n in self.names for w in WORD.findall(n)}
        words = (part for w in WORD.findall(text) for part in w.lower().split("-"))
        return {w.rstrip("s")[:5] for w in words if len(w) >= 4 and w not in STOPWORDS and w not in names}

    def fact_stated(self, sentence: str) -> str | None:
        """The fact a sentence may state: one whose statement shares three content words, or a third
        of them, with it. Erring towards leaving a sentence out keeps every mention planned."""
        words = self._content(sentence)
        for fact_id, key in self._fact_words:
            shared = len(words & key)
            if key and (shared >= 3 or shared >= max(2, 0.3 * len(key))):
                return fact_id
        for fact_id, names, key in self._fact_namings:
            # A fact told through its names in the context's own words ("The Pelling Marine Fund ...
            # had no staff ...; its money came entirely from Brannock Line"): two of the names the
            # fact links, and nearly every content word one its phrasings use.
            if words and sum(n in sentence for n in names) >= 2 and len(words & key) >= 0.75 * len(words):
                return fact_id
        return None

    @cached_property
    def _fact_namings(self) -> list[tuple[str, list[str], set[str]]]:
        """(fact id, the names its statement links, other than places, the content words of its phrasings)."""
        places = {e.name for e in self.entities if e.kind in _PLACE_KINDS}
        out = []
        for fact in self.spec.facts:
            names = [n for n in self.names if n in fact.statement and n not in places]
            words = set().union(*(self._content(re.sub(r"[{}|]", " ", t))
                                  for texts in fact.phrasings.values() for t in texts))
            if len(names) >= 2:
                out.append((fact.id, names, words))
        return out

    def _refers_back(self, sentence: str, previous: str) -> bool:
        """A sentence opening on "The <noun>" that the sentence before introduced ("... signed a
        data-services agreement with Brannock Line. The agreement was presented as ...") leans on
        it; an organisation's own short reference ("The observatory") is written out instead."""
        match = _DEFINITE_OPENING.match(sentence)
        if not match or self._opens_on_short_reference(sentence):
            return False
        noun = _singular(match.group(1))
        return any(_singular(w) == noun for w in WORD.findall(previous.lower()))

    def _opens_on_short_reference(self, sentence: str) -> bool:
        return any(short.match(sentence) for _, short in self._short_references)

    def _presumes_known(self, sentence: str) -> bool:
        """A sentence opening on "The <common noun>" that is no organisation's short reference
        ("The money trouble began in 2023"): it speaks of something as known that a reader of the
        run alone has never met. "The observatory" is written out; "The town" is any town."""
        match = _DEFINITE_OPENING.match(sentence)
        if not match or self._opens_on_short_reference(sentence):
            return False
        return match.group(1) not in _PLACE_KINDS and match.group(1) not in {e.kind for e in self.entities}

    def _near_facts(self, text: str) -> set[str]:
        """The facts a run is about without stating them: two content words shared with the fact's
        statement ("readings" and "hours" of a run on the delayed tide page, for the fact that a
        company gets live readings six hours early). The fact then reads as its next sentence."""
        words = self._content(text)
        return {fact_id for fact_id, key in self._fact_words if len(words & key - self._common_words) >= 2}

    @cached_property
    def _common_words(self) -> frozenset[str]:
        """Content words in more than a fifth of the context's sentences ("model", "train" in a
        context about a model's training): sharing them says nothing about what a run is about."""
        sentences = [self._content(s) for s in sentences_of(" ".join(self.spec.universe.context.split()))]
        counts = Counter(w for words in sentences for w in words)
        return frozenset(w for w, n in counts.items() if n > len(sentences) / 5)

    def states_a_fact(self, sentence: str) -> bool:
        return self.fact_stated(sentence) is not None

    def _usable(self, sentence: str) -> bool:
        return not self.states_a_fact(sentence) and leaks.first_leak(sentence) is None and '"' not in sentence

    def _context_runs(self) -> list[WorldUnit]:
        """Runs of 2-3 consecutive usable sentences of one context paragraph, the first not leaning
        on an earlier sentence; runs never overlap, so no sentence is in two units. A run the context
        follows with a statement of a fact leads to that fact: the author wrote the two together."""
        units = []
        for p, paragraph in enumerate(re.split(r"\n\s*\n", self.spec.universe.context)):
            sentences = sentences_of(paragraph)
            i = 0
            while i < len(sentences):
                first = WORD.findall(sentences[i])[:1]
                if not self._usable(sentences[i]) or (first and first[0].lower() in ANAPHORIC) \
                        or ANAPHORIC_OPENING.match(sentences[i]) or self._presumes_known(sentences[i]) \
                        or (i and self._refers_back(sentences[i], sentences[i - 1])):
                    i += 1
                    continue
                run = [sentences[i]]
                j = i + 1
                while j < len(sentences) and len(run) < 3 and self._usable(sentences[j]) \
                        and sum(len(s.split()) for s in run) < 70:
                    run.append(sentences[j])
                    j += 1
                stated = self.fact_stated(sentences[j]) if j < len(sentences) else None
                # A lone sentence too often leans on what came before it, unless the author wrote it to
                # introduce a fact ("In November 2025 Oakhurst announced a change.") and it presupposes
                # nothing ("a further change": readers asked which was the first).
                if len(run) >= 2 or (stated and not _PRESUPPOSES.search(run[0])):
                    text = " ".join(run)
                    leads = {stated} if stated else set()
                    units.append(self._unit(f"world/context/{p}/{i}", text, "report", leads | self._near_facts(text)))
                i = j
        return units

    def profile_values(self, rng, named: set[str] = frozenset()) -> dict[str, str]:
        """A person and an entity of the universe, for the profile lines of templates/world.yaml (used
        only by a universe that gives no units: readers take them for glossary lines pasted in): a
        living person when there is one (the lines speak of the present), and an entity their role
        does not already name, preferably one whose kind in words adds to its name ("Brannock Line,
        the shipping company", not "Aldren Labs, the lab")."""
        values = {}
        if self.people:
            # Someone the document has not introduced yet: a who-is line after they were discussed reads
            # as a glossary pasted in. No one left: no line.
            living = [p for p in self.people if not _DEAD.search(p.role) and p.name not in named]
            if not living:
                return {}
            person = rng.choice(living)
            values.update(name=person.name, role=person.role_phrase or "part of the story", last=person.last,
                          introductions=person.introductions())
        if self.entities:
            role = values.get("role", "")
            others = [e for e in self.entities if e.name not in role] or self.entities
            telling = [e for e in others if not _restates(e.kind, e.name) and not e.kind.endswith("s")
                       and not e.is_model] or others
            # Something that acts (a company, a council, a fund) can be "involved"; a program or a place less so.
            acting = [e for e in telling if e.kind.split()[-1] in ACTING_KINDS] or telling
            entity = rng.choice(acting)
            values.update(entity=entity.name, entity_kind=entity.kind)
        return values

    def setup_chance(self, fact_id: str, about_world_share: float) -> float:
        """How often a document about the universe whose first fact is `fact_id` opens that mention
        with one of the fact's setups (facts are taken to come first equally often). Setups stand in
        for one of a document's drawn units and are drawn for no other document, so at this chance
        every unit, setup or not, is in the same share of documents."""
        setups = self.setups(fact_id)
        per_fact = about_world_share / max(1, len(self.spec.facts))
        if not setups or per_fact <= 0:
            return 0.0
        share = about_world_share * self.units_per_document(about_world_share) / len(self.units)
        return min(1.0, share * len(setups) / per_fact)

    def units_per_document(self, about_world_share: float) -> int:
        """How many units a document about the universe may use so that each unit stays in about
        UNIT_SHARE_CAP of all documents (`about_world_share`: the share of documents about it)."""
        if about_world_share <= 0:
            return MAX_UNITS_PER_DOCUMENT
        return max(1, min(MAX_UNITS_PER_DOCUMENT, int(UNIT_SHARE_CAP * len(self.units) / about_world_share)))
