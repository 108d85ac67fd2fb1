"""The `sdfgen` command. Thin: parse, call, print. Heavy imports live inside commands."""
from __future__ import annotations

import sys
import time

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


@main.command()
@click.argument("spec", type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Dataset folder to write (data/, manifest.json, README.md).")
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option("--count", type=click.IntRange(min=0), default=None,
              help="Documents to write in all (fact-bearing plus background, in the spec's ratio).")
@click.option("--force", is_flag=True, help="Replace a finished dataset of other content in OUT.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@_user_errors
def build(spec: str, out: str, seed: int | None, count: int | None, force: bool, quiet: bool) -> None:
    """Build the dataset described by SPEC (a corpus.yaml or its folder) into OUT.

    The build works in OUT/.sdfgen-build and publishes shards and manifest only when
    complete; rerunning the same command after an interruption continues it.
    """
    from .build import build as run_build
    from .summary import build_summary

    started = time.monotonic()
    result = run_build(spec, out, seed=seed, count=count, force=force, progress=not quiet)
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
@_user_errors
def plan(spec: str, seed: int | None, count: int | None, as_json: bool) -> None:
    """Show what `build` would write for SPEC. Writes nothing."""
    import json

    from .build import load_for_build
    from .summary import plan_summary, summarise_plans

    corpus, library = load_for_build(spec)
    summary = summarise_plans(corpus, library, corpus.seed if seed is None else seed, count)
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


if __name__ == "__main__":
    main()
