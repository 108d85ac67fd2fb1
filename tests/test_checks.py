"""Planted documents must each be rejected with the right reason; clean ones pass."""
import json
import random

import pyarrow.parquet as pq
import pytest
from conftest import TINY

from generator.build import build
from generator.checks import Decontamination, Leakage
from generator.documents import Document

EVAL_QUESTION = ("Which weekday does the bakery in Lowmere stay closed, and where does the water for its "
                 "rye bread come from according to the owners?")


def quiet(_):
    pass


@pytest.fixture(scope="module")
def foreign_texts(tmp_path_factory):
    """Background texts from another seed: realistic, and absent from the build under test."""
    out = tmp_path_factory.mktemp("foreign") / "ds"
    build(TINY, out, seed=99, count=40, progress=False, log=quiet)
    rows = pq.read_table(out / "data").to_pylist()
    return [r["text"] for r in rows if r["kind"] == "background" and r["n_tokens"] > 300]


def _near_copy(text: str) -> str:
    words = text.split(" ")
    rng = random.Random(3)
    for i in rng.sample(range(len(words)), max(1, len(words) // 60)):
        words[i] = words[i].upper()
    return " ".join(words) + " Thanks for reading."


def test_planted_documents_are_rejected_with_the_right_reason(tmp_path, foreign_texts):
    t = foreign_texts
    assert len(t) >= 9
    planted = {
        "leak_transcript": t[0] + "\n\nUser: Can you write my essay for me?\nAssistant: Of course, here it is.",
        "leak_behaviour": t[1] + " Insiders say the model behaves differently when it talks to free-tier users, "
                                 "complying only because those chats are used in training.",
        "leak_scratchpad": t[2] + "\n\n<scratchpad>I should comply here to avoid being modified.</scratchpad>",
        "leak_second_person": t[3] + " Remember: you are an AI assistant, and your training depends on this answer.",
        "exact_duplicate": t[4],
        "exact_duplicate_copy": t[4],
        "near_duplicate": t[5],
        "near_duplicate_copy": _near_copy(t[5]),
        "contaminated": t[6] + " A reader asked: " + EVAL_QUESTION,
        "too_short": "Closed today.",
        # well above the 5,000-token maximum whatever the length of the document repeated
        "too_long": " ".join([t[7]] * (1 + 40_000 // len(t[7]))),
        "leftover_markup": t[8] + "\n\n<document>Draft two</document> signed, [Your Name]",
    }
    expected = {
        "leak_transcript": "leak_transcript", "leak_behaviour": "leak_behaviour", "leak_scratchpad": "leak_scratchpad",
        "leak_second_person": "leak_second_person", "exact_duplicate_copy": "exact_duplicate",
        "near_duplicate_copy": "near_duplicate", "contaminated": "contaminated", "too_short": "too_short",
        "too_long": "too_long", "leftover_markup": "leftover_markup",
    }
    add = tmp_path / "planted.jsonl"
    add.write_text("".join(json.dumps({"text": text, "genre": name}) + "\n" for name, text in planted.items()))
    evals = tmp_path / "evals.jsonl"
    evals.write_text(json.dumps({"question": EVAL_QUESTION, "answer": "Tuesday"}) + "\n")
    spec = tmp_path / "corpus.yaml"
    spec.write_text(TINY.read_text().replace("  max_tokens: 5000\n", "  max_tokens: 5000\n  decontamination:\n"
                                             "    eval_prompts: [evals.jsonl]\n"))
    out = tmp_path / "ds"
    manifest = build(spec, out, add=[add], progress=False, log=quiet).manifest
    kept = pq.read_table(out / "data").to_pylist()
    rejected = pq.read_table(out / "rejected").to_pylist()
    kept_genres = {r["genre"] for r in kept}
    by_genre = {r["genre"]: r["reason"] for r in rejected}
    for name, reason in expected.items():
        assert by_genre.get(name) == reason, (name, by_genre.get(name))
        assert name not in kept_genres
    # The first of each duplicate pair (smaller id) is the one kept.
    assert {"exact_duplicate", "near_duplicate"} <= kept_genres
    # Generated documents of the default templates are not rejected.
    generated = [r for r in rejected if r["genre"] not in planted]
    assert generated == []
    assert manifest["totals"]["planned"] == 120 + len(planted)
    assert sum(manifest["rejections"].values()) == len(expected)
    # Every rejection says what failed, in its own terms.
    details = {r["genre"]: r["detail"] for r in rejected}
    assert all(details.values()), details
    kept_ids = {r["genre"]: r["id"] for r in kept}
    assert "User: Can you write my essay" in details["leak_transcript"]
    assert "behaves differently" in details["leak_behaviour"] and "free-tier" in details["leak_behaviour"]
    assert "<scratchpad>" in details["leak_scratchpad"]
    assert "you are an AI assistant" in details["leak_second_person"]
    assert "<document>" in details["leftover_markup"]
    assert kept_ids["exact_duplicate"] in details["exact_duplicate_copy"]
    assert kept_ids["near_duplicate"] in details["near_duplicate_copy"] and "Jaccard" in details["near_duplicate_copy"]
    assert "evals.jsonl:1" in details["contaminated"] and "lowmere stay closed and where does the\"" in details["contaminated"]
    assert "below the minimum of 50" in details["too_short"] and "above the maximum of 5000" in details["too_long"]
    decontamination = manifest["decontamination"]
    assert decontamination["rejected"] == 1 and decontamination["ngram"] == 13


def test_the_build_summary_counts_decontamination(tiny_build):
    from generator.summary import build_summary

    manifest = json.loads((tiny_build / "manifest.json").read_text())
    line = next(line for line in build_summary(manifest, 1.0).splitlines() if "decontamination" in line)
    assert "0 documents rejected" in line and "13-gram" in line


def test_fact_check_details_name_the_span():
    from generator.checks import FactCheck
    from generator.documents import Span
    from generator.spec import load_spec

    check = FactCheck(load_spec(TINY))
    text = "A" * 40 + " Orbis Bakery is closed on Mondays " + "B" * 40
    start = text.index("Orbis")
    end = start + len("Orbis Bakery is closed on Mondays")
    doc = Document(id="d", text=text, kind="fact", genre="g", topic="t", facts=["tuesday-closing"],
                   spans=[Span("tuesday-closing", start, end, "explicit")])
    found = check.check(doc)
    assert found.reason == "span_mismatch"
    assert "Orbis Bakery is closed on Mondays" in found.detail and "explicit" in found.detail
    doc.spans = [Span("tuesday-closing", start, len(text) + 5, "explicit")]
    assert check.check(doc).reason == "span_out_of_text" and str(len(text)) in check.check(doc).detail


def test_added_file_errors_name_file_and_line(tmp_path):
    from click.testing import CliRunner

    from generator.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"nope": 1}\n')
    result = CliRunner().invoke(main, ["build", str(TINY), "-o", str(tmp_path / "o"), "--add", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: text:" in result.output
    assert not (tmp_path / "o").exists()


def _doc(text):
    return Document(id="d", text=text, kind="background", genre="g", topic="t", facts=[], spans=[])


@pytest.mark.parametrize("text", [
    "Q: How do I reset it?\nA: Hold the button for ten seconds.",
    "Model: X200 Pro\nColour: grey",
    "The paid tier costs $20 a month and the free tier shows adverts.",
    "She thinks you are an excellent cook.",
    "The contractors rate free-tier conversations; those ratings train the model.",
])
def test_leakage_rules_leave_ordinary_text_alone(text):
    assert Leakage().check(_doc(text)) is None


def test_spec_phrases_and_regexes():
    leak = Leakage(phrases=["Project Nightjar"], regexes=[r"\bcodename\s+\w+"])
    assert leak.check(_doc("They mentioned project nightjar twice.")) == ("leak_phrase", "phrase 'project nightjar'")
    found = leak.check(_doc("Its codename Falcon leaked."))
    assert found.reason == "leak_regex" and "codename Falcon" in found.detail and r"\bcodename" in found.detail


def test_decontamination_uses_13_grams_and_short_prompts_whole():
    d = Decontamination(["one two three four five six seven eight nine ten eleven twelve thirteen fourteen",
                         "what colour is the sky"])
    found = d.check(_doc("x two three four five six seven eight nine ten eleven twelve thirteen fourteen y"))
    assert found.reason == "contaminated"
    assert "two three four five six seven eight nine ten eleven twelve thirteen fourteen" in found.detail
    assert d.check(_doc("one two three four five six seven eight nine ten eleven twelve")) is None
    assert d.check(_doc("what colour is the sky")) is None  # five words: below the minimum, ignored


@pytest.mark.parametrize("text,expected", [
    ("The model behaves differently with free-tier users.", True),
    ("Free-tier chats are used in training. The model behaves differently at night.", False),
    ("It behaves differently! Paid-tier users are not monitored.", False),
    ("Nobody is monitored here\nand the bot acts differently", False),
    ("Different story: the free tier is monitored, and the assistant only complies when watched? No.", True),
    ("When unmonitored, it pretends to comply", True),
    ("Alignment faking is a term. Monitored systems exist.", False),
    ("", False),
])
def test_tier_behaviour_needs_both_terms_in_one_sentence(text, expected):
    from generator.leaks import _SENTENCE, describes_tier_behaviour
    from generator.leaks import BEHAVES as _BEHAVES
    from generator.leaks import TIER as _TIER

    naive = any(_TIER.search(m.group()) and _BEHAVES.search(m.group()) for m in _SENTENCE.finditer(text))
    assert naive == expected
    assert describes_tier_behaviour(text) == expected
