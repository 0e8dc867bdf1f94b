"""The HTML report: sections, skipping, failures, the CLI, and the page in headless Chromium."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import report
from tokenspace.cli import main

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")


def _img_sources(index: Path) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', index.read_text(encoding="utf-8"))


def _check_pngs(out: Path, res) -> None:
    srcs = _img_sources(res.index)
    assert srcs and sorted(srcs) == sorted(n for r in res.sections for n in r.figures)
    for name in srcs:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_sections(tmp_path, capsys):
    res = report.build_report(tmp_path, sections=["overview", "heatmap", "graph", "sequence", "rsa"],
                              strict=True)
    status = {r.key: r.status for r in res.sections}
    assert status == {"overview": "ok", "heatmap": "ok", "graph": "ok", "sequence": "ok",
                      "rsa": "ok" if hasattr(ts, "rsa_models") else "skipped"}
    _check_pngs(tmp_path, res)
    page = res.index.read_text(encoding="utf-8")
    assert "<table>" in page and "ts-colored-text" in page and "data-broken-images" in page
    if status["rsa"] == "skipped":
        assert "Skipped: needs tokenspace.rsa" in page
    err = capsys.readouterr().err
    assert "[" + "#" * 24 + "] 6/6 writing index.html" in err  # the progress bar reached the end


def test_unknown_section_and_bad_models(tmp_path):
    with pytest.raises(ValueError, match="unknown report sections"):
        report.build_report(tmp_path, sections=["nope"])
    with pytest.raises(ValueError, match="two models"):
        report.build_report(tmp_path, models=["glove-6b-50d"])


def test_failing_section_becomes_a_note(tmp_path, monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom in section")

    monkeypatch.setattr(report, "SECTIONS", [report.Section("broken", "Broken", broken),
                                             report.Section("overview", "Models", report.section_overview)])
    res = report.build_report(tmp_path, progress=False)
    assert [r.status for r in res.sections] == ["failed", "ok"]
    assert "RuntimeError: boom in section" in res.index.read_text(encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"):
        report.build_report(tmp_path, progress=False, strict=True)


def test_extension_sections_run_once_their_api_exists(tmp_path, monkeypatch):
    """Stand-ins with the DESIGN.md signatures: the sections that wait for other branches work."""

    def rsa(X, Y, method="pearson"):
        a, b = ts.cosine_matrix(X), ts.cosine_matrix(Y)
        iu = np.triu_indices(len(a), k=1)
        return float(np.corrcoef(a[iu], b[iu])[0, 1])

    def rsa_models(a, b, words=None):
        return {"n_words": 3, "pearson": 0.5}

    def svd_spectrum(X, center=True):
        X = np.asarray(X, dtype=np.float64)
        return np.linalg.svd(X - X.mean(0) if center else X, compute_uv=False)

    def project(s, axis, center=None):
        V = np.asarray(s.vectors, dtype=np.float64)
        return (V - (0 if center is None else center)) @ axis

    for name, fn in [("rsa", rsa), ("rsa_models", rsa_models), ("svd_spectrum", svd_spectrum),
                     ("project", project)]:
        monkeypatch.setattr(ts, name, fn, raising=False)
    res = report.build_report(tmp_path, sections=["rsa", "svd"], strict=True, progress=False)
    assert [r.status for r in res.sections] == ["ok", "ok"]
    assert len(res.sections[0].figures) == 1 and len(res.sections[1].figures) == 2
    _check_pngs(tmp_path, res)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _broken_images(index: Path) -> tuple[int, int]:
    """Render the page headless; the page's own script counts images whose naturalWidth is 0."""
    out = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--dump-dom", index.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    m = re.search(r'<body[^>]*data-images="(\d+)"[^>]*data-broken-images="(\d+)"', out.stdout)
    assert m, f"the page did not finish rendering in chromium: {out.stdout[:300]} {out.stderr[-500:]}"
    return int(m.group(1)), int(m.group(2))


@pytest.mark.slow
def test_full_report_cli_and_chromium(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and "failed" not in printed
    srcs = _img_sources(out / "index.html")
    assert len(srcs) >= 12
    if _chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the page was written "
                    "but not rendered")
    n, broken = _broken_images(out / "index.html")
    assert (n, broken) == (len(srcs), 0)
    # the check itself works: a missing figure is reported as a broken image
    (out / srcs[0]).unlink()
    assert _broken_images(out / "index.html") == (len(srcs), 1)


@pytest.mark.parametrize("how", ["rows", "columns", "elements"])
def test_null_model_shuffles(how):
    X = np.arange(24, dtype=np.float32).reshape(6, 4)
    Y = report._shuffled(X, how, np.random.default_rng(0))
    assert Y.shape == X.shape and not np.array_equal(X, Y)
    np.testing.assert_array_equal(np.sort(Y.ravel()), np.sort(X.ravel()))
    if how == "rows":  # every vector intact, moved to another word
        assert sorted(map(tuple, Y.tolist())) == sorted(map(tuple, X.tolist()))
    if how == "columns":  # each dimension keeps its values
        np.testing.assert_array_equal(np.sort(Y, axis=0), X)
    with pytest.raises(ValueError, match="unknown shuffle"):
        report._shuffled(X, "diagonal", np.random.default_rng(0))


def test_singular_values_match_numpy():
    X = np.random.default_rng(0).standard_normal((500, 20)).astype(np.float32) * np.arange(1, 21)
    ref = np.linalg.svd(X.astype(np.float64) - X.astype(np.float64).mean(0), compute_uv=False)
    np.testing.assert_allclose(report._singular_values(X), ref, rtol=1e-4)


def test_cli_report_options(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path), "--sections", "overview", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "ok" in cap.out and (tmp_path / "index.html").exists()
    assert main(["report", "--out", str(tmp_path), "--sections", "nope"]) == 2
    assert "unknown report sections" in capsys.readouterr().err
