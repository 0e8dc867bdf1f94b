"""The house rules of the source tree: one door to the compiled kernels, no import circles, no
merge-era banners, a stub that matches the compiled module."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "tokenspace"


def _modules() -> dict[str, Path]:
    """tokenspace module name -> source file, for every .py file of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every tokenspace module ``name`` imports anywhere in its file: at the top, inside
    functions, and under ``if TYPE_CHECKING:`` (all of them are dependencies)."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - node.level + 1]
                mod = ".".join(anchor + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from pkg import sub` imports the submodule when there is one
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods) | {"tokenspace._core"}  # the compiled module has no .py source
    return {name: _imports(name, path, known) for name, path in mods.items()}


def test_only_the_gateway_imports_the_compiled_module():
    importers = sorted(m for m, deps in _graph().items() if "tokenspace._core" in deps)
    assert importers == ["tokenspace._kernels"], (
        f"{importers} import tokenspace._core; call the keyword wrappers of tokenspace._kernels"
    )


def test_the_library_never_imports_its_own_face():
    # tokenspace/__init__ re-exports the public API; a module importing it reaches everything
    offenders = sorted(
        m for m, deps in _graph().items() if m != "tokenspace" and "tokenspace" in deps
    )
    assert not offenders, f"{offenders} import the package face `tokenspace`; import the module"


def test_no_import_circles():
    graph = _graph()
    graph.pop("tokenspace")  # the face imports everything and nothing imports it (test above)
    for deps in graph.values():
        deps.discard("tokenspace")
    # Tarjan's strongly connected components: a component of two or more modules is a circle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(1000, 10 * len(graph)))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, f"import circles (lazy and TYPE_CHECKING imports count): {circles}"


BANNER = re.compile(r"^\s*(#|//).*(={4,}|-{4,})")


@pytest.mark.parametrize(
    "where", ["cpp", "python", "tests", "benchmarks", "CMakeLists.txt", "pyproject.toml"]
)
def test_no_banner_comments(where):
    root = ROOT / where
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    hits = []
    for f in files:
        if f.suffix in {".so", ".pyc"}:
            continue
        for no, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if BANNER.match(line):
                hits.append(f"{f.relative_to(ROOT)}:{no}: {line.strip()}")
    assert not hits, "banner comments (name the function or split the file instead):\n" + "\n".join(
        hits
    )


def test_every_binding_releases_the_gil_through_kernel_call():
    """KernelCall pins the thread count and SIMD level for the call and carries Ctrl-C and
    progress to the pool; a bare gil_scoped_release would skip all three."""
    hits = [
        f"{f.relative_to(ROOT)}:{no}"
        for f in sorted((ROOT / "cpp" / "bindings").iterdir())
        if f.name != "convert.hpp"
        for no, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if "gil_scoped_release" in line
    ]
    assert not hits, f"release the GIL with KernelCall (convert.hpp), not directly: {hits}"


def test_stub_matches_the_compiled_module(tmp_path):
    """python/tokenspace/_core.pyi is generated (./dev-build.sh); it must not drift."""
    try:
        import pybind11_stubgen  # noqa: F401
    except ImportError:
        pytest.fail("pybind11-stubgen is missing: pip install '.[lint]' (./run.sh test does)")
    subprocess.run(
        [sys.executable, "-m", "pybind11_stubgen", "tokenspace._core", "-o", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    generated = (tmp_path / "tokenspace" / "_core.pyi").read_text(encoding="utf-8")
    checked_in = (PACKAGE / "_core.pyi").read_text(encoding="utf-8")
    assert generated == checked_in, (
        "python/tokenspace/_core.pyi differs from the compiled module's signatures; "
        "rebuild with ./dev-build.sh (it regenerates the stub) and commit it"
    )
