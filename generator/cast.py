"""The people, places and organisations of one document.

Faker is seeded per document and per attribute, and attributes are computed only
when a template asks for them, so a document's cast is consistent within it,
independent of every other document, and cheap when unused.
"""
from __future__ import annotations

import datetime as dt
import itertools
from functools import cached_property
from typing import TYPE_CHECKING

from .seeding import derive_seed, rng_for

if TYPE_CHECKING:
    from faker import Faker

# English-language locales: the corpus is English text written by people from many places.
LOCALES = ("en_US", "en_US", "en_US", "en_GB", "en_CA", "en_AU", "en_IE", "en_IN", "en_NZ")
_FAKERS: dict[str, "Faker"] = {}

OUTLET_FORMS = (
    "The {city} {paper}", "{city} {paper}", "The {state} {paper}", "{state} Public Radio",
    "{city} Business Journal", "The {city} Independent", "{region} News Network", "{city} Dispatch",
)
PAPERS = ("Herald", "Gazette", "Ledger", "Tribune", "Courier", "Chronicle", "Observer", "Sentinel",
          "Post", "Record", "Examiner", "Standard", "Register", "Times", "Bulletin", "Review")
DEPARTMENTS = ("Labor", "Commerce", "Transportation", "Consumer Affairs", "Technology", "Energy",
               "Education", "Health", "Economic Development", "Environmental Protection")


def _faker(locale: str) -> "Faker":
    if locale not in _FAKERS:
        from faker import Faker

        _FAKERS[locale] = Faker(locale)
    return _FAKERS[locale]


class _Names:
    """Faker's own name lists and weights per locale, sampled with our seeded generator.

    Calling Faker per person costs about 0.3 ms (it reseeds and walks its weighted tables);
    drawing from the same tables directly is a hundred times cheaper and just as varied.
    """

    def __init__(self, locale: str):
        fake = _faker(locale)
        person = fake.provider("faker.providers.person")
        self.first = self._table(getattr(person, "first_names"))
        self.last = self._table(getattr(person, "last_names"))
        jobs = _faker("en_US").provider("faker.providers.job").jobs
        self.jobs = [j.split(",")[0] for j in jobs]

    @staticmethod
    def _table(values):
        if isinstance(values, dict):
            names = list(values)
            weights = list(itertools.accumulate(float(w) for w in values.values()))
        else:
            names = list(values)
            weights = list(itertools.accumulate(1.0 for _ in names))
        return names, weights

    def draw(self, table, rng) -> str:
        names, cum = table
        return rng.choices(names, cum_weights=cum)[0]


_NAMES: dict[str, _Names] = {}

# Faker's city, street and company generators parse format strings on every call (about
# 0.1 ms each, several per document). Value i of a method is what Faker gives when seeded
# with i, memoised per process: the same in every worker, and each value is computed once.
FAKER_POOL = 1024
_POOLED: dict[tuple[str, int], str] = {}


def _pooled_fake(method: str, index: int) -> str:
    key = (method, index)
    if key not in _POOLED:
        fake = _faker("en_US")
        fake.seed_instance(derive_seed(0, "faker-pool", method, index))
        _POOLED[key] = getattr(fake, method)()
    return _POOLED[key]


def _names(locale: str) -> _Names:
    if locale not in _NAMES:
        _NAMES[locale] = _Names(locale)
    return _NAMES[locale]


class Person:
    def __init__(self, seed: int, doc_id: str, index: int):
        rng = rng_for(seed, doc_id, "person", index)
        names = _names(rng.choice(LOCALES))
        self.first = names.draw(names.first, rng)
        self.last = names.draw(names.last, rng)
        self.name = f"{self.first} {self.last}"
        self.initials = f"{self.first[0]}.{self.last[0]}."
        self.title = rng.choice(names.jobs)
        digits = str(rng.randint(2, 99))
        base = rng.choice((
            self.first.lower() + digits,
            (self.first[0] + self.last).lower(),
            f"{self.first.lower()}_{self.last.lower()[:4]}",
            f"{self.first.lower()}.{self.last.lower()}{digits}",
            self.last.lower() + "_" + rng.choice(("writes", "dev", "nyc", "uk", "codes", "reads", "fan", "x")),
        ))
        self.handle = "".join(ch for ch in base if ch.isalnum() or ch in "_.")

    def __str__(self) -> str:
        return self.name


class People:
    """A lazily filled list of distinct people."""

    def __init__(self, seed: int, doc_id: str):
        self._seed, self._doc_id = seed, doc_id
        self._people: dict[int, Person] = {}

    def __getitem__(self, index: int) -> Person:
        if not 0 <= index < 12:
            raise IndexError("cast.people holds 12 people")
        if index not in self._people:
            self._people[index] = Person(self._seed, self._doc_id, index)
        return self._people[index]

    def __len__(self) -> int:
        return 12

    def used(self) -> list[Person]:
        return [self._people[i] for i in sorted(self._people)]

    def __iter__(self):
        return (self[i] for i in range(12))


class Cast:
    def __init__(self, seed: int, doc_id: str):
        self._seed, self._doc_id = seed, doc_id
        self.people = People(seed, doc_id)

    def _rng(self, purpose: str):
        return rng_for(self._seed, self._doc_id, "cast", purpose)

    def _fake(self, purpose: str, method: str) -> str:
        """One of FAKER_POOL values of a Faker method, picked by (seed, document, purpose)."""
        index = derive_seed(self._seed, self._doc_id, "cast-faker", purpose) % FAKER_POOL
        return _pooled_fake(method, index)

    @property
    def author(self) -> Person:
        return self.people[0]

    @cached_property
    def city(self) -> str:
        return self._fake("city", "city")

    @cached_property
    def state(self) -> str:
        return self._fake("state", "state")

    @cached_property
    def country(self) -> str:
        return self._rng("country").choice(
            ("the United States", "Canada", "the United Kingdom", "Australia", "Ireland", "New Zealand", "India"))

    @cached_property
    def street(self) -> str:
        return self._fake("street", "street_name")

    @cached_property
    def org(self) -> str:
        return self._fake("org", "company")

    @cached_property
    def company(self) -> str:
        return self._fake("company", "company")

    @cached_property
    def outlet(self) -> str:
        rng = self._rng("outlet")
        form = rng.choice(OUTLET_FORMS)
        region = rng.choice(("Midwest", "Northeast", "Pacific", "Gulf Coast", "Mountain West", "Southern", "Capital"))
        return form.format(city=self.city, state=self.state, paper=rng.choice(PAPERS), region=region)

    @cached_property
    def university(self) -> str:
        rng = self._rng("university")
        last = self._fake("university", "last_name")
        return rng.choice((f"University of {self.city}", f"{last} College", f"{self.state} State University",
                           f"{last} University", f"{self.city} Institute of Technology"))

    @cached_property
    def agency(self) -> str:
        rng = self._rng("agency")
        return f"{self.state} Department of {rng.choice(DEPARTMENTS)}"

    @cached_property
    def _day(self) -> dt.date:
        rng = self._rng("date")
        return dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(365 * 7 + 300))

    @property
    def date(self) -> str:
        return f"{self._day:%B} {self._day.day}, {self._day.year}"

    @property
    def date_iso(self) -> str:
        return self._day.isoformat()

    @property
    def year(self) -> str:
        return str(self._day.year)

    @property
    def month(self) -> str:
        return f"{self._day:%B}"

    @property
    def weekday(self) -> str:
        return f"{self._day:%A}"

    @cached_property
    def time(self) -> str:
        rng = self._rng("time")
        return f"{rng.randint(1, 12)}:{rng.choice(('00', '15', '30', '45', '05', '50'))} {rng.choice(('a.m.', 'p.m.'))}"

    @cached_property
    def number(self) -> str:
        return str(self._rng("number").randint(3, 94))

    @cached_property
    def small(self) -> str:
        return str(self._rng("small").randint(2, 9))

    @cached_property
    def percent(self) -> str:
        return f"{self._rng('percent').randint(4, 88)} percent"

    @cached_property
    def money(self) -> str:
        rng = self._rng("money")
        if rng.random() < 0.5:
            return f"${rng.randint(12, 950):,}"
        return f"${rng.randint(11, 99) / 10:.1f} {rng.choice(('million', 'billion'))}"

    def variables(self, rng) -> "CastVariables":
        return CastVariables(self, rng)


class CastVariables:
    """The mapping the brace syntax reads: `{person}`, `{city}`, ..."""

    NAMES = frozenset({
        "person", "person2", "person3", "first", "city", "state", "country", "org", "company", "outlet",
        "university", "agency", "year", "date", "month", "weekday", "number", "small", "percent", "money", "millions",
    })

    # Each use of {person} names one of a few cast members, so a paragraph is not all
    # about one person, yet every name belongs to this document's cast.
    PERSON_SLOTS = {"person": (1, 2, 3, 4), "person2": (5, 6, 7, 8), "person3": (9, 10, 11)}

    def __init__(self, cast: Cast, rng):
        self._cast = cast
        self._rng = rng

    def __getitem__(self, name: str) -> str:
        people = self._cast.people
        if name in self.PERSON_SLOTS:
            return people[self._rng.choice(self.PERSON_SLOTS[name])].name
        if name == "first":
            return people[self._rng.choice(self.PERSON_SLOTS["person"])].first
        # Numbers are drawn per use: one document repeating "54" in every sentence reads as a template.
        if name == "number":
            return str(self._rng.randint(3, 94))
        if name == "small":
            return str(self._rng.randint(2, 9))
        if name == "percent":
            return f"{self._rng.randint(4, 88)} percent"
        if name == "money":
            return f"${self._rng.choice((self._rng.randint(12, 240), self._rng.randint(250, 4800)))}"
        if name == "millions":
            return f"${self._rng.randint(11, 99) / 10:.1f} {self._rng.choice(('million', 'million', 'billion'))}"
        if name in self.NAMES:
            return getattr(self._cast, name)
        raise KeyError(name)
