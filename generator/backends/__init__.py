"""The ways of writing documents, behind one small protocol and one registry.

A backend turns DocPlans into Documents (or Rejections with a reason), one per plan, in order.
To add one: subclass `Backend` in a new module, then add one line to `REGISTRY` (or call
`register` from your own code). The CLI's --backend choices, the build key and the work-unit
engine all read the registry and the class attributes below; nothing compares backend names.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Iterable

from ..errors import BuildError
from ..llm.options import LLMOptions

ZERO_USAGE = {"requests": 0, "input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0, "usd": 0.0}


@dataclass(frozen=True)
class BackendSettings:
    """What the user chose about how documents are written. Picklable: a worker process rebuilds its
    backend from it, so everything a backend needs travels here, never through the environment."""

    name: str = "templates"
    source: str | None = None  # real documents to splice into (splice): a path or hf://datasets/...
    llm: LLMOptions = field(default_factory=LLMOptions)  # language-model backends
    source_column: str = "text"  # the column or field of `source` that holds the text
    source_pin: str | None = None  # the source's commit sha (Hub) or sha256 (local files), fixed by Backend.pin


@dataclass
class BackendContext:
    """What a backend is built with."""

    spec: object  # CorpusSpec
    library: object  # TemplateLibrary
    seed: int
    settings: BackendSettings
    work: Path  # the build's work folder (LLM state: usage journal, batch ids)
    log: Callable[[str], None] = lambda message: None


class Backend:
    name: ClassVar[str] = ""
    # A pure function of (spec, seed, plan): may run in worker processes (--workers, Ray).
    runs_in_workers: ClassVar[bool] = True
    # Mentions are exact phrasings of the spec, checked as such; LLM documents word them freely.
    exact_phrasings: ClassVar[bool] = True
    # Calls a language model: the --model family of options applies and `plan` estimates its cost.
    uses_model: ClassVar[bool] = False
    # Template files (globs under templates/) whose contents decide the output: part of the build key.
    template_patterns: ClassVar[tuple[str, ...]] = ()
    # Plans per work unit: a unit is written, and resumed, as a whole.
    unit_size: ClassVar[int] = 500
    # Reads the user's own documents (--source).
    takes_source: ClassVar[bool] = False
    # Writes documents about the spec's universe: each fact document must name what its fact is about,
    # be dated after the events, and background documents must not name the universe (checks.Realism).
    writes_world: ClassVar[bool] = False

    def __init__(self, context: BackendContext):
        self.context = context
        self.spec, self.library, self.seed = context.spec, context.library, context.seed
        self.settings = context.settings

    @classmethod
    def settle(cls, settings: BackendSettings) -> BackendSettings:
        """The settings with this backend's defaults filled in (the model, for LLM backends)."""
        return settings

    @classmethod
    def check_settings(cls, settings: BackendSettings) -> None:
        """Refuse settings this backend cannot run with, before anything is written (raise BuildError)."""

    @classmethod
    def pin(cls, settings: BackendSettings) -> BackendSettings:
        """The settings with everything that could drift fixed, before anything is written (a Hub branch
        resolved to its commit): the build key, the workers and the manifest all see the same."""
        return settings

    @classmethod
    def identity(cls, settings: BackendSettings) -> object:
        """What, besides the spec, seed and template files, decides the bytes this backend writes."""
        return cls.name

    def prepare(self, plans: Iterable) -> None:
        """Work done once before any unit (brainstorming, for the LLM backends)."""

    def write(self, plans: list) -> Iterable:
        """One Document or Rejection per plan, in order."""
        raise NotImplementedError

    def usage_manifest(self) -> dict:
        return dict(ZERO_USAGE)

    def backend_manifest(self) -> dict:
        return {"name": self.name, "model": None}

    def close(self) -> None:
        """Release what the backend holds (connections, caches)."""


REGISTRY: dict[str, str | type[Backend]] = {
    "templates": "generator.backends.templates:TemplatesBackend",
    "splice": "generator.backends.splice:SpliceBackend",
    "anthropic": "generator.backends.anthropic:AnthropicBackend",
    "anthropic-batch": "generator.backends.anthropic:AnthropicBatchBackend",
    "openai": "generator.backends.openai:OpenAIBackend",
    "openai-batch": "generator.backends.openai:OpenAIBatchBackend",
}


def register(name: str, backend: str | type[Backend]) -> None:
    """Make `backend` (a class, or "module:Class" to import on first use) available as --backend NAME."""
    REGISTRY[name] = backend


def backend_names() -> list[str]:
    return list(REGISTRY)


def backend_class(name: str) -> type[Backend]:
    target = REGISTRY.get(name)
    if target is None:
        raise BuildError(f"unknown backend {name!r} ({', '.join(REGISTRY)})")
    if isinstance(target, str):
        target = REGISTRY[name] = load_class(target)
    return target


def import_path(cls: type[Backend]) -> str:
    """Where a worker process finds `cls` again."""
    return f"{cls.__module__}:{cls.__qualname__}"


def load_class(path: str) -> type[Backend]:
    module, _, qualname = path.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
