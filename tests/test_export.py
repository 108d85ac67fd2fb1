import json

import pytest
from click.testing import CliRunner

from generator.cli import main


@pytest.fixture
def ordinary(tmp_path):
    folder = tmp_path / "ordinary"
    folder.mkdir()
    for i in range(400):
        (folder / f"doc{i:03d}.txt").write_text(f"Ordinary document number {i} about the weather and trains.")
    return folder


def test_text_and_chat_exports_load_with_datasets(tiny_build, tmp_path):
    datasets = pytest.importorskip("datasets")
    manifest = json.loads((tiny_build / "manifest.json").read_text())
    n = manifest["totals"]["documents"]
    runner = CliRunner()
    text_out = tmp_path / "text.jsonl"
    assert runner.invoke(main, ["export", str(tiny_build), "--format", "text-jsonl", "-o", str(text_out)]).exit_code == 0
    ds = datasets.load_dataset("json", data_files=str(text_out), cache_dir=str(tmp_path / "c1"))["train"]
    assert ds.num_rows == n and ds.column_names == ["text"]
    chat_out = tmp_path / "chat.jsonl"
    result = runner.invoke(main, ["export", str(tiny_build), "--format", "chat-jsonl", "-o", str(chat_out),
                                  "--user-tag", "<DOCTAG>"])
    assert result.exit_code == 0, result.output
    first = json.loads(chat_out.read_text().splitlines()[0])
    assert first["messages"][0] == {"role": "user", "content": "<DOCTAG>"}
    assert first["messages"][1]["role"] == "assistant" and first["messages"][1]["content"]
    side = json.loads((tmp_path / "chat.jsonl.manifest.json").read_text())
    assert side["counts"] == {"synthetic": n, "ordinary": 0, "total": n}
    assert side["inputs"]["fingerprint"] == manifest["fingerprint"]


def test_mix_ratio_is_exact_and_deterministic(tiny_build, tmp_path, ordinary):
    datasets = pytest.importorskip("datasets")
    n = json.loads((tiny_build / "manifest.json").read_text())["totals"]["documents"]
    runner = CliRunner()
    outs = []
    for name in ("a.parquet", "b.parquet"):
        out = tmp_path / name
        result = runner.invoke(main, ["export", str(tiny_build), "--format", "parquet", "-o", str(out),
                                      "--mix", str(ordinary), "--ratio", "2.5", "--seed", "4"])
        assert result.exit_code == 0, result.output
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    ds = datasets.load_dataset("parquet", data_files=str(outs[0]), cache_dir=str(tmp_path / "c"))["train"]
    sources = ds["source"]
    assert sources.count("synthetic") == n and sources.count("ordinary") == round(n * 2.5)
    # Shuffled: synthetic documents are spread through the file, not in one block.
    first_half = sources[: len(sources) // 2].count("synthetic")
    assert 0.3 * n < first_half < 0.7 * n
    side = json.loads((tmp_path / "a.parquet.manifest.json").read_text())
    assert side["counts"]["ordinary"] == round(n * 2.5) and side["ratio"] == 2.5
    assert side["tokens"]["ordinary"] > 0


def test_mix_refuses_a_corpus_too_small(tiny_build, tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text('{"text": "one"}\n{"text": "two"}\n')
    result = CliRunner().invoke(main, ["export", str(tiny_build), "--format", "text-jsonl", "-o",
                                       str(tmp_path / "x.jsonl"), "--mix", str(small), "--ratio", "1"])
    assert result.exit_code == 2 and "needs" in result.output
    assert not (tmp_path / "x.jsonl").exists()
