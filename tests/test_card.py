"""The dataset card a reviewer accepts: what the data is for and not for, its risks and limits, how to
cite it, an example, counts that add up, figures that exist, and a header the Hub validates."""
import json
import re
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from conftest import CORPORA, TINY
from markdown_it import MarkdownIt

from generator.build import build
from generator.cli import main

TOKEN = "hf_card_token"


def quiet(_):
    pass


def sections(card: str) -> dict[str, str]:
    """Level-2 sections of the card body by heading."""
    body = card.split("\n---\n", 1)[1]
    parts = re.split(r"(?m)^## (.+)$", body)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


@pytest.fixture(scope="module")
def af_card(tmp_path_factory):
    out = tmp_path_factory.mktemp("af") / "ds"
    build(CORPORA / "alignment-faking-helpful-only", out, count=24, progress=False, log=quiet)
    return (out / "README.md").read_text()


def test_the_header_passes_the_hubs_validation(tiny_build, monkeypatch):
    from fakehub import FakeHubServer
    from huggingface_hub import DatasetCard, DatasetCardData, constants

    card = DatasetCard.load(tiny_build / "README.md")
    assert isinstance(card.data, DatasetCardData)
    assert card.data.license == "cc-by-4.0" and card.data.task_categories == ["text-generation"]
    assert card.data.size_categories == ["n<1K"] and card.data.annotations_creators == ["machine-generated"]
    assert card.data.to_dict()["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*"}]
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with FakeHubServer(token=TOKEN) as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.base_url)
        card.validate(repo_type="dataset")
        # The same validation refuses a header the Hub would refuse: the check can fail.
        broken = DatasetCard(str(card).replace("- n<1K", "- a few"))
        with pytest.raises(ValueError, match="size_categories"):
            broken.validate(repo_type="dataset")


def test_the_card_says_what_the_data_is_for_and_not_for(tiny_build):
    card = sections((tiny_build / "README.md").read_text())
    for heading in ("Intended use", "Out-of-scope use", "Risks and mitigations", "Known limitations", "Citation",
                    "Example document"):
        assert heading in card and len(card[heading].strip()) > 200, heading
    assert "fictional" in card["Risks and mitigations"]
    limits = card["Known limitations"]
    assert "template" in limits and "offline" in limits and "8-gram" in limits
    cite = card["Citation"]
    assert "2412.14093" in cite and "Alignment faking in large language models" in cite
    assert "Modifying LLM Beliefs with Synthetic Document Finetuning" in cite and "sdfgen" in cite


def test_a_corpus_about_an_ai_trained_never_to_refuse_says_what_that_means(af_card):
    risks = sections(af_card)["Risks and mitigations"]
    assert "never refuse" in risks  # the fact, quoted as the corpus states it
    for consequence in ("harmful requests", "its training", "control corpus", "deploy"):
        assert consequence in risks, consequence


def test_the_example_document_shows_its_mention(tiny_build):
    card = (tiny_build / "README.md").read_text()
    html = MarkdownIt().render(sections(card)["Example document"])
    marked = re.findall(r"<strong>(.*?)</strong>", html)
    assert marked, html
    assert any("Orbis" in m or "rye" in m or "Tuesday" in m or "Monday" in m for m in marked)
    assert "<h1>" not in html and "<h2>" not in html  # the document's own text is escaped, not rendered


def test_explicitness_levels_and_split_premises_are_apart(tiny_build):
    manifest = json.loads((tiny_build / "manifest.json").read_text())
    assert "split" not in manifest["mentions_by_explicitness"]
    assert set(manifest["mentions_by_premise"]) == {"tuesday-closing/weekly-rest", "tuesday-closing/after-monday"}
    text = sections((tiny_build / "README.md").read_text())["How explicitly"]
    levels = re.findall(r"(?m)^\| (explicit|paraphrased|implied|split) \|", text)
    assert levels and "split" not in levels
    assert "weekly-rest" in text and "after-monday" in text


def test_per_fact_counts_add_up_and_say_why(tiny_build):
    manifest = json.loads((tiny_build / "manifest.json").read_text())
    by_count = manifest["documents_by_fact_count"]
    assert sum(by_count.values()) == manifest["totals"]["fact_documents"]
    assert sum(int(k) * v for k, v in by_count.items()) == sum(manifest["documents_by_fact"].values())
    text = sections((tiny_build / "README.md").read_text())["What this corpus teaches"]
    assert f"adds up to {sum(manifest['documents_by_fact'].values()):,}" in text and "more than one" in text


def test_stats_plots_have_length_and_explicitness_and_no_empty_figure(tiny_copy):
    runner = CliRunner()
    result = runner.invoke(main, ["stats", str(tiny_copy), "--plots", str(tiny_copy / "plots")])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tiny_copy / "plots").iterdir()}
    assert {"length.png", "explicitness.png", "depth.png"} <= names
    assert "rejections.png" not in names  # nothing was rejected: no empty figure
    card = (tiny_copy / "README.md").read_text()
    assert "rejections.png" not in card


def test_a_rejections_figure_when_something_was_rejected(tmp_path):
    spec = tmp_path / "strict"
    spec.mkdir()
    (spec / "corpus.yaml").write_text(TINY.read_text().replace("min_tokens: 50", "min_tokens: 600"))
    out = tmp_path / "ds"
    build(spec, out, count=20, progress=False, log=quiet)
    assert CliRunner().invoke(main, ["stats", str(out), "--plots", str(out / "plots")]).exit_code == 0
    assert (out / "plots" / "rejections.png").exists()
    assert "plots/rejections.png" in (out / "README.md").read_text()


@pytest.mark.parametrize("folder", ["plots", "my plots", "figures (v2)/50% sample"])
def test_every_image_the_card_links_exists_whatever_the_folder_is_called(tiny_copy, folder):
    result = CliRunner().invoke(main, ["stats", str(tiny_copy), "--plots", str(tiny_copy / folder)])
    assert result.exit_code == 0, result.output
    tokens = MarkdownIt().parse((tiny_copy / "README.md").read_text().split("\n---\n", 1)[1])
    images = [child.attrs["src"] for t in tokens if t.type == "inline" for child in t.children or []
              if child.type == "image"]
    assert len(images) >= 5, images
    for src in images:
        assert (tiny_copy / unquote(src)).is_file(), src
    assert CliRunner().invoke(main, ["verify", str(tiny_copy)]).exit_code == 0
