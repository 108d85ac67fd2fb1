"""What one document of the offline backend is made of: the units it draws, in order, whole.

A background document, and an aside (a fact document about something else), take ONE angle of
their topic and draw that angle's paragraphs in the pool's order from a random start, so a
document keeps one subject and reads in sequence. A document about the universe draws units of
the universe (World.units, never more than its share allows), then, when its plan names one, the
paragraphs of one angle of the industry topic around the universe. Generic lines about any
universe (titles, first-person lead-ins, questions) come from templates/world.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .library import Topic
from .world import WORD, WorldUnit

WORLD_LINES = ("headlines", "personal_leads", "questions", "naming_leads", "answers", "profiles")
# A document about the universe uses at most this many paragraphs of its industry topic, after its
# units of the universe, and at most this many paragraphs of generic commentary after those.
MAX_TOPIC_UNITS_ABOUT_WORLD = 2
MAX_COMMENTARY = 2


def angle_quota(size: int) -> int:
    """How many of an angle's units in one voice a document may take: about half, so that two
    documents on the same angle share, on average, a quarter of their units, far from the
    near-duplicate threshold."""
    return max(2, (size + 1) // 2)


def _names_person(text: str, name: str) -> bool:
    return name in text or name.split()[-1] in text


@dataclass(frozen=True)
class Exchange:
    question: str
    answers: tuple[str, ...]


def load_world_lines(path: Path) -> dict[str, list[str]]:
    import yaml

    from .errors import TemplateError

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [k for k in WORLD_LINES if not isinstance(data.get(k), list) or not data[k]]
    commentary = data.get("commentary") or {}
    missing += [f"commentary.{v}" for v in ("report", "personal") if not commentary.get(v)]
    if missing:
        raise TemplateError(f"{path}: needs non-empty lists {', '.join(missing)}")
    lines = {k: [str(v) for v in data[k]] for k in WORLD_LINES}
    lines.update({f"commentary_{v}": [str(x) for x in commentary[v]] for v in ("report", "personal")})
    return lines


class Material:
    def __init__(self, plan, topic: Topic | None, world, world_lines: dict, rng, vary, day, units_per_document: int,
                 proper_words: frozenset[str], setup_chance: float = 0.0):
        self.plan, self.world, self.lines, self.rng, self.vary = plan, world, world_lines, rng, vary
        self.proper_words = proper_words
        self.used: list[str] = []
        self.about_world = plan.placement == "about_world"
        self.topic = topic
        self.angle = rng.choice(topic.angles) if topic is not None else None
        self._cursor = {"report": rng.randrange(1000), "personal": rng.randrange(1000)}
        self._taken = {"report": 0, "personal": 0}
        self._exchanges = rng.sample(range(len(topic.exchanges)), len(topic.exchanges)) if topic else []
        self._angles_seen = {self.angle.id} if self.angle else set()
        self.world_units = []
        self._commentary = 0
        self._profiled = False
        self._hedged = False  # a first-person writer has said where they have it from
        self._said: set[int] = set()
        self._told: set[str] = set()  # writers who already told a first-person story of the universe
        self._introduced: set[str] = set()  # people of the universe named in full so far
        self._named: set[str] = set()  # organisations of the universe named in full so far
        # The unit the document's first fact mention continues, as the exact text `para` gave for it.
        self.setup: WorldUnit | None = None
        self.setup_text = ""
        if self.about_world:
            def fits(u):
                return (u.latest is None or u.latest <= day) and (u.before is None or day < u.before)
            # Units that set up a fact appear only before that fact's mention (and so stay within their share).
            eligible = [u for u in world.units if fits(u) and not u.leads_to]
            chosen = rng.sample(range(len(eligible)), min(units_per_document, len(eligible)))
            self.world_units = [eligible[i] for i in sorted(chosen)]  # in the context's own order
            setups = [u for u in world.setups(plan.facts[0].fact) if fits(u)] if plan.facts else []
            if setups and rng.random() < setup_chance:
                self.setup = rng.choice(setups)
                if len(self.world_units) >= units_per_document:
                    self.world_units.pop(rng.randrange(len(self.world_units)))
                # In the middle of the document's units, where the planned depths mostly fall.
                self.world_units.insert(len(self.world_units) // 2, self.setup)
        # A document with little of the universe to tell takes one more paragraph of its industry topic.
        self._topic_allowance = MAX_TOPIC_UNITS_ABOUT_WORLD + (len(self.world_units) < 2)

    # ------------------------------------------------------------------ titles
    def headline(self, subject: str) -> str:
        """A title about the universe for a document about it, else its angle's."""
        if self.about_world or self.angle is None:
            return self.vary(self.rng.choice(self.lines["headlines"]))
        return self.vary(self.rng.choice(self.angle.headlines))

    # ------------------------------------------------------------------ paragraphs
    def para(self, voice: str = "report", speaker: str | None = None) -> str:
        """The next unit in `voice` ("report" or "personal"); "" once the document's material is spent.
        With `speaker` (a name), a unit about the universe that names that person is passed over,
        so that no one speaks of themself in the third person."""
        writer = speaker or ""
        # A first-person unit of the universe is someone's own story: a writer tells at most one, and a
        # third-person request never gets one.
        personal_ok = voice == "personal" and writer not in self._told
        usable = [u for u in self.world_units if (not speaker or not _names_person(u.text, speaker))
                  and (u.voice != "personal" or personal_ok)]
        if usable:
            unit = usable[0]
            self.world_units.remove(unit)
            self.used.append(unit.id)
            text = self.world.introduce(unit.text, self._introduced, self._named)
            if unit.voice == "personal":
                self._told.add(writer)
                return text
            if voice == "personal":
                text = self.led(text)
            if unit is self.setup:
                self.setup_text = text
            return text
        # A universe with nothing to quote (every sentence of a short context states a fact) still gets
        # one paragraph saying who is who.
        if self.about_world and not self.world.units and not self._profiled and not speaker:
            self._profiled = True
            profile = self.profile()
            if profile:
                return self.personal_lead() + " " + self.lower_first(profile) if voice == "personal" else profile
        topic_text = self._topic_unit(voice)
        if topic_text:
            return topic_text
        if self.about_world and self._commentary < MAX_COMMENTARY:
            self._commentary += 1
            lines = self.lines[f"commentary_{voice}"]
            options = [i for i in range(len(lines)) if i not in self._said]
            if options:
                index = self.rng.choice(options)
                self._said.add(index)
                self.used.append(f"world/commentary/{voice}/{index}")
                return self.vary(lines[index])
        return ""

    def _topic_unit(self, voice: str) -> str:
        if self.angle is None:
            return ""
        units = getattr(self.angle, voice)
        taken = self._taken["report"] + self._taken["personal"]
        if self._taken[voice] >= angle_quota(len(units)) or (self.about_world and taken >= self._topic_allowance):
            return ""
        unit = units[(self._cursor[voice] + self._taken[voice]) % len(units)]
        self._taken[voice] += 1
        self.used.append(unit.id)
        return self.vary(unit.text)

    def new_angle(self) -> bool:
        """Move to another angle of the same topic (a digest's next item, a textbook's next section);
        False when the topic has no angle left. Its headlines then come from the new angle."""
        if self.topic is None or self.about_world:
            return False
        left = [a for a in self.topic.angles if a.id not in self._angles_seen]
        if not left:
            return False
        self.angle = self.rng.choice(left)
        self._angles_seen.add(self.angle.id)
        self._cursor = {"report": self.rng.randrange(1000), "personal": self.rng.randrange(1000)}
        self._taken = {"report": 0, "personal": 0}
        return True

    def _world_answer(self) -> str:
        if not self.world_units:
            return ""
        unit = self.world_units.pop(0)
        self.used.append(unit.id)
        text = self.world.introduce(unit.text, self._introduced, self._named)
        return text if unit.voice == "personal" else self.led(text)

    def led(self, text: str) -> str:
        """A report paragraph in a first-person writer's mouth: the first one may say where the writer
        has it from ("From what I've read, ..."); a lead-in on every paragraph reads as a tic (readers
        flagged "If I've understood the reporting right" twice in one answer)."""
        if self._hedged or self.rng.random() < 0.4:
            return text
        self._hedged = True
        return self.personal_lead() + " " + self.lower_first(text)

    def personal_lead(self) -> str:
        return self.vary(self.rng.choice(self.lines["personal_leads"]))

    def lower_first(self, text: str) -> str:
        """`text` to follow a lead-in: its first letter lowercased unless the first word is a name."""
        first = WORD.match(text)
        word = first.group().removesuffix("'s").removesuffix("’s") if first else ""
        if first and (word in self.proper_words or word == "I"):
            return text
        return text[:1].lower() + text[1:]

    def exchange(self) -> Exchange | None:
        """A question with its answers; None once the document's material is spent."""
        if self.about_world and self.world_units:
            # Answers about the universe come from its own units only, never from the industry topic.
            question = self.vary(self.rng.choice(self.lines["questions"]))
            answers = [self._world_answer()]
            if self.world_units and self.rng.random() < 0.5:
                answers.append(self._world_answer())
            answers.append(self.vary(self.rng.choice(self.lines["answers"])))
            return Exchange(question.strip(), tuple(filter(None, (a.strip() for a in answers))))
        if not self._exchanges:
            return None
        unit = self.topic.exchanges[self._exchanges.pop()]
        self.used.append(unit.id)
        # Whole units: no outer space an empty alternative left (a template may close a bracket after one).
        return Exchange(self.vary(unit.text).strip(), tuple(self.vary(a).strip() for a in unit.answers))

    def profile(self) -> str:
        """A paragraph naming a person and an organisation of the universe in their spec roles."""
        values = self.world.profile_values(self.rng, self._introduced)
        if "name" not in values or "entity" not in values:
            return ""
        index = self.rng.randrange(len(self.lines["profiles"]))
        text = self.vary(self.lines["profiles"][index])
        text = text.replace("<name>, <role>", self.rng.choice(values.pop("introductions")))
        self._introduced.add(values["name"])
        values["entity"] = self.world.noun_phrase(values["entity"])
        for key in ("entity_kind", "entity", "name", "role", "last"):  # longer keys first: "entity" in "entity_kind"
            text = text.replace("<" + key + ">", values[key])
        self.used.append(f"world/profile/{index}")
        return text

    def naming_lead(self, *subjects: str, described: bool = False) -> str:
        """A short sentence naming `subjects` ("the Halvern Tidal Observatory and Brannock Line"),
        before a passage whose wording names nothing it is about, or refers to them only in short;
        `described`: each with what it is ("Surge Watch, a storm-surge forecasting program")."""
        phrases = [self.world.described(s) if described else self.world.noun_phrase(s) for s in subjects]
        named = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        return self.vary(self.rng.choice(self.lines["naming_leads"])).replace("<subject>", named)
