import json

import pytest
from click.testing import CliRunner

from generator.cli import main


@pytest.mark.slow  # matplotlib
def test_stats_tables_json_and_plots(tiny_copy):
    runner = CliRunner()
    text = runner.invoke(main, ["stats", str(tiny_copy)])
    assert text.exit_code == 0, text.output
    for heading in ("by genre", "by fact", "by explicitness", "depth of the first mention", "length in tokens",
                    "diversity", "rejections"):
        assert heading in text.output
    as_json = runner.invoke(main, ["stats", str(tiny_copy), "--json"])
    data = json.loads(as_json.output)
    manifest = json.loads((tiny_copy / "manifest.json").read_text())
    assert data["documents"] == manifest["totals"]["documents"]
    assert sum(v["documents"] for v in data["by_genre"].values()) == data["documents"]
    assert 0.3 <= data["depth"]["p0"] <= data["depth"]["p50"] <= data["depth"]["p100"] <= 0.7

    plots = tiny_copy / "plots"
    result = runner.invoke(main, ["stats", str(tiny_copy), "--plots", str(plots)])
    assert result.exit_code == 0, result.output
    from PIL import Image

    assert not (plots / "rejections.png").exists()  # nothing was rejected: no empty figure
    for name in ("depth.png", "length.png", "tokens_by_genre.png", "documents_by_fact.png", "explicitness.png"):
        with Image.open(plots / name) as image:
            assert image.size[0] > 300 and image.size[1] > 150
            # Not a blank canvas: the bars and axes put many distinct colours on it.
            assert len(image.convert("RGB").getcolors(1 << 20)) > 10
    card = (tiny_copy / "README.md").read_text()
    assert "![Depth of the first mention](plots/depth.png)" in card
    # Embedding twice does not duplicate the section.
    runner.invoke(main, ["stats", str(tiny_copy), "--plots", str(plots)])
    assert (tiny_copy / "README.md").read_text().count("## Figures") == 1


def test_sample_highlights_mentions(tiny_build):
    result = CliRunner().invoke(main, ["sample", str(tiny_build), "-n", "2", "--kind", "fact", "--no-color"])
    assert result.exit_code == 0, result.output
    assert result.output.count("[[") >= 2 and "depth" in result.output
    again = CliRunner().invoke(main, ["sample", str(tiny_build), "-n", "2", "--kind", "fact", "--no-color"])
    assert again.output == result.output
    none = CliRunner().invoke(main, ["sample", str(tiny_build), "--genre", "no_such_genre"])
    assert none.exit_code == 1


def test_sampled_distinct_3gram_ratio_tracks_the_exact_one():
    import random

    import numpy as np

    from generator.diversity import DiversityReport, trigram_digest
    from generator.text import ngram_hashes, sorted_unique, word_ids, words_of

    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(30)]
    texts = [" ".join(rng.choice(vocab) for _ in range(300)) for _ in range(300)]
    ids = [word_ids(words_of(t)) for t in texts]
    report = DiversityReport(set())
    for text, doc_ids in zip(texts, ids):
        report.add({"text": text, "spans": []}, [], *trigram_digest(doc_ids))
    every = np.concatenate([ngram_hashes(i, 3) for i in ids])
    exact = len(sorted_unique(every)) / len(every)
    assert 0.2 < exact < 0.5  # a corpus where the figure means something
    assert abs(report.result()["distinct_3gram_ratio"] - exact) < 0.02
    assert report.trigram_total < len(every) / 8  # only a sample was kept
