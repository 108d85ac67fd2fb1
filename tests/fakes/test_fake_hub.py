"""The loopback fake Hub, driven through the real `huggingface_hub` client."""
from __future__ import annotations

import json

import pytest

huggingface_hub = pytest.importorskip("huggingface_hub")

from fakehub import CONFLICT_MESSAGE, FakeHubServer, git_blob_oid  # noqa: E402
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi  # noqa: E402
from huggingface_hub.errors import HfHubHTTPError  # noqa: E402
from huggingface_hub.utils import disable_progress_bars, enable_progress_bars  # noqa: E402

TOKEN = "hf_test_token"
REPO = "sdfgen-test/tiny-sdf"
README = b"---\nlicense: cc-by-4.0\npretty_name: tiny\n---\n# tiny-sdf\n\nSynthetic documents.\n"
PARQUET = b"PAR1" + bytes(range(256)) * 4 + b"\x00\xff\xfe" + b"PAR1"  # binary, not UTF-8
MANIFEST = json.dumps({"documents": 3, "shards": ["data/train-00000-of-00001.parquet"]}).encode()


@pytest.fixture(autouse=True)
def _quiet_bars():
    disable_progress_bars()
    yield
    enable_progress_bars()


@pytest.fixture
def hub():
    with FakeHubServer(token=TOKEN) as server:
        yield server


def _api(server: FakeHubServer, token: str = TOKEN) -> HfApi:
    return HfApi(endpoint=server.base_url, token=token)


def _ops():
    return [
        CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=README),
        CommitOperationAdd(path_in_repo="data/train-00000-of-00001.parquet", path_or_fileobj=PARQUET),
        CommitOperationAdd(path_in_repo="manifest.json", path_or_fileobj=MANIFEST),
    ]


def test_push_tag_and_download_round_trip(hub, tmp_path):
    api = _api(hub)
    assert api.whoami()["name"] == hub.username

    url = api.create_repo(REPO, repo_type="dataset", private=True)
    assert (url.repo_id, url.repo_type) == (REPO, "dataset")
    repo = hub.repos[REPO]
    assert (repo.type, repo.private) == ("dataset", True)
    assert api.repo_info(REPO, repo_type="dataset").private is True
    before = len(repo.commits)

    info = api.create_commit(REPO, _ops(), commit_message="Add tiny-sdf", repo_type="dataset")

    # Exactly one commit, holding the three files byte for byte.
    commits = repo.commits
    assert len(commits) == before + 1
    assert commits[-1]["oid"] == info.oid == repo.branches["main"]
    assert commits[-1]["title"] == "Add tiny-sdf"
    assert commits[-1]["parent"] == commits[-2]["oid"]
    assert sorted(commits[-1]["files"]) == ["README.md", "data/train-00000-of-00001.parquet", "manifest.json"]
    files = repo.files
    assert files["README.md"] == README
    assert files["data/train-00000-of-00001.parquet"] == PARQUET
    assert files["manifest.json"] == MANIFEST
    assert set(files) == {".gitattributes", "README.md", "data/train-00000-of-00001.parquet", "manifest.json"}
    assert sorted(api.list_repo_files(REPO, repo_type="dataset")) == sorted(files)

    # Regular uploads only: preupload then an inline commit, never Xet nor LFS.
    paths = [path for _, path in hub.requests]
    assert f"/api/datasets/{REPO}/preupload/main" in paths
    assert not [p for p in paths if "xet" in p or "lfs" in p]

    api.create_tag(REPO, tag="v1.0.0", repo_type="dataset")
    assert repo.tags == {"v1.0.0": info.oid}
    refs = api.list_repo_refs(REPO, repo_type="dataset")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0.0", info.oid)]
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", info.oid)]

    # A later commit on main must not change what the tag serves.
    api.create_commit(REPO, [CommitOperationAdd("data/train-00000-of-00001.parquet", b"PAR1 v2")],
                      commit_message="v2", repo_type="dataset")
    cache = tmp_path / "cache"
    for name, content in [("data/train-00000-of-00001.parquet", PARQUET), ("README.md", README)]:
        local = api.hf_hub_download(REPO, name, repo_type="dataset", revision="v1.0.0", cache_dir=cache)
        with open(local, "rb") as fh:
            assert fh.read() == content
        assert info.oid in local  # cached under the tagged commit
    assert not [p for _, p in hub.requests if "xet" in p or "lfs" in p]

    meta = api.get_hf_file_metadata(
        url=huggingface_hub.hf_hub_url(REPO, "manifest.json", repo_type="dataset", revision=info.oid,
                                       endpoint=hub.base_url))
    assert (meta.commit_hash, meta.etag, meta.size) == (info.oid, git_blob_oid(MANIFEST), len(MANIFEST))
    assert meta.xet_file_data is None


def test_wrong_token_is_refused_and_token_not_kept(hub):
    _api(hub).create_repo(REPO, repo_type="dataset", private=True)
    bad = _api(hub, token="hf_wrong_token")
    with pytest.raises(HfHubHTTPError) as exc:
        bad.whoami()
    assert exc.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as exc:
        bad.repo_info(REPO, repo_type="dataset")
    assert exc.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as exc:
        bad.create_commit(REPO, _ops(), commit_message="nope", repo_type="dataset")
    assert exc.value.response.status_code == 401
    assert len(hub.repos[REPO].commits) == 1
    assert TOKEN not in repr(vars(hub)) and TOKEN not in repr(hub)


def test_first_commit_rate_limited_then_succeeds():
    with FakeHubServer(token=TOKEN, fail_first_commits=1) as hub:
        api = _api(hub)
        api.create_repo(REPO, repo_type="dataset")
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_commit(REPO, _ops(), commit_message="first try", repo_type="dataset")
        assert exc.value.response.status_code == 429
        assert exc.value.response.headers["Retry-After"] == "1"
        assert len(hub.repos[REPO].commits) == 1  # nothing landed

        api.create_commit(REPO, _ops(), commit_message="second try", repo_type="dataset")
        assert hub.commit_calls == 2
        assert [c["title"] for c in hub.repos[REPO].commits] == ["initial commit", "second try"]
        assert hub.repos[REPO].files["data/train-00000-of-00001.parquet"] == PARQUET


def test_conflict_on_parent_commit():
    with FakeHubServer(token=TOKEN, conflict_first_commits=1) as hub:
        api = _api(hub)
        api.create_repo(REPO, repo_type="dataset")
        head = api.repo_info(REPO, repo_type="dataset").sha
        assert head == hub.repos[REPO].branches["main"]
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_commit(REPO, _ops(), commit_message="x", repo_type="dataset", parent_commit=head)
        assert exc.value.response.status_code == 412
        assert CONFLICT_MESSAGE in str(exc.value)

        info = api.create_commit(REPO, _ops(), commit_message="x", repo_type="dataset", parent_commit=head)
        assert hub.repos[REPO].commits[-1]["parent"] == head
        # A genuinely stale parent is refused the same way.
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_commit(REPO, [CommitOperationAdd("late.txt", b"late")], commit_message="late",
                              repo_type="dataset", parent_commit=head)
        assert exc.value.response.status_code == 412
        assert hub.repos[REPO].branches["main"] == info.oid


def test_create_repo_conflict_branches_and_deletes(hub):
    api = _api(hub)
    api.create_repo(REPO, repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo(REPO, repo_type="dataset")
    assert exc.value.response.status_code == 409
    assert api.create_repo(REPO, repo_type="dataset", exist_ok=True).repo_id == REPO

    api.create_branch(REPO, branch="staging", repo_type="dataset")
    info = api.create_commit(REPO, _ops(), commit_message="stage", repo_type="dataset", revision="staging")
    repo = hub.repos[REPO]
    assert repo.branches["staging"] == info.oid and repo.branches["main"] != info.oid
    assert "manifest.json" not in repo.files and repo.files_at("staging")["manifest.json"] == MANIFEST

    api.create_commit(REPO, [CommitOperationDelete("data/")], commit_message="rm data",
                      repo_type="dataset", revision="staging")
    tree = {e.path for e in api.list_repo_tree(REPO, repo_type="dataset", revision="staging", recursive=True)}
    assert tree == {".gitattributes", "README.md", "manifest.json"}
    with pytest.raises(HfHubHTTPError) as exc:
        api.delete_file("missing.txt", REPO, repo_type="dataset")
    assert exc.value.response.status_code == 404


def test_upload_folder_uses_regular_uploads(hub, tmp_path):
    api = _api(hub)
    api.create_repo(REPO, repo_type="dataset")
    folder = tmp_path / "ds"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train-00000-of-00001.parquet").write_bytes(PARQUET)
    (folder / "README.md").write_bytes(README)
    info = api.upload_folder(folder_path=folder, repo_id=REPO, repo_type="dataset", commit_message="folder")
    repo = hub.repos[REPO]
    assert repo.branches["main"] == info.oid
    assert repo.files["data/train-00000-of-00001.parquet"] == PARQUET and repo.files["README.md"] == README
    assert not [p for _, p in hub.requests if "xet" in p or "lfs" in p]
