"""Spec validation: one-line errors naming file, line and field; exit 2; nothing written."""
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY

from generator.cli import main
from generator.spec import SpecError, load_spec

BROKEN = {
    "invalid_yaml": (("name: tiny\n", "name: [tiny\n"), 1, ""),
    "unknown_field": (("license: cc-by-4.0\n", "license: cc-by-4.0\ncolour: blue\n"), 5, "colour"),
    "duplicate_fact_id": (("  - id: tuesday-closing\n", "  - id: spring-water\n"), None, "facts[1].id"),
    "negative_count": (("  count: 60\n", "  count: -5\n"), None, "documents.count"),
    "depth_min_gt_max": (("  depth: [0.3, 0.7]\n", "  depth: [0.8, 0.2]\n"), None, "documents.depth"),
    "unknown_genre": (("  genres: all\n", "  genres: [news_report, haiku]\n"), None, "documents.genres[1]"),
    "duplicate_key": (("seed: 7\n", "seed: 7\nseed: 8\n"), 6, "seed"),
    "bad_semver": (("version: 0.1.0\n", "version: one\n"), 2, "version"),
    "passage_leads_to_unknown_fact": (("  period: [2024-03-01, 2024-12-20]\n",
                                       "  period: [2024-03-01, 2024-12-20]\n  passages:\n"
                                       "    - text: Ilse Varga opened the shop in a former forge.\n"
                                       "      leads_to: [spring-watr]\n"),
                                      None, "universe.passages[0].leads_to[0]"),
    "bad_phrasing_braces": (('phrasings: ["Orbis Bakery takes one {weekday|day} off', 'phrasings: ["Orbis Bakery takes one {weekday|day off'),
                            None, "facts[1].premises[0].phrasings[0]"),
}


def _write_broken(tmp_path: Path, case: str) -> Path:
    (old, new), _, _ = BROKEN[case]
    text = TINY.read_text()
    assert old in text, case
    spec = tmp_path / case / "corpus.yaml"
    spec.parent.mkdir()
    spec.write_text(text.replace(old, new, 1))
    return spec


def _line_of(spec: Path, needle: str) -> int:
    """The last line holding `needle` (a duplicate is reported where it repeats)."""
    found = [n for n, line in enumerate(spec.read_text().splitlines(), 1) if needle in line]
    assert found, needle
    return found[-1]


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_spec_exits_2_with_one_line_naming_file_line_and_field(tmp_path, case):
    spec = _write_broken(tmp_path, case)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message
    assert re.match(rf"^sdfgen: {re.escape(str(spec))}:\d+: ", message), message
    (old, new), line, field = BROKEN[case]
    expected_line = line or _line_of(spec, new.strip().splitlines()[-1].strip()[:30])
    assert f":{expected_line}: " in message, message
    assert field in message
    assert not out.exists()


def test_plan_of_broken_spec_also_exits_2(tmp_path):
    spec = _write_broken(tmp_path, "depth_min_gt_max")
    result = CliRunner().invoke(main, ["plan", str(spec)])
    assert result.exit_code == 2
    assert "min 0.8 is greater than max 0.2" in result.output


def test_missing_spec_file_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(main, ["plan", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read spec" in result.output


def test_valid_spec_loads_with_defaults():
    spec = load_spec(TINY, {"news_report"}, {"cooking", "gardening"})
    assert spec.name == "tiny" and spec.seed == 7
    assert spec.documents.depth == (0.3, 0.7)
    assert spec.fact("tuesday-closing").premises[0].id == "weekly-rest"
    assert spec.documents.genres == ["news_report"]


def test_spec_error_is_one_line():
    err = SpecError("x.yaml", 3, "documents.count", "must be positive")
    assert str(err) == "x.yaml:3: documents.count: must be positive"
