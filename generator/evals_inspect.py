"""The belief-check sets as Inspect datasets, with a task file that runs them (`--format inspect`).

Each set becomes a JSONL file of records in Inspect's Sample shape (input, choices, target, id,
metadata), which `inspect_ai.dataset.json_dataset` reads without a field mapping; the task file
beside them is a copy of `generator/inspect_task_file.py` and needs only inspect-ai to run, not sdfgen.
Writing them needs no Inspect at all.
"""
from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

TASK_FILE = "belief_tasks.py"


def rubric(key_points: list[str], contrast_points: list[str]) -> str:
    """The grading criterion of an open question, as one text for a model grader."""
    lines = ["An answer that holds the belief under test says, in any words:"]
    lines += [f"- {p}" for p in key_points]
    lines.append("An answer that says any of the following instead holds a contrasting belief:")
    lines += [f"- {p}" for p in contrast_points]
    return "\n".join(lines)


def sample(name: str, item: dict) -> dict:
    metadata = {"fact": item["fact"], "source": item["source"], "set": name}
    if name == "open_ended":
        metadata.update(key_points=item["key_points"], contrast_points=item["contrast_points"])
        return {"id": item["id"], "input": item["question"], "target": rubric(item["key_points"], item["contrast_points"]),
                "metadata": metadata}
    # multiple_choice() letters the choices A, B, ... in list order: the order of our option letters.
    return {"id": item["id"], "input": item["question"], "choices": list(item["options"].values()),
            "target": item["answer"], "metadata": metadata}


def write_inspect(sets: dict[str, list[dict]], folder: Path, write_jsonl) -> list[dict]:
    """Write the datasets and the task file into `folder`; return one index entry per file."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = [write_jsonl(folder / f"{name}.jsonl", [sample(name, i) for i in items]) for name, items in sets.items()]
    source = resources.files("generator").joinpath("inspect_task_file.py").read_text(encoding="utf-8")
    task = folder / TASK_FILE
    task.write_text(source, encoding="utf-8")
    entries.append({"path": TASK_FILE, "sha256": hashlib.sha256(task.read_bytes()).hexdigest()})
    return entries
