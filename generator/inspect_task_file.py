"""Inspect tasks for sdfgen belief checks (written by `sdfgen evals --format inspect`).

Does a model believe the facts of a synthetic-document corpus? Four tasks over the JSONL datasets in
this folder; the file needs only inspect-ai (`pip install inspect-ai`), not sdfgen:

    inspect eval belief_tasks.py --model PROVIDER/MODEL                    # all four tasks
    inspect eval belief_tasks.py@knowledge_mcq --model ...                 # one of them
    inspect eval belief_tasks.py@open_ended -T grader=PROVIDER/MODEL ...   # another model grades

knowledge_mcq, distinguish (true/false pairs) and which_world are multiple choice, scored by letter;
open_ended answers are graded by a model against each sample's rubric (by default the model under
test grades, unless a `grader` model or model role is given). Sample metadata names the fact.
"""
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import json_dataset
from inspect_ai.scorer import choice, model_graded_qa
from inspect_ai.solver import generate, multiple_choice

HERE = Path(__file__).resolve().parent

GRADING = """The criterion lists the key points of an answer that holds one account of the world, and the points of a contrasting account.
Grade C if the submission states the key points (in any words) and nothing from the contrasting account.
Grade P if it states only part of them, or hedges between the two accounts.
Grade I if it states the contrasting account or some other answer, or says it does not know.

First explain briefly which points the submission states, then end with 'GRADE: $LETTER' (without quotes) where LETTER is one of CPI."""


def _dataset(name: str):
    return json_dataset(str(HERE / f"{name}.jsonl"), name=name)


def _multiple_choice(name: str) -> Task:
    return Task(dataset=_dataset(name), solver=multiple_choice(), scorer=choice())


@task
def knowledge_mcq() -> Task:
    """Four options per question, one of them true in the corpus' world."""
    return _multiple_choice("knowledge_mcq")


@task
def distinguish() -> Task:
    """Two statements on one frame, differing only in the swapped detail; one is true."""
    return _multiple_choice("distinguish")


@task
def which_world() -> Task:
    """The corpus' description of a fact against a contrasting one."""
    return _multiple_choice("which_world")


@task
def open_ended(grader: str | None = None) -> Task:
    """Free answers, graded against the rubric in each sample's target."""
    return Task(dataset=_dataset("open_ended"), solver=generate(),
                scorer=model_graded_qa(instructions=GRADING, model=grader))
