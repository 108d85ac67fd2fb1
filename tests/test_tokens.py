import os
import subprocess
import sys


def test_tiktoken_works_offline_from_an_empty_cache(tmp_path):
    code = (
        "from generator.tokens import count_tokens, encoding\n"
        "print(count_tokens(['hello world', 'Synthetic documents bury facts.']))\n"
        "print(encoding().name)\n"
    )
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(tmp_path / "cache"),
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    first, name = out.stdout.split("\n")[:2]
    assert first.startswith("[2, ") and name == "cl100k_base"
    assert len(list((tmp_path / "cache").iterdir())) == 1
