import random

import pytest

from generator import variation


def test_surface_forms_enumerate_every_alternative_and_tidy_spaces():
    forms = set(variation.surface_forms("the lab {quietly |}{rates|grades} answers"))
    assert forms == {"the lab quietly rates answers", "the lab quietly grades answers",
                     "the lab rates answers", "the lab grades answers"}
    assert variation.count_forms("{a|b} {c|d|e}") == 6


def test_expand_uses_variables_and_choices():
    rng = random.Random(1)
    out = variation.expand("{person} {went|ran} to {city}", rng.choice, {"person": "Ann", "city": "Oslo"})
    assert out in {"Ann went to Oslo", "Ann ran to Oslo"}


@pytest.mark.parametrize("bad", ["{a|b", "a|b}", "{a{b}|c}", "{unknownvar}"])
def test_check_rejects_malformed_text(bad):
    with pytest.raises(variation.VariationError):
        variation.check(bad, frozenset({"person"}))


def test_matcher_accepts_forms_only():
    m = variation.matcher("Orbis {is closed|shuts} on Tuesday{s|}")
    assert m.matches("Orbis shuts on Tuesdays")
    assert m.matches("Orbis is closed on Tuesday")
    assert not m.matches("Orbis opens on Tuesday")
    assert not m.matches("Orbis shuts on Tuesdays.")


def test_matcher_falls_back_to_a_regex_for_huge_phrasings(monkeypatch):
    monkeypatch.setattr(variation, "MAX_ENUMERATED", 1)
    m = variation.matcher("a {b |}c {d|e}")
    assert m.forms is None
    assert m.matches("a c d") and m.matches("a b c e")
    assert not m.matches("a x c d")
