"""Push a dataset folder to the Hugging Face Hub: one commit (pre-upload, then commit), then a version tag.

The token comes from HF_TOKEN or the user's saved login and is only ever handed to the
client; it is never written anywhere.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

PUBLISHED = ("README.md", "manifest.json", "corpus.yaml")
MAX_ATTEMPTS = 6


import os

from .errors import HubError
from .verify import verify_dataset


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
    files = [(name, out / name) for name in PUBLISHED if (out / name).exists()]
    files += [(entry["path"], out / entry["path"]) for entry in manifest["shards"]]
    plots = out / "plots"
    if plots.is_dir():
        files += [(f"plots/{p.name}", p) for p in sorted(plots.glob("*.png"))]
    return files


def _status(exc) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc) -> float:
    response = getattr(exc, "response", None)
    try:
        return float(response.headers.get("Retry-After", 1))
    except (AttributeError, TypeError, ValueError):
        return 1.0


def push(out: Path, repo_id: str, private: bool = False, branch: str | None = None, endpoint: str | None = None,
         token: str | None = None, log=None) -> dict:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    log = log or (lambda m: None)
    out = Path(out)
    check = verify_dataset(out)
    if check.problems:
        raise HubError(f"{out}: does not verify ({check.problems[0]}); refusing to publish it")
    manifest = json.loads((out / "manifest.json").read_text())
    api = HfApi(endpoint=endpoint, token=token or _token())
    tag = f"v{manifest['version']}"
    def optional(call, default):
        """Reads that make a push nicer (stale shards, conflict detection, tag check) but that a
        minimal Hub (create repo, preupload, commit, tag) may not serve: carry on without them."""
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - any failure of an optional read is survivable
            log(f"note: {type(exc).__name__} while reading the repo; continuing without it")
            return default

    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        revision = branch or "main"
        if branch:
            api.create_branch(repo_id, branch=branch, repo_type="dataset", exist_ok=True)
        refs = optional(lambda: api.list_repo_refs(repo_id, repo_type="dataset"), None)
        existing_tag = next((t for t in refs.tags if t.name == tag), None) if refs else None
        files = files_to_push(out, manifest)
        wanted = {path for path, _ in files}
        for attempt in range(MAX_ATTEMPTS):
            refs = optional(lambda: api.list_repo_refs(repo_id, repo_type="dataset"), None)
            head = next((b.target_commit for b in refs.branches if b.name == revision), None) if refs else None
            present = optional(lambda: api.list_repo_files(repo_id, repo_type="dataset", revision=revision), [])
            stale = [p for p in present if (p.startswith("data/") or p.startswith("plots/")) and p not in wanted]
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
                    log(f"commit attempt {attempt + 1} failed ({status}); retrying in {wait:.1f}s")
                    time.sleep(wait)
                    continue
                raise
        if existing_tag is not None:
            if existing_tag.target_commit == commit.oid:
                return {"commit": commit.oid, "tag": tag, "url": commit.commit_url, "files": len(files)}
            raise HubError(f"{repo_id}: tag {tag} already names another commit; bump the version to publish "
                           "new content")
        for attempt in range(MAX_ATTEMPTS):
            try:
                api.create_tag(repo_id, tag=tag, revision=commit.oid, repo_type="dataset",
                               tag_message=f"{manifest['name']} {tag} ({manifest['fingerprint'][:16]})")
                break
            except HfHubHTTPError as exc:
                if _status(exc) == 409:
                    raise HubError(f"{repo_id}: tag {tag} already exists; bump the version to publish new "
                                   "content") from None
                if (_status(exc) == 429 or (_status(exc) or 0) >= 500) and attempt + 1 < MAX_ATTEMPTS:
                    time.sleep(_retry_after(exc))
                    continue
                raise
    except HfHubHTTPError as exc:
        raise HubError(f"{repo_id}: the Hub refused the push ({_status(exc)}: {str(exc).splitlines()[0][:200]})") \
            from None
    return {"commit": commit.oid, "tag": tag, "url": commit.commit_url, "files": len(files)}
