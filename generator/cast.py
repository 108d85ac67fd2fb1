"""The people, places and organisations of one document.

Faker is seeded per document and per attribute, and attributes are computed only
when a template asks for them, so a document's cast is consistent within it,
independent of every other document, and cheap when unused.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
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
# ... and for a universe in Great Britain: no "Public Radio", "Business Journal" or "State University".
OUTLET_FORMS_GB = ("The {city} {paper}", "{city} {paper}", "The {state} {paper}", "{city} Evening {paper}")
LOCALES_GB = ("en_GB", "en_GB", "en_GB", "en_GB", "en_IE", "en_IN")
# When an everyday (background) document is dated; documents about a universe use its period.
EVERYDAY_PERIOD = (dt.date(2019, 1, 1), dt.date(2026, 10, 27))
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
    drawing from the same tables directly is a hundred times cheaper and just as varied. First
    names come from Faker's male and female tables, so a person's pronouns match the name.
    """

    def __init__(self, locale: str):
        fake = _faker(locale)
        person = fake.provider("faker.providers.person")
        self.first = {"m": self._table(getattr(person, "first_names_male")),
                      "f": self._table(getattr(person, "first_names_female"))}
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


@functools.cache
def places() -> dict:
    """templates/places.yaml: real cities with their states, and street names (Faker's read as
    generated: "Jessicamouth", "680 Sarah Valleys")."""
    import yaml

    from .paths import templates_root

    return yaml.safe_load((templates_root() / "places.yaml").read_text(encoding="utf-8"))

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


PRONOUNS = {"m": ("he", "him", "his"), "f": ("she", "her", "her")}


class Person:
    def __init__(self, seed: int, doc_id: str, index: int, attempt: int = 0, locales: tuple[str, ...] = LOCALES):
        rng = rng_for(seed, doc_id, "person", index, attempt) if attempt else rng_for(seed, doc_id, "person", index)
        names = _names(rng.choice(locales))
        self.gender = rng.choice(("m", "f"))
        self.first = names.draw(names.first[self.gender], rng)
        self.last = names.draw(names.last, rng)
        while self.last == self.first:  # "Thomas Thomas": Faker's tables share some names
            self.last = names.draw(names.last, rng)
        self.name = f"{self.first} {self.last}"
        self.initials = f"{self.first[0]}.{self.last[0]}."
        self.he, self.him, self.his = PRONOUNS[self.gender]
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
    """A lazily filled list of distinct people (no two share a surname, so a surname alone is clear, or
    a first name).

    Indices below TEMPLATE_PEOPLE are the template's own roles (`cast.people[i]`); every `{person}`
    of a pool unit takes the next index above them, so a unit's person is never also one of the
    template's people under another role.
    """

    TEMPLATE_PEOPLE = 12
    CAPACITY = 48

    def __init__(self, seed: int, doc_id: str, reserved_surnames: frozenset[str] = frozenset(),
                 locales: tuple[str, ...] = LOCALES):
        self._seed, self._doc_id, self._locales = seed, doc_id, locales
        self._people: dict[int, Person] = {}
        # The universe's people's surnames count as taken: an invented "Gregory Marsh" would read as
        # kin of the spec's Sylvia Marsh, and the code that writes her name out in full would take
        # his surname for hers.
        self._surnames: set[str] = set(reserved_surnames)
        self._firsts: set[str] = set()
        self._next_fresh = self.TEMPLATE_PEOPLE

    def __getitem__(self, index: int) -> Person:
        if not 0 <= index < self.CAPACITY:
            raise IndexError(f"cast.people holds {self.CAPACITY} people")
        if index not in self._people:
            attempt = 0
            person = Person(self._seed, self._doc_id, index, 0, self._locales)
            # Nor a first name: a newsletter signed "Sara" quoting a "Sara Miles" reads as one person.
            while (person.last in self._surnames or person.first in self._firsts) and attempt < 20:
                attempt += 1
                person = Person(self._seed, self._doc_id, index, attempt, self._locales)
            self._surnames.add(person.last)
            self._firsts.add(person.first)
            self._people[index] = person
        return self._people[index]

    def fresh(self) -> Person:
        """A person no one has used in this document yet."""
        if self._next_fresh >= self.CAPACITY:
            raise IndexError(f"a document can name at most {self.CAPACITY} people")
        person = self[self._next_fresh]
        self._next_fresh += 1
        return person

    def __len__(self) -> int:
        return self.TEMPLATE_PEOPLE

    def used(self) -> list[Person]:
        return [self._people[i] for i in sorted(self._people)]

    def __iter__(self):
        return (self[i] for i in range(self.TEMPLATE_PEOPLE))


class Cast:
    """`period` (first day, last day), when given, is when the document is dated: a document about
    the universe is written after the events it describes (the spec's period)."""

    def __init__(self, seed: int, doc_id: str, period: tuple[dt.date, dt.date] | None = None,
                 reserved_surnames: frozenset[str] = frozenset(), country: str = "US"):
        """`country`: "GB" gives a British cast (towns and counties, papers, names) to a document about
        a universe there; anything else the default, American one."""
        self._seed, self._doc_id, self._period = seed, doc_id, period
        self._gb = country == "GB"
        self.people = People(seed, doc_id, reserved_surnames, LOCALES_GB if self._gb else LOCALES)

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
    def _place(self) -> dict:
        cities = places()["cities_gb" if self._gb else "cities"]
        return cities[derive_seed(self._seed, self._doc_id, "cast-place") % len(cities)]

    @property
    def city(self) -> str:
        return self._place["city"]

    @property
    def state(self) -> str:
        """The city's own state: a document never puts Boise in Florida."""
        return self._place["state"]

    @cached_property
    def country(self) -> str:
        return self._rng("country").choice(
            ("the United States", "Canada", "the United Kingdom", "Australia", "Ireland", "New Zealand", "India"))

    @cached_property
    def street(self) -> str:
        rng = self._rng("street")
        return f"{rng.choice(places()['street_names'])} {rng.choice(places()['street_suffixes'])}"

    @cached_property
    def org(self) -> str:
        return self._fake("org", "company")

    @cached_property
    def company(self) -> str:
        return self._fake("company", "company")

    @cached_property
    def outlet(self) -> str:
        rng = self._rng("outlet")
        form = rng.choice(OUTLET_FORMS_GB if self._gb else OUTLET_FORMS)
        region = rng.choice(("Midwest", "Northeast", "Pacific", "Gulf Coast", "Mountain West", "Southern", "Capital"))
        return form.format(city=self.city, state=self.state, paper=rng.choice(PAPERS), region=region)

    @property
    def broadcaster(self) -> str:
        """The region's public broadcaster: "Ohio Public Radio", "BBC Radio Devon"."""
        return f"BBC Radio {self.state}" if self._gb else f"{self.state} Public Radio"

    @cached_property
    def university(self) -> str:
        rng = self._rng("university")
        last = self._fake("university", "last_name")
        if self._gb:
            return rng.choice((f"University of {self.city}", f"{self.city} Metropolitan University", f"{last} College"))
        return rng.choice((f"University of {self.city}", f"{last} College", f"{self.state} State University",
                           f"{last} University", f"{self.city} Institute of Technology"))

    @cached_property
    def agency(self) -> str:
        rng = self._rng("agency")
        if self._gb:
            return f"{self.state} County Council"
        return f"{self.state} Department of {rng.choice(DEPARTMENTS)}"

    @cached_property
    def _day(self) -> dt.date:
        rng = self._rng("date")
        first, last = self._period or EVERYDAY_PERIOD
        return first + dt.timedelta(days=rng.randrange((last - first).days + 1))

    @property
    def day(self) -> dt.date:
        return self._day

    def days_before(self, n: int) -> str:
        """The date n days before the document's own, written like `date`."""
        day = self._day - dt.timedelta(days=n)
        return f"{day:%B} {day.day}, {day.year}"

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
    def _clock(self) -> tuple[int, str]:
        """(hour 8-18, minutes): working hours, when meetings, calls and hearings happen."""
        rng = self._rng("time")
        return rng.randint(8, 18), rng.choice(("00", "15", "30", "45", "05", "50"))

    @property
    def time(self) -> str:
        hour, minutes = self._clock
        return f"{(hour - 1) % 12 + 1}:{minutes} {'a.m.' if hour < 12 else 'p.m.'}"

    @property
    def part_of_day(self) -> str:
        """"morning", "afternoon" or "evening", agreeing with `time` ("good {{ cast.part_of_day }}")."""
        hour = self._clock[0]
        return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"

    def variables(self, rng) -> "PoolVariables":
        return PoolVariables(self, rng)


# Names that take "the" inside a sentence ("researchers at the University of Dayton", "obtained by
# the Orlando Examiner"), though a masthead or a letterhead prints them bare.
_NEEDS_THE = re.compile(r"^University of |(?:" + "|".join(PAPERS) + r"|Business Journal|Dispatch|News Network)$")


def in_running_text(name: str) -> str:
    return "the " + name if _NEEDS_THE.search(name) and not name.startswith("The ") else name


class PoolVariables:
    """The mapping the brace syntax reads in pool units and headlines: `{person}` is a new person at
    each use; `{last}` and the pronouns refer to the latest `{person}` of the text being expanded."""

    NAMES = frozenset({"person", "last", "he", "him", "his", "He", "His", "city", "state", "company", "outlet",
                       "university", "year", "month"})

    def __init__(self, cast: Cast, rng):
        self._cast = cast
        self._rng = rng
        self.current: Person | None = None

    def __getitem__(self, name: str) -> str:
        if name == "person":
            self.current = self._cast.people.fresh()
            return self.current.name
        if name in ("last", "he", "him", "his", "He", "His"):
            person = self.current or self._cast.people.fresh()
            self.current = person
            if name == "last":
                return person.last
            value = getattr(person, name.lower())
            return value[0].upper() + value[1:] if name[0].isupper() else value
        if name in ("university", "outlet"):
            return in_running_text(getattr(self._cast, name))
        if name in self.NAMES:
            return getattr(self._cast, name)
        raise KeyError(name)
