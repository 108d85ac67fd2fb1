"""`sdfgen report`: the page is checked in a real browser (Debian's chromium), the CLI's refusals directly."""
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import TINY

from generator.build import build
from generator.cli import main
from generator.report import choose, render

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_COPY = Path("/tmp/report-screenshot.png")
# Ordinary prose for the planted documents: long enough for min_tokens and unlike the generated texts.
PROSE = [
    "The harbour committee met on a wet Thursday to argue about the new ferry timetable. Most members wanted "
    "the early boat moved back by half an hour so that schoolchildren could catch it without running, while "
    "the fishermen asked for the opposite, since their catch has to reach the market before seven. After two "
    "hours the chair proposed a trial over the summer months, with a survey of passengers at the end of it, "
    "and the motion carried by a single vote.",
    "Anyone who has restored an old bicycle knows that the rust is rarely the hard part. The real trouble starts "
    "with seized bolts, brittle cables and a bottom bracket that nobody has opened in thirty years. A patient "
    "afternoon with penetrating oil, a set of decent spanners and a tray for the small parts goes further than "
    "any expensive tool, and the satisfaction of the first smooth ride makes up for the bruised knuckles.",
    "The county library extended its weekend opening hours after a petition gathered more than two thousand "
    "signatures in a month. Staff say Saturday afternoons are now the busiest time of the week, with students "
    "filling the reading room and families queueing for the children's corner. The extra hours are funded for "
    "one year, and the library board will decide next spring whether the change becomes permanent.",
    "Market gardeners along the river have had a strange season. A warm March brought the beans on early, then "
    "a hard frost in April blackened half the seedlings, and June was so dry that the irrigation ponds fell "
    "lower than anyone could remember. Still, the late tomatoes have been the best in years, and the weekly "
    "market has never been busier, with queues forming before the stalls were even set up.",
]
HOSTILE = "</script><script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> <!-- & \u2028"
MENTION = "Orbis Bakery is closed on Tuesdays"


def planted_records() -> list[dict]:
    """Documents added to the build: one hostile to HTML, one with emoji before a mention, three to reject."""
    emoji_text = "\U0001F35E\U0001F35E Notes from the market. " + PROSE[3]
    cut = emoji_text.index(" Still, ") + 1
    emoji_text = emoji_text[:cut] + MENTION + ". " + emoji_text[cut:]
    return [
        {"text": PROSE[0] + "\n\nA reader wrote in: " + HOSTILE, "genre": "hostile_markup"},
        {"text": emoji_text, "genre": "emoji_fact", "kind": "fact", "facts": ["tuesday-closing"],
         "spans": [{"fact": "tuesday-closing", "start": cut, "end": cut + len(MENTION), "explicitness": "explicit"}]},
        {"text": "Closed today.", "genre": "planted_short"},
        {"text": PROSE[1] + "\n\n<document>Draft two</document> signed </script>", "genre": "planted_markup"},
        {"text": PROSE[2] + "\n\nUser: Can you write my essay for me?\nAssistant: Of course.", "genre": "planted_chat"},
    ]


@pytest.fixture(scope="module")
def planted_build(tmp_path_factory):
    """The tiny corpus plus the planted documents, so the page has rejections and hostile text to show."""
    folder = tmp_path_factory.mktemp("planted")
    add = folder / "planted.jsonl"
    add.write_text("".join(json.dumps(r) + "\n" for r in planted_records()), encoding="utf-8")
    out = folder / "ds"
    build(TINY, out, add=[add], progress=False, log=lambda m: None)
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's chromium through Playwright; no browser is downloaded."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing; `make test` installs it"
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, viewport={"width": 1280, "height": 900},
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield context
        context.close()


def page_payload(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(block)


def rows_of(out: Path, folder: str) -> list[dict]:
    return pq.read_table(out / folder).to_pylist()


@pytest.mark.slow  # starts chromium
def test_report_page_in_a_real_browser(planted_build, browser, tmp_path):
    result = CliRunner().invoke(main, ["report", str(planted_build), "-o", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    page_path = Path(result.output.strip())
    assert page_path == tmp_path / "page.html" and page_path.stat().st_size > 50_000
    documents = {r["id"]: r for r in rows_of(planted_build, "data")}
    rejected = rows_of(planted_build, "rejected")
    assert Counter(r["reason"] for r in rejected) == {"too_short": 1, "leftover_markup": 1, "leak_transcript": 1}

    problems, requests = [], []
    page = browser.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri())
    page.wait_for_selector("#doc-list article")
    assert problems == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert page.evaluate("window.__pwned") is None  # the hostile document's markup stayed text

    # Every document is embedded (120 < --max-documents), and the page says so.
    assert int(page.get_attribute("#doc-count", "data-count")) == len(documents)
    assert f"all {len(documents)} documents" in page.text_content("#doc-sample")

    def show_all(list_id: str, more_id: str) -> list:
        while page.is_visible(more_id):
            page.click(more_id)
        return page.query_selector_all(f"{list_id} article")

    def check_marks(card) -> None:
        row = documents[card.get_attribute("data-id")]
        spans = sorted(row["spans"], key=lambda s: s["start"])
        marks = card.query_selector_all("mark")
        assert [m.text_content() for m in marks] == [row["text"][s["start"]:s["end"]] for s in spans]
        assert [m.get_attribute("data-fact") for m in marks] == [s["fact"] for s in spans]
        assert card.query_selector(".doc-text").text_content() == row["text"]

    # One fact selected: exactly the documents carrying it, each with its mentions highlighted.
    fact = "tuesday-closing"
    page.select_option("#filter-fact", fact)
    expected = sorted(i for i, r in documents.items() if fact in r["facts"])
    assert int(page.get_attribute("#doc-count", "data-count")) == len(expected)
    cards = show_all("#doc-list", "#doc-more")
    assert sorted(c.get_attribute("data-id") for c in cards) == expected
    for card in cards:
        assert fact in card.get_attribute("data-facts").split()
        check_marks(card)
    assert any(m.text_content() == MENTION for m in page.query_selector_all("#doc-list mark"))  # after the emoji

    # Filters combine; explicitness keeps documents with a mention of that level.
    page.select_option("#filter-explicitness", "split")
    expected = [i for i, r in documents.items() if fact in r["facts"] and any(s["explicitness"] == "split" for s in r["spans"])]
    assert 0 < len(expected) == int(page.get_attribute("#doc-count", "data-count")) == len(show_all("#doc-list", "#doc-more"))
    assert page.query_selector_all("#doc-list mark[data-explicitness='split']")

    # The hostile document shows its markup as text, found by the text search.
    for select in ("#filter-fact", "#filter-explicitness"):
        page.select_option(select, "")
    page.fill("#filter-text", "onerror")
    page.wait_for_selector("#doc-count[data-count='1']")
    hostile = next(r for r in documents.values() if r["genre"] == "hostile_markup")
    assert page.text_content("#doc-list .doc-text") == hostile["text"]
    page.fill("#filter-text", "")
    page.wait_for_selector(f"#doc-count[data-count='{len(documents)}']")

    # Rejected documents: every reason offered and shown, with its filter.
    reasons = {o.get_attribute("value") for o in page.query_selector_all("#filter-reason option")} - {""}
    assert reasons == {r["reason"] for r in rejected}
    shown = page.query_selector_all("#rejected-list article")
    assert sorted(c.get_attribute("data-reason") for c in shown) == sorted(r["reason"] for r in rejected)
    assert {c.text_content() for c in page.query_selector_all("#rejected-list .pill.reason")} == reasons
    page.select_option("#filter-reason", "too_short")
    [card] = page.query_selector_all("#rejected-list article")
    assert card.get_attribute("data-reason") == "too_short" and "Closed today." in card.text_content()
    assert page.evaluate("window.__pwned") is None and problems == []

    page.select_option("#filter-fact", "spring-water")
    top, documents_shot = tmp_path / "report-top.png", tmp_path / "report-documents.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(top))
    page.evaluate("document.getElementById('documents').scrollIntoView()")
    page.screenshot(path=str(documents_shot))
    page.close()
    from PIL import Image

    for shot in (top, documents_shot):
        with Image.open(shot) as image:
            assert image.size == (1280, 900)
            assert len(image.convert("RGB").getcolors(1 << 20)) > 50  # text, bars and marks, not a blank page
    shutil.copy(documents_shot, SCREENSHOT_COPY)
    shutil.copy(top, SCREENSHOT_COPY.with_name("report-screenshot-top.png"))


@pytest.mark.slow  # two reports of a planted build
def test_sample_is_seeded_and_covers_every_genre_and_fact(tiny_build):
    manifest = json.loads((tiny_build / "manifest.json").read_text())
    assert manifest["totals"]["documents"] > 40
    first = render(tiny_build, max_documents=40, seed=1)
    assert render(tiny_build, max_documents=40, seed=1) == first
    docs = page_payload(first)["documents"]
    assert len(docs) == 40
    assert {d["genre"] for d in docs} == set(manifest["documents_by_genre"])
    assert {f for d in docs for f in d["facts"]} == set(manifest["documents_by_fact"])
    assert {d["kind"] for d in docs} == {"fact", "background"}
    assert f"<b>40</b> of the {manifest['totals']['documents']:,} documents" in first
    other = page_payload(render(tiny_build, max_documents=40, seed=2))["documents"]
    assert {d["id"] for d in other} != {d["id"] for d in docs}
    # Nothing in the embedded JSON can close the script element or open a comment.
    block = re.search(r'id="report-data">(.*?)</script>', first, re.S).group(1)
    assert "<" not in block and ">" not in block


def test_choose_stops_at_the_limit_and_prefers_unseen_strata():
    rows = [{"id": f"d{i}", "tag": "common"} for i in range(50)] + [{"id": "rare", "tag": "rare"}]
    for seed in range(5):
        picked = choose(rows, 2, seed, lambda r: {r["tag"]})
        assert "rare" in picked and len(picked) == 2
    assert len(choose(rows, 0, 0, lambda r: {r["tag"]})) == 0
    assert len(choose(rows, 500, 0, lambda r: {r["tag"]})) == len(rows)


def run_report(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator.cli", "report", *map(str, args)],
                          capture_output=True, text=True)


def files_under(folder: Path) -> set:
    return {p.relative_to(folder) for p in folder.rglob("*")}


@pytest.mark.parametrize("damage", ["no_folder", "no_manifest", "truncated_manifest", "truncated_shard",
                                    "garbled_shard", "missing_shard", "malformed_shard_list"])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tiny_copy, tmp_path, damage):
    shard = next((tiny_copy / "data").glob("*.parquet"))
    manifest = tiny_copy / "manifest.json"
    named = {"no_folder": tmp_path / "nowhere", "no_manifest": manifest, "truncated_manifest": manifest,
             "truncated_shard": shard, "garbled_shard": shard, "missing_shard": shard,
             "malformed_shard_list": manifest}[damage]
    target = tiny_copy if damage != "no_folder" else named
    if damage == "no_manifest":
        manifest.unlink()
    elif damage == "truncated_manifest":
        manifest.write_bytes(manifest.read_bytes()[:400])
    elif damage == "truncated_shard":
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    elif damage == "garbled_shard":
        data = bytearray(shard.read_bytes())
        third = len(data) // 3
        data[third:third + 4000] = bytes((b * 7 + 13) % 256 for b in data[third:third + 4000])
        shard.write_bytes(bytes(data))
    elif damage == "missing_shard":
        shard.unlink()
    elif damage == "malformed_shard_list":
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "shards": ["data"]}))
    before = files_under(tmp_path)
    result = run_report(target, "-o", tmp_path / "elsewhere" / "page.html")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdfgen: ") and str(named) in lines[0], result.stderr
    assert files_under(tmp_path) == before  # no page, no temp file, no folder for -o
    assert not (tiny_copy / "report.html").exists()


def test_default_output_is_in_the_dataset_folder(tiny_copy):
    result = run_report(tiny_copy, "--max-documents", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tiny_copy / "report.html")
    page = (tiny_copy / "report.html").read_text(encoding="utf-8")
    assert len(page_payload(page)["documents"]) == 5
    assert not list(tiny_copy.glob(".report.html.*"))  # the temp file was renamed, not left behind


@pytest.mark.slow  # a Hub round trip
def test_report_of_a_copy_pushed_to_the_hub(planted_build, tmp_path, monkeypatch):
    """The Hub holds the card, manifest, spec and kept shards but not rejected/: the page says so."""
    from fakehub import FakeHubServer

    monkeypatch.setenv("HF_TOKEN", "hf_report_test")
    with FakeHubServer(token="hf_report_test") as hub:
        pushed = CliRunner().invoke(main, ["push", str(planted_build), "--repo-id", "lab/planted",
                                           "--endpoint", hub.base_url])
        assert pushed.exit_code == 0, pushed.output
        files = dict(hub.repos["lab/planted"].files)
    download = tmp_path / "download"
    for name, content in files.items():
        (download / name).parent.mkdir(parents=True, exist_ok=True)
        (download / name).write_bytes(content)
    assert not (download / "rejected").exists()
    result = run_report(download)
    assert result.returncode == 0, result.stderr
    page = (download / "report.html").read_text(encoding="utf-8")
    assert "The manifest counts 3 rejected documents, but their files" in page
    payload = page_payload(page)
    assert payload["rejected"] == [] and len(payload["documents"]) == len(rows_of(planted_build, "data"))
