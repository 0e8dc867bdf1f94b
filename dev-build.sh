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
