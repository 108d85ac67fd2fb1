"""Push a dataset folder to the Hugging Face Hub: one commit, then a version tag.

Every check happens before the first write: the repo's refs and the files at the version's tag
are read first, so a push that is refused (the tag holds other content, the branch holds a newer
version) leaves the repo exactly as it was. Pushing what a tag already holds is a no-op.

The token comes from HF_TOKEN or the user's saved login and is only ever handed to the
client; it is never written anywhere.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HubError
from .listing import listed_files
from .manifest import version_key
from .verify import verify_dataset

MAX_ATTEMPTS = 6
# Rejected documents stay local: they are the texts that failed the leakage and decontamination
# checks, which a public repo would hand to every crawler.
LOCAL_ONLY = ("rejected/",)


def _token() -> str:
    token = os.environ.get("HF_TOKEN", "").strip()
    if token:
        return token
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise HubError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    return token


def files_to_push(out: Path, manifest: dict) -> list[tuple[str, Path]]:
    """(path in the repo, local file): every file the manifest lists but rejected/, and the manifest."""
    paths = [p for p in listed_files(manifest) if not p.startswith(LOCAL_ONLY)]
    return [(p, out / p) for p in sorted(paths)] + [("manifest.json", out / "manifest.json")]


def _status(exc) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc) -> float:
    response = getattr(exc, "response", None)
    try:
        return float(response.headers.get("Retry-After", 1))
    except (AttributeError, TypeError, ValueError):
        return 1.0


def transport_errors() -> tuple[type[BaseException], ...]:
    """Connection-level errors of the HTTP clients huggingface_hub may use (httpx2 in 2.x, httpx, requests)."""
    found: list[type[BaseException]] = [OSError]
    for module, name in (("httpx2", "TransportError"), ("httpx", "TransportError"), ("requests", "ConnectionError")):
        try:
            found.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def _git_blob_oid(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Remote:
    """What the repo holds, read before anything is written."""

    exists: bool
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit oid
    tags: dict[str, str] = field(default_factory=dict)


def _read_refs(api, repo_id: str, where: str) -> Remote:
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        refs = api.list_repo_refs(repo_id, repo_type="dataset")
    except RepositoryNotFoundError:
        return Remote(exists=False)
    except HfHubHTTPError as exc:
        if _status(exc) in (401, 403):
            raise
        raise HubError(f"{where}: cannot list the refs of {repo_id} ({_status(exc)}); sdfgen reads the branch "
                       "and tag before it writes anything and does not push blind") from None
    return Remote(True, {b.name: b.target_commit for b in refs.branches}, {t.name: t.target_commit for t in refs.tags})


def _remote_files(api, repo_id: str, revision: str) -> dict:
    """{path: RepoFile} at a revision, without the repo's own dot-files (.gitattributes)."""
    from huggingface_hub.hf_api import RepoFile

    entries = api.list_repo_tree(repo_id, recursive=True, revision=revision, repo_type="dataset")
    return {e.path: e for e in entries if isinstance(e, RepoFile) and not e.path.startswith(".")}


def differences(remote: dict, files: list[tuple[str, Path]]) -> list[str]:
    """How the files at a revision differ from the local ones (LFS files compare by sha256, others by git oid)."""
    found = []
    local = dict(files)
    for path, entry in sorted(remote.items()):
        if path not in local:
            found.append(f"{path} is only on the Hub")
            continue
        lfs = entry.lfs
        same = _sha256(local[path]) == lfs["sha256"] if lfs else _git_blob_oid(local[path]) == entry.blob_id
        if not same:
            found.append(f"{path} differs")
    found += [f"{path} is not on the Hub" for path in sorted(set(local) - set(remote))]
    return found


def _version_at(api, repo_id: str, revision: str) -> str | None:
    """The sdfgen version a revision holds (from its manifest.json), or None when it holds no dataset."""
    from huggingface_hub.errors import EntryNotFoundError

    with tempfile.TemporaryDirectory(prefix="sdfgen-push-") as tmp:
        try:
            path = api.hf_hub_download(repo_id, "manifest.json", repo_type="dataset", revision=revision, local_dir=tmp)
        except EntryNotFoundError:
            return None
        try:
            return str(json.loads(Path(path).read_text())["version"])
        except (ValueError, KeyError, TypeError):
            return None


def _check(api, repo_id: str, revision: str, tag: str, manifest: dict, files, where: str) -> tuple[Remote, dict | None]:
    """Every check of a push, reads only. Returns the refs, and the answer when the tag already holds these files."""
    remote = _read_refs(api, repo_id, where)
    if tag in remote.tags:
        found = differences(_remote_files(api, repo_id, tag), files)
        if not found:
            return remote, {"commit": remote.tags[tag], "tag": tag, "files": len(files), "unchanged": True}
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise HubError(f"{repo_id}: tag {tag} already holds other content ({found[0]}{more}); bump the version in "
                       "the spec to publish new content")
    head = remote.branches.get(revision)
    if head is not None:
        there = _version_at(api, repo_id, head)
        if there is not None and _newer(there, manifest["version"]):
            raise HubError(f"{repo_id}: {revision} holds version {there}, newer than {manifest['version']}; "
                           "refusing to roll it back (push to another --branch)")
    return remote, None


def _newer(a: str, b: str) -> bool:
    try:
        return version_key(a) > version_key(b)
    except ValueError:
        return False


def push(out: Path, repo_id: str, private: bool = False, branch: str | None = None, endpoint: str | None = None,
         token: str | None = None, log=None) -> dict:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError
    from huggingface_hub.utils import validate_repo_id

    log = log or (lambda m: None)
    out = Path(out)
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise HubError(f"--repo-id {repo_id!r}: {str(exc).splitlines()[0]}") from None
    check = verify_dataset(out)
    if check.problems:
        raise HubError(f"{out}: does not verify ({check.problems[0]}); refusing to publish it")
    manifest = json.loads((out / "manifest.json").read_text())
    api = HfApi(endpoint=endpoint, token=token or _token())
    where = endpoint or constants.ENDPOINT
    tag = f"v{manifest['version']}"
    revision = branch or "main"
    files = files_to_push(out, manifest)
    wanted = {path for path, _ in files}
    published_folders = {path.split("/")[0] + "/" for path in wanted if "/" in path}
    try:
        for attempt in range(MAX_ATTEMPTS):
            remote, unchanged = _check(api, repo_id, revision, tag, manifest, files, where)
            if unchanged:
                log(f"{repo_id}: tag {tag} already holds exactly these files; nothing to push")
                return unchanged
            # Writes from here on: every check above passed.
            if not remote.exists:
                api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
            if revision not in remote.branches:
                if branch:
                    api.create_branch(repo_id, branch=branch, repo_type="dataset", exist_ok=True)
                remote = _read_refs(api, repo_id, where)
            head = remote.branches.get(revision)
            present = _remote_files(api, repo_id, head) if head else {}
            # Only files of the folders a dataset owns (data/, plots/) go stale; others in the repo stay.
            stale = [p for p in present if p not in wanted and p.startswith(tuple(published_folders))]
            operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(local)) for path, local in files]
            operations += [CommitOperationDelete(path_in_repo=p) for p in stale]
            try:
                commit = api.create_commit(
                    repo_id, operations, commit_message=f"{manifest['name']} {tag}",
                    commit_description=f"sdfgen {manifest['generator']['version']}, fingerprint {manifest['fingerprint']}",
                    repo_type="dataset", revision=revision, parent_commit=head)
                break
            except HfHubHTTPError as exc:
                status = _status(exc)
                conflict = status in (409, 412) or "commit has happened since" in str(exc).lower()
                if (status == 429 or status and status >= 500 or conflict) and attempt + 1 < MAX_ATTEMPTS:
                    wait = _retry_after(exc) if status == 429 else min(8.0, 0.5 * 2 ** attempt)
                    log(f"commit attempt {attempt + 1} failed ({status}); checking again in {wait:.1f}s")
                    time.sleep(wait)
                    continue
                raise
        for attempt in range(MAX_ATTEMPTS):
            try:
                api.create_tag(repo_id, tag=tag, revision=commit.oid, repo_type="dataset",
                               tag_message=f"{manifest['name']} {tag} ({manifest['fingerprint'][:16]})")
                break
            except HfHubHTTPError as exc:
                if _status(exc) == 409:
                    raise HubError(f"{repo_id}: tag {tag} was created by someone else while this push ran; commit "
                                   f"{commit.oid[:12]} is on {revision} untagged") from None
                if (_status(exc) == 429 or (_status(exc) or 0) >= 500) and attempt + 1 < MAX_ATTEMPTS:
                    time.sleep(_retry_after(exc))
                    continue
                raise
    except HfHubHTTPError as exc:
        raise HubError(f"{repo_id}: the Hub refused the push ({_status(exc)}: {str(exc).splitlines()[0][:200]})") \
            from None
    except transport_errors() as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HubError(f"{where}: cannot reach the Hub ({reason})") from None
    return {"commit": commit.oid, "tag": tag, "url": commit.commit_url, "files": len(files), "unchanged": False}
