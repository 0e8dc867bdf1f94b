#!/usr/bin/env bash
# Developer build: compiles tokenspace._core into python/tokenspace/ so that
# PYTHONPATH=python runs the package from the work tree (each git worktree builds its own).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
build="$here/build-dev"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSKBUILD_PROJECT_NAME=tokenspace -DSKBUILD_PROJECT_VERSION=0.1.0 \
  -DPython_EXECUTABLE="$("$py" -c 'import sys; print(sys.executable)')" \
  -Dpybind11_DIR="$("$py" -c 'import pybind11; print(pybind11.get_cmake_dir())')" >/dev/null
cmake --build "$build" -j2
# copy then rename: overwriting the loaded .so in place would crash running processes (SIGBUS)
for so in "$build"/_core*.so; do
  cp "$so" "$here/python/tokenspace/.$(basename "$so").tmp"
  mv -f "$here/python/tokenspace/.$(basename "$so").tmp" "$here/python/tokenspace/$(basename "$so")"
done
# Regenerate the checked-in stubs of the compiled module (commit them when they change; CI
# compares). The first python that has pybind11-stubgen wins: STUBGEN_PYTHON, this tree's
# .venv, the .venv of the main checkout (for git worktrees), then python3.
main_tree="$(cd "$here" && cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)/.." && pwd)"
stub_py=""
for cand in "${STUBGEN_PYTHON:-}" "$here/.venv/bin/python" "$main_tree/.venv/bin/python" python3; do
  if [ -n "$cand" ] && "$cand" -c 'import pybind11_stubgen' 2>/dev/null; then
    stub_py="$cand"
    break
  fi
done
if [ -n "$stub_py" ]; then
  stub_out="$(mktemp -d)"
  PYTHONPATH="$here/python" "$stub_py" -m pybind11_stubgen tokenspace._core -o "$stub_out" >/dev/null
  cp "$stub_out/tokenspace/_core.pyi" "$here/python/tokenspace/_core.pyi"
  rm -rf "$stub_out"
else
  echo "dev-build.sh: pybind11-stubgen not found; python/tokenspace/_core.pyi was not regenerated." >&2
  echo "  Install it (pip install pybind11-stubgen) or set STUBGEN_PYTHON to a python that has it." >&2
fi
