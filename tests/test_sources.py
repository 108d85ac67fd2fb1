"""Sources of real text: the hf:// syntax, local readers with a chosen text column, pins."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from generator.errors import SourceError
from generator.sources import SourceRef, check_pin, describe, files_sha256, parse_source, pin_source, read_source


@pytest.mark.parametrize("given, repo, revision, config, split", [
    ("hf://datasets/org/name", "org/name", None, None, "train"),
    ("hf://datasets/org/name/validation", "org/name", None, None, "validation"),
    ("hf://datasets/HuggingFaceFW/fineweb@v1.3.0:sample-10BT/train", "HuggingFaceFW/fineweb", "v1.3.0",
     "sample-10BT", "train"),
    ("hf://datasets/allenai/c4:en", "allenai/c4", None, "en", "train"),
    ("hf://datasets/org/my.data@refs%2Fpr%2F3/test", "org/my.data", "refs/pr/3", None, "test"),
    ("hf://datasets/org/name@0123456789abcdef0123456789abcdef01234567", "org/name",
     "0123456789abcdef0123456789abcdef01234567", None, "train"),
])
def test_hub_sources_parse(given, repo, revision, config, split):
    ref = parse_source(given)
    assert (ref.repo, ref.revision, ref.config, ref.split) == (repo, revision, config, split)
    assert ref.on_hub and ref.path is None


@pytest.mark.parametrize("given, words", [
    ("hf://org/name", "expected hf://datasets/ORG/NAME"),
    ("hf://models/org/name", "expected hf://datasets/ORG/NAME"),
    ("hf://datasets/org", "expected hf://datasets/ORG/NAME"),
    ("hf://datasets/org/name/train/more", "expected hf://datasets/ORG/NAME"),
    ("hf://datasets/org/name:en@main", "expected hf://datasets/ORG/NAME"),
    ("hf://datasets/org/name@:en", "empty revision"),
    ("hf://datasets/org/name@main:/train", "empty config"),
    ("hf://datasets/org/name@main:en/", "empty split"),
    ("hf://datasets/-org/name", "expected hf://datasets/ORG/NAME"),
    ("hf://datasets/org/name:e n", "config 'e n'"),
    ("no/such/file.parquet", "no such file or folder"),
])
def test_malformed_sources_are_one_line_errors(given, words):
    with pytest.raises(SourceError) as err:
        parse_source(given)
    message = str(err.value)
    assert words in message and "\n" not in message and message.startswith(given)


def test_a_pinned_uri_reads_the_same_rows_and_parses_back():
    ref = parse_source("hf://datasets/org/name@main:en/validation", text_column="content")
    sha = "ab" * 20
    uri = ref.pinned_uri(sha)
    assert uri == f"hf://datasets/org/name@{sha}:en/validation"
    again = parse_source(uri, "content")
    assert (again.repo, again.revision, again.config, again.split) == ("org/name", sha, "en", "validation")
    assert again.canonical() == ref.canonical()
    assert describe(ref, sha) == {"source": ref.given, "uri": uri, "repo": "org/name", "revision": "main", "sha": sha,
                                  "config": "en", "split": "validation", "text_column": "content"}


def test_parquet_with_another_text_column_and_a_genre_column(tmp_path):
    path = tmp_path / "pages.parquet"
    pq.write_table(pa.table({"url": ["a", "b", "c"], "content": ["first page", None, "third page"],
                             "genre": ["news_report", None, ""]}), path, row_group_size=2)
    ref = parse_source(str(path), "content")
    records = list(read_source(ref, pin_source(ref)))
    assert [(r.id, r.text, r.genre) for r in records] == [
        ("pages.parquet:0", "first page", "news_report"), ("pages.parquet:1", "", None),
        ("pages.parquet:2", "third page", None)]
    with pytest.raises(SourceError, match=r"no column 'text' \(columns: url, content, genre\)"):
        list(read_source(parse_source(str(path)), "x"))


def test_jsonl_field_and_folder_ids_are_relative_paths(tmp_path):
    folder = tmp_path / "src"
    (folder / "b").mkdir(parents=True)
    (folder / "a.jsonl").write_text(json.dumps({"body": "one"}) + "\n\n" + json.dumps({"body": "two"}) + "\n")
    (folder / "b" / "a.jsonl").write_text(json.dumps({"body": "three", "genre": "forum_thread"}) + "\n")
    ref = parse_source(str(folder), "body")
    records = list(read_source(ref, pin_source(ref)))
    assert [(r.id, r.text, r.genre) for r in records] == [
        ("a.jsonl:1", "one", None), ("a.jsonl:3", "two", None), ("b/a.jsonl:1", "three", "forum_thread")]
    (folder / "c.jsonl").write_text('{"text": "no body"}\n')
    with pytest.raises(SourceError, match=r"c.jsonl:1: body: each line must be a JSON object with a 'body' field"):
        list(read_source(ref, "x"))


def test_a_local_pin_is_the_files_hash_and_a_changed_file_is_refused(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "a"}\n')
    ref = parse_source(str(path))
    pin = pin_source(ref)
    assert pin == files_sha256(path)
    check_pin(ref, pin)
    path.write_text('{"text": "b"}\n')
    with pytest.raises(SourceError, match="changed since the recorded sha256"):
        check_pin(ref, pin)


def test_a_hub_ref_is_never_mistaken_for_a_path():
    assert isinstance(parse_source("hf://datasets/a/b"), SourceRef)
    assert parse_source("hf://datasets/a/b").canonical() == "hf://datasets/a/b/train"
