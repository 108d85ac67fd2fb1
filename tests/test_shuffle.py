"""The external shuffle: a seeded permutation that does not depend on buckets or the memory budget."""
import random

from generator.shuffle import ExternalShuffle


def _records(n):
    rng = random.Random(3)
    return [("synthetic" if i % 3 else "ordinary", f"id-{i}", "x" * rng.randint(0, 300) + f" {i} é") for i in range(n)]


def _order(tmp_path, name, records, seed=1, buckets=4, budget=64 << 20):
    shuffle = ExternalShuffle(tmp_path / name, seed, ("synthetic", "ordinary"), buckets, budget)
    for stream, rid, text in records:
        shuffle.add(stream, rid, text)
    try:
        return list(shuffle)
    finally:
        shuffle.close()


def test_a_permutation_independent_of_buckets_budget_and_arrival_order(tmp_path):
    records = _records(2000)
    base = _order(tmp_path, "a", records)
    assert sorted(base) == sorted(records) and base != records
    assert _order(tmp_path, "b", records, buckets=1) == base
    # A 2 KB budget forces buckets to split again (recursively) before they are read.
    assert _order(tmp_path, "c", records, buckets=3, budget=2048) == base
    assert _order(tmp_path, "d", list(reversed(records)), buckets=7) == base
    assert _order(tmp_path, "e", records, seed=2) != base
    assert not any((tmp_path / n).exists() for n in "abcde")


def test_streams_are_spread_through_the_output(tmp_path):
    out = _order(tmp_path, "a", _records(3000))
    first_half = [s for s, _, _ in out[:1500]]
    assert 400 < first_half.count("ordinary") < 600  # 1000 ordinary records in all
