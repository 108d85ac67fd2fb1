import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.sources import files_sha256


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


@pytest.fixture(scope="module")
def real_text(tmp_path_factory):
    """Real documents of very different lengths: the METADATA (README) files of installed packages."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    site = Path(pq.__file__).resolve().parents[2]
    texts = [m.read_text(encoding="utf-8", errors="replace") for m in sorted(site.glob("*.dist-info/METADATA"))]
    texts = [t for t in texts if t.strip()][:150]
    assert len(texts) >= 60, "installed packages should provide enough METADATA files"
    path = tmp_path_factory.mktemp("real") / "pages.parquet"
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(len(texts))], "body": texts}), path, row_group_size=16)
    return path


def _export(*args):
    return CliRunner().invoke(main, ["export", *map(str, args)])


def test_token_ratio_is_exact_within_half_a_document(tiny_build, tmp_path, real_text):
    from generator.tokens import count_tokens

    manifest = json.loads((tiny_build / "manifest.json").read_text())
    synthetic_tokens = manifest["totals"]["tokens"]
    out = tmp_path / "mix.jsonl"
    result = _export(tiny_build, "--format", "parquet", "-o", out, "--mix", real_text, "--text-column", "body",
                     "--ratio", "0.8", "--ratio-by", "tokens", "--seed", "5")
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    rows = pq.read_table(out).to_pylist()
    ordinary = [r["text"] for r in rows if r["source"] == "ordinary"]
    counts = count_tokens(ordinary)
    wanted = round(0.8 * synthetic_tokens)
    # The ordinary documents are the source's first ones, whole and unchanged. The last one taken
    # brought the total nearer the target, the next one would not have: the total is within half
    # of one of those two documents of the target.
    source = [t for t in pq.read_table(real_text).column("body").to_pylist() if t.strip()]
    assert sorted(ordinary) == sorted(source[:len(ordinary)])
    assert len(ordinary) < len(source), "the source is read only as far as needed"
    last, following = count_tokens(source[len(ordinary) - 1:len(ordinary) + 1])
    assert abs(sum(counts) - wanted) <= max(last, following) / 2, (sum(counts), wanted, last, following)
    side = json.loads((tmp_path / "mix.jsonl.manifest.json").read_text())
    assert side["ratio_by"] == "tokens" and side["tokens"]["ordinary"] == sum(counts)
    assert side["target"] == {"by": "tokens", "wanted": wanted, "got": sum(counts)}
    synthetic, mixed = side["sources"]
    assert synthetic["fingerprint"] == manifest["fingerprint"] and synthetic["tokens"] == synthetic_tokens
    assert mixed["sha256"] == files_sha256(real_text) and mixed["text_column"] == "body"
    assert mixed["documents"] == len(ordinary) and mixed["tokens"] == sum(counts)
    total = synthetic_tokens + sum(counts)
    assert mixed["share"]["tokens"] == round(sum(counts) / total, 6)
    assert synthetic["share"]["documents"] == round(synthetic["documents"] / len(rows), 6)


def test_token_mix_is_the_same_bytes_again_and_seeded(tiny_build, tmp_path, real_text):
    outs = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = tmp_path / f"{name}.jsonl"
        result = _export(tiny_build, "--format", "chat-jsonl", "-o", out, "--mix", real_text, "--text-column", "body",
                         "--ratio", "1.5", "--ratio-by", "tokens", "--seed", seed)
        assert result.exit_code == 0, result.output
        outs[name] = out.read_bytes()
    assert outs["a"] == outs["b"]
    assert outs["a"] != outs["c"] and sorted(outs["a"].splitlines()) == sorted(outs["c"].splitlines())
    assert not list(tmp_path.glob(".*shuffle*")), "the shuffle's scratch files are removed"


def test_token_mix_refuses_a_source_too_small(tiny_build, tmp_path, real_text):
    out = tmp_path / "x.jsonl"
    result = _export(tiny_build, "--format", "text-jsonl", "-o", out, "--mix", real_text, "--text-column", "body",
                     "--ratio", "500", "--ratio-by", "tokens")
    assert result.exit_code == 2 and "tokens in" in result.output and "needs about" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("args, words", [
    (["--mix", "hf://datasets/only-org"], "expected hf://datasets/ORG/NAME"),
    (["--mix", "missing.parquet"], "no such file or folder"),
    (["--mix", "REAL", "--ratio", "0"], "--ratio must be positive"),
    (["--mix", "REAL"], "no column 'text'"),
])
def test_bad_mix_arguments_are_one_line(tiny_build, tmp_path, real_text, args, words):
    args = [str(real_text) if a == "REAL" else a for a in args]
    result = _export(tiny_build, "--format", "text-jsonl", "-o", tmp_path / "x.jsonl", *args)
    assert result.exit_code == 2 and words in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
