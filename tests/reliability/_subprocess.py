"""Run a snippet in a fresh interpreter, so a crash fails one test instead of the run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import tokenspace

# the folder holding the tokenspace this run imports (the installed copy in CI, python/ with
# PYTHONPATH=python), so the child tests the same build as the parent
PYTHON_DIR = Path(tokenspace.__file__).resolve().parents[1]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    env.update(extra)
    return env


def run_snippet(
    code: str, *, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the package this run imports; returns the finished process (never raises on a
    non-zero exit, so the caller can assert on the return code and say what died)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or child_env(),
        check=False,
    )


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
