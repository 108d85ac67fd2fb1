"""The `sdfgen` command. Thin: parse, call, print. Heavy imports live inside commands."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import __version__


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"sdfgen: {message}", err=True)
    sys.exit(code)


def _user_errors(fn):
    """Turn spec, template and build refusals into one-line errors with exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .backends.templates import TemplateError
        from .build import BuildError
        from .spec import SpecError

        try:
            return fn(*args, **kwargs)
        except (SpecError, BuildError, TemplateError) as exc:
            _fail(str(exc))
        except KeyError as exc:
            if "no price for model" in str(exc):
                _fail(str(exc).strip("'\""))
            raise

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdfgen")
def main() -> None:
    """Write synthetic pretraining-style corpora with facts buried at a controlled depth.

    \b
    Typical use:
      sdfgen plan corpora/alignment-faking-helpful-only      # what would be written
      sdfgen build corpora/alignment-faking-helpful-only -o out/af
      sdfgen verify out/af                                   # re-hash against the manifest
    """


def llm_options(fn):
    """Options of the anthropic backends, shared by build and plan."""
    options = [
        click.option("--backend", type=click.Choice(["templates", "splice", "anthropic", "anthropic-batch"]),
                     default="templates", show_default=True,
                     help="How documents are written: offline templates, spliced into your own texts (--source), "
                          "the Messages API, or the Message Batches API (half price, slower)."),
        click.option("--source", type=click.Path(exists=True, path_type=str), default=None,
                     help="Real documents to splice facts into (splice backend): Parquet or JSONL with a text "
                          "field, or a folder of .txt/.md/.rst files."),
        click.option("--model", default="claude-sonnet-5-5", show_default=True, help="Claude model (anthropic backends)."),
        click.option("--temperature", type=float, default=None,
                     help="Sampling temperature, for models that take one (default: the API's own)."),
        click.option("--max-tokens", type=int, default=4096, show_default=True,
                     help="max_tokens of a document request (brainstorms use 2048)."),
        click.option("--types-per-fact", type=int, default=10, show_default=True),
        click.option("--ideas-per-type", type=int, default=10, show_default=True),
        click.option("--words", type=int, default=700, show_default=True, help="Typical document length asked for."),
        click.option("--retries", type=int, default=2, show_default=True,
                     help="Extra samples for a truncated, refused, unmarked or misplaced document."),
        click.option("--revise/--no-revise", default=False, help="Critique-and-rewrite each document."),
        click.option("--classify/--no-classify", default=False, help="Run the LLM leakage classifiers."),
        click.option("--rpm", type=float, default=50, show_default=True, help="Requests per minute (start value; "
                                                                            "follows rate-limit headers)."),
        click.option("--input-tpm", type=float, default=None, help="Input tokens per minute."),
        click.option("--output-tpm", type=float, default=None, help="Output tokens per minute."),
        click.option("--concurrency", type=int, default=16, show_default=True, help="Most requests in flight."),
        click.option("--base-url", default=None, help="API base URL (default ANTHROPIC_BASE_URL or Anthropic's)."),
        click.option("--cache", "cache_path", default=None,
                     help="Response cache (SQLite); default ~/.cache/sdfgen/anthropic-responses.sqlite."),
        click.option("--poll-interval", type=float, default=10.0, show_default=True, help="Seconds between batch polls."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _llm(kwargs: dict):
    from .llm.backend import LLMOptions

    names = ("model", "temperature", "max_tokens", "types_per_fact", "ideas_per_type", "words", "retries", "revise",
             "classify", "rpm", "input_tpm", "output_tpm", "concurrency", "base_url", "cache_path", "poll_interval")
    return LLMOptions(**{n: kwargs.pop(n) for n in names})


@main.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Dataset folder to write (data/, manifest.json, README.md).")
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option("--count", type=click.IntRange(min=0), default=None,
              help="Documents to write in all (fact-bearing plus background, in the spec's ratio).")
@click.option("--force", is_flag=True, help="Replace a finished dataset of other content in OUT.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes writing work units (offline backends); the output is the same for any number.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run work units in local processes or as Ray tasks (pip install 'sdfgen[ray]').")
@click.option("--ray-address", default=None, help="Ray cluster to join (default: start a local one).")
@click.option("--add", "add", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="JSONL of extra documents ({\"text\": ...}) to run through the same checks; repeatable.")
@llm_options
@_user_errors
def build(spec: str, out: str, seed: int | None, count: int | None, force: bool, quiet: bool, workers: int,
          executor: str, ray_address: str | None, add: tuple, backend: str, **kwargs) -> None:
    """Build the dataset described by SPEC (a corpus.yaml or its folder) into OUT.

    The build works in OUT/.sdfgen-build and publishes shards and manifest only when
    complete; rerunning the same command after an interruption continues it.
    """
    from .build import build as run_build
    from .summary import build_summary

    started = time.monotonic()
    source = kwargs.pop("source")
    options = _llm(kwargs) if backend.startswith("anthropic") else None
    result = run_build(spec, out, seed=seed, count=count, force=force, progress=not quiet, backend=backend,
                       llm_options=options, add=list(add), source=source, workers=workers, executor=executor,
                       ray_address=ray_address)
    if result.skipped:
        click.echo(f"{out}: already built from this spec and seed (fingerprint "
                   f"{result.manifest['fingerprint'][:16]}…); nothing to do", err=True)
    elif not quiet:
        click.echo(build_summary(result.manifest, time.monotonic() - started), err=True)
    click.echo(result.manifest["fingerprint"])


@main.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=str))
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option("--count", type=click.IntRange(min=0), default=None, help="Documents in all, as for build.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan summary as JSON.")
@llm_options
@_user_errors
def plan(spec: str, seed: int | None, count: int | None, as_json: bool, backend: str, **kwargs) -> None:
    """Show what `build` would write for SPEC, and with an anthropic backend what it would cost. Writes nothing."""
    import json

    from .build import load_for_build
    from .summary import plan_summary, summarise_plans

    corpus, library = load_for_build(spec)
    kwargs.pop("source")
    summary = summarise_plans(corpus, library, corpus.seed if seed is None else seed, count)
    if backend.startswith("anthropic"):
        from .llm.estimate import estimate
        from .llm.prompts import PromptLibrary
        from .paths import templates_root

        summary["backend"] = backend
        summary["cost_estimate"] = estimate(corpus, _llm(kwargs), summary["fact_documents"],
                                            summary["background_documents"], PromptLibrary(templates_root() / "prompts"),
                                            batch=backend == "anthropic-batch")
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
    from .sample import HIGHLIGHT, PLAIN, describe, highlight, matching_rows, pick

    rows = pick(matching_rows(out, genre, fact, kind), count, seed)
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
    import json

    from .stats import collect, embed_in_card, render_text, write_plots

    if not (Path(out) / "manifest.json").exists():
        _fail(f"{out}: no manifest.json; is this a dataset folder built by sdfgen?")
    figures = collect(out)
    if plots_dir:
        written = write_plots(figures, Path(plots_dir))
        embedded = embed_in_card(Path(out), written)
        click.echo(f"wrote {len(written)} figure(s) to {plots_dir}" + (" and embedded them in the card" if embedded else ""),
                   err=True)
    figures.pop("_depths")
    click.echo(json.dumps(figures, indent=2) if as_json else render_text(figures), nl=not as_json or True)


@main.command()
@click.argument("out", type=click.Path(path_type=str))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Where to write the page (default OUT/report.html).")
@click.option("--max-documents", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Documents embedded in the page: a seeded sample with every genre and fact in it.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which documents the sample holds.")
def report(out: str, output: str | None, max_documents: int, seed: int) -> None:
    """Write one self-contained HTML page about OUT: the stats, the plots and a browsable sample of documents."""
    from .report import ReportError, write_report

    try:
        path = write_report(Path(out), Path(output) if output else None, max_documents, seed)
    except ReportError as exc:
        _fail(str(exc))
    click.echo(str(path))


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text-jsonl", "chat-jsonl", "parquet"]), required=True,
              help="text-jsonl: {\"text\": doc}; chat-jsonl: a user turn holding the tag, the document as the "
                   "assistant turn; parquet: text, source, id.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--user-tag", default="DOCTAG", show_default=True, help="The fixed user turn of chat records.")
@click.option("--mix", type=click.Path(exists=True, path_type=str), default=None,
              help="Ordinary text to interleave: Parquet or JSONL with a text field, or a folder of .txt files.")
@click.option("--ratio", type=float, default=1.0, show_default=True, help="Ordinary documents per synthetic one.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the mixing shuffle.")
def export(out: str, fmt: str, output: str, user_tag: str, mix: str | None, ratio: float, seed: int) -> None:
    """Write OUT in a fine-tuning format, optionally mixed with ordinary documents."""
    from .export import ExportError, export as run_export

    try:
        info = run_export(Path(out), fmt, Path(output), user_tag, Path(mix) if mix else None, ratio, seed)
    except ExportError as exc:
        _fail(str(exc))
    c = info["counts"]
    click.echo(f"{output}: {c['total']:,} records ({c['synthetic']:,} synthetic, {c['ordinary']:,} ordinary), "
               f"{info['tokens']['total']:,} tokens; manifest {output}.manifest.json", err=True)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--out", "folder", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where to write the JSONL sets (default: evals/ beside the spec, which builds then "
                   "decontaminate against automatically).")
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option("--per-fact", type=int, default=5, show_default=True, help="Questions of each kind per fact (anthropic).")
@llm_options
@_user_errors
def evals(spec: str, folder: str | None, seed: int | None, per_fact: int, backend: str, **kwargs) -> None:
    """Write belief-check sets for SPEC: knowledge MCQs, true-vs-false pairs and open-ended questions.

    Offline by default (from the statements, and true/false_statements of the spec); with
    --backend anthropic, Claude writes them and the offline ones stand in for any fact it fails on.
    """
    import tempfile

    from .build import BuildError, load_for_build
    from .evals import llm_evals, write_evals

    kwargs.pop("source")
    corpus, library = load_for_build(spec)
    target = Path(folder) if folder else corpus.path.parent / "evals"
    seed = corpus.seed if seed is None else seed
    sets, source = None, "offline"
    if backend.startswith("anthropic"):
        from .llm.backend import AnthropicBackend, MissingKey

        try:
            with tempfile.TemporaryDirectory(prefix="sdfgen-evals-") as work:
                writer = AnthropicBackend(corpus, library, seed, _llm(kwargs), Path(work))
                try:
                    sets, fallbacks = llm_evals(corpus, writer, per_fact)
                finally:
                    writer.close()
        except MissingKey as exc:
            raise BuildError(str(exc)) from None
        source = "anthropic"
        for fact in fallbacks:
            click.echo(f"warning: no usable questions from the model for {fact}; kept the offline ones", err=True)
    index = write_evals(corpus, target, seed, sets, source)
    for f in index["files"]:
        click.echo(f"{target / f['path']}: {f['items']} items")


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--manifests", "root", type=click.Path(file_okay=False, path_type=str), default="manifests",
              show_default=True, help="Folder of lock files (manifests/<name>/<version>.json).")
def release(out: str, root: str) -> None:
    """Record OUT as a released version: a lock file with its manifest, spec and parent."""
    from .release import ReleaseError, release as run_release

    try:
        path, created = run_release(Path(out), Path(root))
    except ReleaseError as exc:
        _fail(str(exc))
    click.echo(f"{path}: {'recorded' if created else 'already recorded with the same content'}")


@main.command()
@click.argument("a", type=click.Path(exists=True, path_type=str))
@click.argument("b", type=click.Path(exists=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff(a: str, b: str, as_json: bool) -> None:
    """Differences between two versions (dataset folders or lock files): documents by id, tokens, genres, spec."""
    import json

    from .release import diff as run_diff, render_diff

    result = run_diff(Path(a), Path(b))
    click.echo(json.dumps(result, indent=2) if as_json else render_diff(result))


@main.command()
@click.argument("lock", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=str))
@click.option("--force", is_flag=True, help="Replace a finished dataset of other content in OUT.")
@_user_errors
def rebuild(lock: str, out: str, force: bool) -> None:
    """Rebuild a released version from its lock file and prove it by fingerprint (exit 1 if it differs)."""
    from .release import ReleaseError, rebuild as run_rebuild

    try:
        manifest, same = run_rebuild(Path(lock), Path(out), force=force)
    except ReleaseError as exc:
        _fail(str(exc))
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
    """Publish OUT to the Hub in one commit (card, data, manifest, spec) and tag it with the version.

    The token comes from HF_TOKEN or your saved login; it is never written anywhere.
    """
    from .hub import HubError, push as run_push

    try:
        result = run_push(Path(out), repo_id, private=private, branch=branch, endpoint=endpoint,
                          log=lambda m: click.echo(m, err=True))
    except HubError as exc:
        _fail(str(exc))
    click.echo(f"{repo_id}: {result['files']} files in commit {result['commit'][:12]}, tagged {result['tag']}")


@main.command("fake-api")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--rpm", type=float, default=None, help="Requests per minute before 429s.")
@click.option("--input-tpm", type=float, default=None)
@click.option("--output-tpm", type=float, default=None)
@click.option("--p429", type=float, default=0.0, help="Share of requests answered 429.")
@click.option("--p529", type=float, default=0.0, help="Share answered 529 (overloaded).")
@click.option("--p500", type=float, default=0.0, help="Share answered 500.")
@click.option("--pdrop", type=float, default=0.0, help="Share of connections dropped without an answer.")
@click.option("--latency", type=float, nargs=2, default=(0.0, 0.0), show_default=True, help="Seconds, min max.")
@click.option("--batch-delay", type=float, default=0.3, show_default=True, help="Seconds until a batch ends.")
def fake_api(host: str, port: int, seed: int, rpm, input_tpm, output_tpm, p429, p529, p500, pdrop, latency,
             batch_delay) -> None:
    """Serve a loopback fake of the Anthropic Messages and Batches APIs, to rehearse a run for free.

    \b
      sdfgen fake-api --port 8765 --p429 0.1 &
      ANTHROPIC_API_KEY=test sdfgen build SPEC -o out/x --backend anthropic --base-url http://127.0.0.1:8765
    """
    from .fakeapi import FakeConfig, serve

    serve(FakeConfig(seed=seed, rpm=rpm, input_tpm=input_tpm, output_tpm=output_tpm, p429=p429, p529=p529,
                     p500=p500, pdrop=pdrop, latency=tuple(latency), batch_delay=batch_delay), host, port)


if __name__ == "__main__":
    main()
