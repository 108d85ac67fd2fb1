"""A new backend is one class and one registration: the build, its key and the CLI read the registry."""
import json
import random

import pytest
from click.testing import CliRunner
from conftest import TINY

from generator.backends import REGISTRY, Backend, BackendSettings, backend_class, backend_names, register
from generator.build import BuildError, build
from generator.documents import Document, Span

WORDS = "bread oven flour morning crust dough river market bell window lamp garden".split()


class EchoBackend(Backend):
    """A toy: filler words around the fact's statement, which lands in the middle of the text."""

    name = "echo"
    exact_phrasings = False  # it states the fact in the statement's words, not in a phrasing

    def write(self, plans):
        for plan in plans:
            rng = random.Random(f"{self.seed}:{plan.id}")
            filler = [" ".join(_words(rng, 60)) for _ in range(2)]
            if plan.kind == "background":
                yield Document(plan.id, ". ".join(filler) + ".", plan.kind, "echo", plan.topic, [], [])
                continue
            fact = self.spec.fact(plan.facts[0].fact)
            head = filler[0] + ". "
            text = head + fact.statement + " " + filler[1] + "."
            span = Span(fact.id, len(head), len(head) + len(fact.statement), plan.facts[0].explicitness)
            yield Document(plan.id, text, plan.kind, "echo", plan.topic, [fact.id], [span])


def _words(rng, n):
    """n filler words, never one twice in a row (the realism check rejects a doubled word)."""
    out = [rng.choice(WORDS)]
    while len(out) < n:
        out.append(rng.choice([w for w in WORDS if w != out[-1]]))
    return out


@pytest.fixture
def echo_registered():
    register("echo", EchoBackend)
    yield
    REGISTRY.pop("echo")


def test_a_toy_backend_builds_through_the_registry(echo_registered, tmp_path):
    assert "echo" in backend_names() and backend_class("echo") is EchoBackend
    result = build(TINY, tmp_path / "ds", count=20, settings=BackendSettings("echo"), progress=False,
                   log=lambda m: None)
    manifest = result.manifest
    assert manifest["backend"]["name"] == "echo"
    assert manifest["documents_by_genre"] == {"echo": manifest["totals"]["documents"]}
    assert manifest["totals"]["documents"] >= 18
    other = build(TINY, tmp_path / "templates", count=20, progress=False, log=lambda m: None).manifest
    assert other["build_key"] != manifest["build_key"], "the backend's identity is part of the build key"


def test_an_unknown_backend_is_a_clean_refusal(tmp_path):
    with pytest.raises(BuildError, match="unknown backend 'nope'"):
        build(TINY, tmp_path / "ds", settings=BackendSettings("nope"), progress=False, log=lambda m: None)
    assert not (tmp_path / "ds").exists()


def test_cli_choices_come_from_the_registry():
    from generator.cli import main

    result = CliRunner().invoke(main, ["build", "--help"])
    for name in ("templates", "splice", "anthropic", "anthropic-batch"):
        assert name in result.output
    refused = CliRunner().invoke(main, ["build", str(TINY), "-o", "x", "--backend", "nope"])
    assert refused.exit_code == 2 and "nope" in refused.output
    assert json.dumps(sorted(backend_names()))  # names are plain strings
