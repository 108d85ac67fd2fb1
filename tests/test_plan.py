from collections import Counter

from conftest import TINY

from generator.plan import plan_documents
from generator.spec import load_spec


def spec():
    return load_spec(TINY, {"news_report", "forum_thread"}, {"cooking", "gardening"})


def test_plans_are_deterministic_and_seed_dependent():
    s = spec()
    a = list(plan_documents(s, 7))
    b = list(plan_documents(s, 7))
    c = list(plan_documents(s, 8))
    assert a == b
    assert a != c


def test_counts_ratio_and_fact_rotation():
    s = spec()
    plans = list(plan_documents(s, 7))
    kinds = Counter(p.kind for p in plans)
    assert kinds == {"fact": 60, "background": 60}
    primaries = Counter(p.facts[0].fact for p in plans if p.kind == "fact")
    assert primaries == {"spring-water": 30, "tuesday-closing": 30}
    for p in plans:
        if p.kind == "fact":
            assert 1 <= len(p.facts) <= 2 and len({c.fact for c in p.facts}) == len(p.facts)
            assert 0.3 <= p.depth_target <= 0.7
        else:
            assert p.facts == () and p.depth_target is None


def test_a_plan_does_not_depend_on_the_corpus_size():
    s = spec()
    small = {p.id: p for p in plan_documents(s, 7, total=2000)}
    large = {p.id: p for p in plan_documents(s, 7, total=4000)}
    same_kind = [i for i in small if small[i].kind == large[i].kind]
    assert same_kind
    for i in same_kind[:200]:
        assert small[i].genre == large[i].genre
