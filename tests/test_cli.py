import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import TINY

from generator import __version__
from generator.cli import main


def test_help_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from generator.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('pyarrow', 'datasets', 'anthropic', 'huggingface_hub', 'tiktoken', 'faker',"
        " 'jinja2', 'matplotlib', 'datasketch') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
    assert "build" in out and "verify" in out


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_plan_writes_nothing_and_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["plan", str(TINY), "--json"])
    second = runner.invoke(main, ["plan", str(TINY), "--json"])
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    summary = json.loads(first.output)
    assert summary["documents"] == 120 and summary["fact_documents"] == 60
    assert list(tmp_path.iterdir()) == []
    other = json.loads(runner.invoke(main, ["plan", str(TINY), "--json", "--count", "10"]).output)
    assert other["documents"] == 10 and other["fact_documents"] == 5


@pytest.mark.slow  # a subprocess
def test_console_script_build_prints_fingerprint(tmp_path):
    exe = subprocess.run([sys.executable, "-m", "generator.cli", "build", str(TINY), "-o", str(tmp_path / "o"),
                          "--count", "12"], capture_output=True, text=True)
    assert exe.returncode == 0, exe.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert exe.stdout.strip() == manifest["fingerprint"]
    assert "fingerprint" in exe.stderr  # the summary table goes to stderr
