"""The command line, run in-process and as the installed console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tokenspace.cli import main


def test_knn_table(capsys):
    assert main(["knn", "glove-6b-50d", "king", "--k", "5"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].startswith("# king")
    assert lines[1].split() == ["rank", "id", "cosine", "word"]
    assert len(lines) == 2 + 5 and "queen" in out


def test_info(capsys):
    assert main(["info", "minilm-l6"]) == 0
    out = capsys.readouterr().out
    assert "30522" in out and "384" in out


def test_unknown_word_is_a_clean_error(capsys):
    assert main(["knn", "glove-6b-50d", "kingxq"]) == 2
    assert "kingxq" in capsys.readouterr().err


def _console_script():
    beside = Path(sys.executable).with_name("tokenspace")  # the venv's bin/, even if not on PATH
    return str(beside) if beside.exists() else shutil.which("tokenspace")


@pytest.mark.skipif(
    _console_script() is None, reason="console script not installed (source-tree run)"
)
def test_console_script():
    out = subprocess.run(
        [_console_script(), "knn", "minilm-l6", "paris", "--k", "3"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "france" in out
