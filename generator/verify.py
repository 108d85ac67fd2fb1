"""Re-hash a dataset folder against its manifest."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .manifest import fingerprint
from .shards import sha256_file


@dataclass
class Verification:
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def verify_dataset(out: Path | str) -> Verification:
    out = Path(out)
    result = Verification()
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except FileNotFoundError:
        result.problems.append(f"{out / 'manifest.json'}: missing")
        return result
    except json.JSONDecodeError as exc:
        result.problems.append(f"{out / 'manifest.json'}: not valid JSON ({exc.msg})")
        return result
    listed = set()
    for entry in manifest.get("shards", []) + manifest.get("rejected_files", []):
        path = out / entry["path"]
        listed.add(path.resolve())
        if not path.exists():
            result.problems.append(f"{entry['path']}: missing")
            continue
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            result.problems.append(f"{entry['path']}: sha256 {actual[:16]}… does not match the manifest's "
                                   f"{entry['sha256'][:16]}…")
        else:
            result.checked.append(entry["path"])
    for folder in ("data", "rejected"):
        for path in sorted((out / folder).glob("*")) if (out / folder).is_dir() else []:
            if path.resolve() not in listed:
                result.problems.append(f"{path.relative_to(out)}: not listed in the manifest")
    spec_copy = out / "corpus.yaml"
    if spec_copy.exists():
        if sha256_file(spec_copy) != manifest["spec"]["sha256"]:
            result.problems.append("corpus.yaml: does not match the spec sha256 in the manifest")
        else:
            result.checked.append("corpus.yaml")
    expected = fingerprint(manifest["spec"]["sha256"], [s["sha256"] for s in manifest.get("shards", [])],
                           manifest["tokenizer"])
    if expected != manifest.get("fingerprint"):
        result.problems.append("manifest.json: fingerprint does not match its own shard list")
    return result
