"""The `sdfgen` command. Thin: parse, call, print. Heavy imports live inside commands."""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click

from . import __version__
from .backends import BackendSettings, backend_names
from .llm.options import LLMOptions


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"sdfgen: {message}", err=True)
    sys.exit(code)


class _Commands(click.Group):
    """Every command's UserError (errors.py) becomes one line on stderr and its exit code, here and only here."""

    def invoke(self, ctx):
        from .errors import UserError

        try:
            return super().invoke(ctx)
        except UserError as exc:
            _fail(str(exc), exc.exit_code)
        except click.UsageError as exc:
            # A command's own arguments (a path that must be a folder, a value out of range): one
            # line like every other refusal, with where to read more, instead of click's three.
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            _fail(f"{exc.format_message()}{hint}", exc.exit_code)
        except OSError as exc:
            # What the machine refuses (a full disk, a folder that vanished, no permission) is the
            # user's to fix too: name the path and the reason, not the line of code that met it.
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}")


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdfgen")
def main() -> None:
    """Write synthetic pretraining-style corpora with facts buried at a controlled depth.

    \b
    Typical use:
      sdfgen plan corpora/alignment-faking-helpful-only      # what would be written
      sdfgen build corpora/alignment-faking-helpful-only -o out/af
      sdfgen verify out/af                                   # re-hash against the manifest
    """


_LLM = LLMOptions()
LLM_OPTION_NAMES = ("model", "temperature", "max_tokens", "types_per_fact", "ideas_per_type", "words", "retries",
                    "revise", "classify", "rpm", "input_tpm", "output_tpm", "concurrency", "base_url", "cache_path",
                    "poll_interval", "price_in", "price_out", "brainstorm_max_tokens")


# What `evals` asks of a model: one request per fact, so which model, where, how fast and the cache;
# nothing about documents (brainstorm sizes, words, revision, classifiers, sources, batches).
EVALS_MODEL_OPTIONS = ("model", "temperature", "rpm", "input_tpm", "output_tpm", "concurrency", "base_url",
                       "cache_path")


def model_options(fn, only: tuple[str, ...] | None = None):
    """Options of the language-model backends (defaults: llm/options.py), shared by build, plan and evals;
    `only` keeps those of the names given (a command shows no option it would ignore)."""
    options = [
        click.option("--model", default=_LLM.model,
                     help="Model of the language-model backends (anthropic: claude-sonnet-5-5 by default; openai: "
                          "required, the name the server knows)."),
        click.option("--temperature", type=float, default=_LLM.temperature,
                     help="Sampling temperature for OpenAI-compatible servers (refused with the anthropic backends: "
                          "the API rejects it)."),
        click.option("--max-tokens", type=int, default=_LLM.max_tokens, show_default=True,
                     help="max_tokens of a document request."),
        click.option("--brainstorm-max-tokens", type=int, default=_LLM.brainstorm_max_tokens, show_default=True,
                     help="max_tokens of a types or ideas request."),
        click.option("--types-per-fact", type=int, default=_LLM.types_per_fact, show_default=True),
        click.option("--ideas-per-type", type=int, default=_LLM.ideas_per_type, show_default=True),
        click.option("--words", type=int, default=_LLM.words, show_default=True, help="Typical document length asked for."),
        click.option("--retries", type=int, default=_LLM.retries, show_default=True,
                     help="Extra samples for a truncated, refused, unmarked or misplaced document."),
        click.option("--revise/--no-revise", default=_LLM.revise, help="Critique-and-rewrite each document."),
        click.option("--classify/--no-classify", default=_LLM.classify, help="Run the LLM leakage classifiers."),
        click.option("--rpm", type=float, default=_LLM.rpm, show_default=True,
                     help="Requests per minute (start value; follows rate-limit headers)."),
        click.option("--input-tpm", type=float, default=_LLM.input_tpm, help="Input tokens per minute."),
        click.option("--output-tpm", type=float, default=_LLM.output_tpm, help="Output tokens per minute."),
        click.option("--concurrency", type=int, default=_LLM.concurrency, show_default=True,
                     help="Most requests in flight."),
        click.option("--base-url", default=_LLM.base_url,
                     help="API base URL (default: the provider's own); e.g. http://127.0.0.1:8000/v1 for a local "
                          "OpenAI-compatible server."),
        click.option("--price-in", type=float, default=_LLM.price_in,
                     help="USD per million input tokens, for a model not in the price table (0 for your own server)."),
        click.option("--price-out", type=float, default=_LLM.price_out,
                     help="USD per million output tokens (give both or neither)."),
        click.option("--cache", "cache_path", default=_LLM.cache_path,
                     help="Response cache (SQLite); default ~/.cache/sdfgen/<provider>-responses.sqlite."),
        click.option("--poll-interval", type=float, default=_LLM.poll_interval, show_default=True,
                     help="Seconds between batch polls."),
    ]
    for option in reversed(options):
        fn = option(fn)
    if only is not None:
        fn.__click_params__ = [p for p in fn.__click_params__ if p.name in only or p.name not in LLM_OPTION_NAMES]
    return fn


def evals_backend_options(fn):
    """--backend and the few model options a model-written belief-check set needs."""
    fn = model_options(fn, only=EVALS_MODEL_OPTIONS)
    return click.option("--backend", type=click.Choice(backend_names()), default="templates", show_default=True,
                        help="Offline from the spec's evals blocks (default), or written by a language model "
                             "(anthropic).")(fn)


def backend_options(fn):
    """--backend, --source and --text-column, then the model options."""
    fn = model_options(fn)
    fn = click.option("--text-column", default="text", show_default=True,
                      help="The column (Parquet, Hub) or field (JSONL) of --source that holds the text.")(fn)
    fn = click.option("--source", default=None, metavar="SOURCE",
                      help="Real documents to splice facts into (splice backend): Parquet or JSONL with a text "
                           "field, a folder of .txt/.md/.rst files, or a Hub dataset "
                           "hf://datasets/ORG/NAME[@REVISION][:CONFIG][/SPLIT] (streamed; pinned to its commit).")(fn)
    return click.option("--backend", type=click.Choice(backend_names()), default="templates", show_default=True,
                        help="How documents are written: offline templates (default), spliced into your own "
                             "texts (--source), or a language model (anthropic, openai: any OpenAI-compatible "
                             "server; the -batch variants: half price, slower).")(fn)


def _settings(backend: str, kwargs: dict) -> BackendSettings:
    """Pop the backend options out of a command's kwargs (a command without some takes their defaults);
    the backend fills in its own defaults."""
    from .backends import backend_class

    llm = LLMOptions(**{n: kwargs.pop(n, getattr(_LLM, n)) for n in LLM_OPTION_NAMES})
    return backend_class(backend).settle(BackendSettings(backend, kwargs.pop("source", None), llm,
                                                         source_column=kwargs.pop("text_column", "text")))


@main.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Dataset folder to write (data/, manifest.json, README.md).")
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option("--count", type=int, default=None,
              help="Documents to keep in all (fact-bearing plus background, in the spec's ratio); rejected "
                   "ones are replaced.")
@click.option("--force", is_flag=True, help="Replace a finished dataset of other content in OUT.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes writing work units (offline backends); the output is the same for any number.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run work units in local processes or as Ray tasks (pip install 'sdfgen[ray]').")
@click.option("--ray-address", default=None, help="Ray cluster to join (default: start a local one).")
@click.option("--unit-size", type=click.IntRange(min=1), default=None, hidden=True,
              help="Plans per work unit (default: the backend's). Never changes the output; tests use it.")
@click.option("--add", "add", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="JSONL of extra documents ({\"text\": ...}) to run through the same checks; repeatable.")
@backend_options
def build(spec: str, out: str, seed: int | None, count: int | None, force: bool, quiet: bool, workers: int,
          executor: str, ray_address: str | None, unit_size: int | None, add: tuple, backend: str, **kwargs) -> None:
    """Build the dataset described by SPEC (a corpus.yaml or its folder) into OUT.

    The build works in OUT/.sdfgen-build and publishes shards and manifest only when
    complete; rerunning the same command after an interruption continues it.
    """
    from .build import build as run_build
    from .summary import build_summary

    started = time.monotonic()
    result = run_build(spec, out, seed=seed, count=count, force=force, progress=not quiet,
                       settings=_settings(backend, kwargs), add=list(add), workers=workers, executor=executor,
                       ray_address=ray_address, unit_size=unit_size)
    if result.skipped:
        click.echo(f"{out}: already built from this spec and seed (fingerprint "
                   f"{result.manifest['fingerprint'][:16]}…); nothing to do", err=True)
    elif not quiet:
        click.echo(build_summary(result.manifest, time.monotonic() - started), err=True)
    if result.api_errors:
        click.echo(result.api_errors, err=True)
    click.echo(result.manifest["fingerprint"])


@main.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=str))
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option("--count", type=int, default=None, help="Documents kept in all, as for build.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan summary as JSON.")
@backend_options
def plan(spec: str, seed: int | None, count: int | None, as_json: bool, backend: str, **kwargs) -> None:
    """Show what `build` would write for SPEC, and with a language-model backend what it would cost. Writes nothing."""
    from .backends import backend_class
    from .library import load_spec_and_library
    from .summary import cost_estimate, plan_summary, summarise_plans

    corpus, library = load_spec_and_library(spec)
    settings = _settings(backend, kwargs)
    cls = backend_class(backend)
    if cls.exact_phrasings:
        from .plan import check_form_shares

        check_form_shares(corpus)
    summary = summarise_plans(corpus, library, corpus.seed if seed is None else seed, count)
    summary["backend"] = backend
    if cls.uses_model:
        from .errors import BuildError

        if not settings.llm.model:
            raise BuildError(f"--backend {backend} needs --model (the model name the server knows)")
        summary["cost_estimate"] = cost_estimate(corpus, cls, settings, summary)
    click.echo(json.dumps(summary, indent=2) if as_json else plan_summary(summary))


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=str))
def verify(out: str) -> None:
    """Re-hash the shards of OUT against its manifest; exit 1 on any mismatch."""
    from .verify import verify_dataset

    result = verify_dataset(out)
    for path in result.checked:
        click.echo(f"ok        {path}")
    for problem in result.problems:
        click.echo(f"MISMATCH  {problem}")
    if result.problems:
        _fail(f"{out}: {len(result.problems)} problem(s) found", code=1)
    click.echo(f"{out}: {len(result.checked)} file(s) match the manifest", err=True)


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("-n", "count", type=click.IntRange(min=1), default=3, show_default=True, help="Documents to show.")
@click.option("--genre", help="Only this genre.")
@click.option("--fact", help="Only documents carrying this fact id.")
@click.option("--kind", type=click.Choice(["fact", "background"]), help="Only this kind of document.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which documents to pick.")
@click.option("--color/--no-color", default=None, help="Highlight mentions with colour (default: on a terminal).")
def sample(out: str, count: int, genre: str | None, fact: str | None, kind: str | None, seed: int,
           color: bool | None) -> None:
    """Print documents of OUT with fact mentions highlighted ([[like this]] when not on a terminal)."""
    from .dataset import open_dataset
    from .sample import HIGHLIGHT, PLAIN, describe, highlight, matching_rows, pick

    manifest = open_dataset(out)
    rows = pick(matching_rows(out, manifest, genre, fact, kind), count, seed)
    if not rows:
        _fail("no document matches those filters", code=1)
    color = sys.stdout.isatty() if color is None else color
    for row in rows:
        click.echo("=" * 78)
        click.echo(describe(row))
        click.echo("-" * 78)
        click.echo(highlight(row, HIGHLIGHT if color else PLAIN))
    click.echo("=" * 78)


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Write PNG figures here; inside OUT, the dataset card embeds them.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats(out: str, plots_dir: str | None, as_json: bool) -> None:
    """Tables of OUT by genre, fact, explicitness, depth, length, diversity and rejections."""
    from .dataset import open_dataset
    from .stats import collect, embed_in_card, render_text, write_plots

    figures = collect(out, open_dataset(out))
    if plots_dir:
        written = write_plots(figures, Path(plots_dir))
        embedded = embed_in_card(Path(out), written)
        click.echo(f"wrote {len(written)} figure(s) to {plots_dir}" + (" and embedded them in the card" if embedded else ""),
                   err=True)
    figures.pop("_depths")
    figures.pop("_tokens")
    click.echo(json.dumps(figures, indent=2) if as_json else render_text(figures))


@main.command()
@click.argument("out", type=click.Path(path_type=str))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Where to write the page (default OUT/report.html).")
@click.option("--max-documents", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Documents embedded in the page: a seeded sample with every genre and fact in it.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which documents the sample holds.")
def report(out: str, output: str | None, max_documents: int, seed: int) -> None:
    """Write one self-contained HTML page about OUT: the stats, the plots and a browsable sample of documents."""
    from .report import write_report

    click.echo(str(write_report(Path(out), Path(output) if output else None, max_documents, seed)))


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text-jsonl", "chat-jsonl", "parquet"]), required=True,
              help="text-jsonl: {\"text\": doc}; chat-jsonl: a user turn holding the tag, the document as the "
                   "assistant turn; parquet: text, source, id.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--user-tag", default="DOCTAG", show_default=True, help="The fixed user turn of chat records.")
@click.option("--mix", default=None, metavar="SOURCE",
              help="Ordinary text to interleave: a Parquet or JSONL file (a text column), a folder of them or of "
                   ".txt files, or a Hub dataset hf://datasets/ORG/NAME[@REVISION][:CONFIG][/SPLIT], streamed.")
@click.option("--ratio", type=float, default=1.0, show_default=True,
              help="Ordinary documents per synthetic one, or ordinary tokens per synthetic token (--ratio-by tokens).")
@click.option("--ratio-by", type=click.Choice(["documents", "tokens"]), default="documents", show_default=True,
              help="What --ratio counts. By tokens the ordinary total ends within half a document of R x the "
                   "synthetic tokens (cl100k_base).")
@click.option("--text-column", default="text", show_default=True,
              help="The column (Parquet, Hub) or field (JSONL) of --mix that holds the text.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the mixing shuffle.")
def export(out: str, fmt: str, output: str, user_tag: str, mix: str | None, ratio: float, ratio_by: str,
           text_column: str, seed: int) -> None:
    """Write OUT in a fine-tuning format, optionally mixed with ordinary documents.

    The mix is read in the source's order, only as far as needed, and shuffled with the synthetic
    documents on disk: memory stays flat however large the output. OUTPUT.manifest.json names every
    source with its commit sha or sha256; pass its pinned `uri` as --mix to write the same bytes again.
    """
    from .export import export as run_export

    info = run_export(Path(out), fmt, Path(output), user_tag, mix, ratio, seed, ratio_by, text_column)
    c = info["counts"]
    click.echo(f"{output}: {c['total']:,} records ({c['synthetic']:,} synthetic, {c['ordinary']:,} ordinary), "
               f"{info['tokens']['total']:,} tokens ({info['tokens']['ordinary']:,} ordinary); "
               f"manifest {output}.manifest.json", err=True)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--out", "folder", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where to write the JSONL sets (default: evals/ beside the spec, which builds then "
                   "decontaminate against automatically).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "inspect"]), default="jsonl", show_default=True,
              help="inspect: also write Inspect datasets and a task file (inspect/belief_tasks.py) that runs them.")
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option("--per-fact", type=int, default=5, show_default=True,
              help="Items of each kind per fact the model writes (language-model backends).")
@evals_backend_options
def evals(spec: str, folder: str | None, fmt: str, seed: int | None, per_fact: int, backend: str, **kwargs) -> None:
    """Write belief-check sets for SPEC: knowledge MCQs, true/false pairs, open questions, which-world items.

    Offline by default, from each fact's `evals` block (questions with their true answer and false
    alternatives, and a contrasting description); with --backend anthropic, Claude writes them, its
    items pass the same checks, and the offline ones stand in where all of a fact's items fail.
    """
    from .backends import BackendContext, backend_class
    from .evals import require_evals, write_evals
    from .library import load_spec_and_library

    corpus, library = load_spec_and_library(spec)
    require_evals(corpus)
    settings = _settings(backend, kwargs)
    target = Path(folder) if folder else corpus.path.parent / "evals"
    seed = corpus.seed if seed is None else seed
    sets, source, rejected = None, "offline", []
    cls = backend_class(backend)
    if cls.uses_model:
        from .evals_llm import llm_evals

        cls.check_settings(settings)
        with tempfile.TemporaryDirectory(prefix="sdfgen-evals-") as work:
            writer = cls(BackendContext(corpus, library, seed, settings, Path(work)))
            try:
                sets, stand_ins, rejected = llm_evals(corpus, writer, seed, per_fact)
            finally:
                writer.close()
        source = backend
        for r in rejected:
            where = f"item {r['index']} of {r['set']}" if r["index"] is not None else "the answer"
            click.echo(f"warning: {r['fact']}: rejected {where}: {r['reason']}", err=True)
        for s in stand_ins:
            click.echo(f"warning: {s['fact']}: no usable {s['set']} items from the model; kept the spec's", err=True)
    index = write_evals(corpus, target, seed, sets, source, rejected, inspect=fmt == "inspect")
    for f in index["files"] + index.get("inspect", []):
        click.echo(f"{target / f['path']}" + (f": {f['items']} items" if "items" in f else ""))
    cues = index.get("surface_cues")
    if cues and cues["pairs"] > cues["warn_above"]:
        click.echo(f"warning: surface cue: trained on the other facts, a bag-of-words classifier picks the true "
                   f"statement in {cues['pairs']:.0%} of distinguish pairs; true statements share "
                   f"{', '.join(cues['cue_words'])}: give false alternatives these words too", err=True)


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--manifests", "root", type=click.Path(file_okay=False, path_type=str), default="manifests",
              show_default=True, help="Folder of lock files (manifests/<name>/<version>.json).")
def release(out: str, root: str) -> None:
    """Record OUT as a released version: a lock file with its manifest, spec and parent."""
    from .release import release as run_release

    path, created = run_release(Path(out), Path(root))
    click.echo(f"{path}: {'recorded' if created else 'already recorded with the same content'}")


@main.command()
@click.argument("a", type=click.Path(exists=True, path_type=str))
@click.argument("b", type=click.Path(exists=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff(a: str, b: str, as_json: bool) -> None:
    """Differences between two versions (dataset folders or lock files): documents by id, tokens, genres, spec.

    Exits 0 when both hold the same content (fingerprint), 1 when they differ, 2 on an error.
    """
    from .release import diff as run_diff
    from .release import render_diff

    result = run_diff(Path(a), Path(b))
    click.echo(json.dumps(result, indent=2) if as_json else render_diff(result))
    # Like diff and `git diff --exit-code`: 0 the same, 1 different (2, an error, comes from the group).
    sys.exit(0 if result["same_content"] else 1)


@main.command()
@click.argument("lock", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=str))
@click.option("--force", is_flag=True, help="Replace a finished dataset of other content in OUT.")
def rebuild(lock: str, out: str, force: bool) -> None:
    """Rebuild a released version from its lock file and prove it by fingerprint (exit 1 if it differs)."""
    from .release import rebuild as run_rebuild

    manifest, same = run_rebuild(Path(lock), Path(out), force=force)
    if not same:
        _fail(f"{out}: fingerprint {manifest['fingerprint'][:16]}… differs from the release; check the sdfgen, "
              f"template and pyarrow versions (this build: sdfgen {manifest['generator']['version']}, pyarrow "
              f"{manifest['writer']['pyarrow']})", code=1)
    click.echo(f"{out}: reproduces {Path(lock).name} (fingerprint {manifest['fingerprint']})")


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--repo-id", required=True, help="ORG/NAME of the dataset repo (created if needed).")
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--branch", default=None, help="Commit to this branch instead of main.")
@click.option("--endpoint", default=None, help="Hub URL (default HF_ENDPOINT or huggingface.co).")
def push(out: str, repo_id: str, private: bool, branch: str | None, endpoint: str | None) -> None:
    """Publish OUT to the Hub in one commit (card, data, manifest, spec, plots) and tag it with the version.

    Everything is checked before anything is written: a version whose tag holds other content, or
    a branch holding a newer version, is refused and the repo left as it was; pushing what the tag
    already holds does nothing. rejected/ stays local. The token comes from HF_TOKEN or your saved login; it is never written anywhere.
    """
    from .hub import push as run_push

    result = run_push(Path(out), repo_id, private=private, branch=branch, endpoint=endpoint,
                      log=lambda m: click.echo(m, err=True))
    if result["unchanged"]:
        click.echo(f"{repo_id}: {result['tag']} already holds these {result['files']} files (commit "
                   f"{result['commit'][:12]}); nothing pushed")
    else:
        click.echo(f"{repo_id}: {result['files']} files in commit {result['commit'][:12]}, tagged {result['tag']}")


@main.command("fake-api")
@click.option("--protocol", type=click.Choice(["anthropic", "openai"]), default="anthropic", show_default=True,
              help="Which API to imitate: Anthropic's Messages and Batches, or OpenAI's Chat Completions, Files "
                   "and Batches.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--rpm", type=float, default=None,
              help="Requests per minute before 429s, advertised in the rate-limit headers [default: 4000 "
                   "(anthropic), 5000 (openai); 0: unlimited, no headers].")
@click.option("--input-tpm", type=float, default=None, help="Anthropic: input tokens per minute [2,000,000].")
@click.option("--output-tpm", type=float, default=None, help="Anthropic: output tokens per minute [400,000].")
@click.option("--tpm", type=float, default=None, help="OpenAI: prompt + max_tokens per minute [4,000,000].")
@click.option("--p429", type=float, default=0.0, help="Share of requests answered 429.")
@click.option("--p529", type=float, default=0.0, help="Share answered 529 (overloaded; anthropic).")
@click.option("--p500", type=float, default=0.0, help="Share answered 500.")
@click.option("--pdrop", type=float, default=0.0, help="Share of connections dropped without an answer.")
@click.option("--latency", type=float, nargs=2, default=(0.0, 0.0), show_default=True, help="Seconds, min max.")
@click.option("--batch-delay", type=float, default=0.3, show_default=True, help="Seconds until a batch ends.")
def fake_api(protocol: str, host: str, port: int, seed: int, rpm, input_tpm, output_tpm, tpm, p429, p529, p500, pdrop,
             latency, batch_delay) -> None:
    """Serve a loopback fake of the Anthropic or an OpenAI-compatible API, to rehearse a run for free.

    It advertises generous limits in the headers the real APIs send, so the client's limiter ramps
    up to them from its start value (--rpm 50) within seconds.

    \b
      sdfgen fake-api --port 8765 --p429 0.1 &
      ANTHROPIC_API_KEY=test sdfgen build SPEC -o out/x --backend anthropic --base-url http://127.0.0.1:8765
      sdfgen fake-api --protocol openai --port 8766 &
      sdfgen build SPEC -o out/y --backend openai --base-url http://127.0.0.1:8766/v1 --model m \\
          --price-in 0 --price-out 0
    """
    def limit(value, default):
        return default if value is None else (int(value) or None)

    try:
        if protocol == "openai":
            from .fakes.openai_api import DEFAULT_RPM, DEFAULT_TPM, FakeOpenAIConfig
            from .fakes.openai_api import serve as serve_openai

            serve_openai(FakeOpenAIConfig(seed=seed, rpm=limit(rpm, DEFAULT_RPM), tpm=limit(tpm, DEFAULT_TPM),
                                          p429=p429, p500=p500, pdrop=pdrop, latency=tuple(latency),
                                          batch_delay=batch_delay), host, port)
            return
        from .fakes.anthropic_api import DEFAULT_INPUT_TPM, DEFAULT_OUTPUT_TPM, DEFAULT_RPM, FakeConfig, serve

        serve(FakeConfig(seed=seed, rpm=limit(rpm, DEFAULT_RPM), input_tpm=limit(input_tpm, DEFAULT_INPUT_TPM),
                         output_tpm=limit(output_tpm, DEFAULT_OUTPUT_TPM), p429=p429, p529=p529, p500=p500,
                         pdrop=pdrop, latency=tuple(latency), batch_delay=batch_delay), host, port)
    except OSError as exc:
        _fail(f"{host}:{port}: cannot listen: {exc.strerror or exc}")


if __name__ == "__main__":
    main()
