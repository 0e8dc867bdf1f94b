"""The HTML report: sections, failures, the CLI, and the page in headless Chromium."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import tokenspace as ts
from tokenspace import report
from tokenspace.cli import main
from tokenspace.report.sections import Section, section_overview

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
    res = report.build_report(
        tmp_path, sections=["overview", "heatmap", "graph", "sequence", "rsa"], strict=True
    )
    status = {r.key: r.status for r in res.sections}
    assert status == {
        "overview": "ok",
        "heatmap": "ok",
        "graph": "ok",
        "sequence": "ok",
        "rsa": "ok",
    }
    _check_pngs(tmp_path, res)
    page = res.index.read_text(encoding="utf-8")
    assert "<table>" in page and "ts-colored-text" in page and "data-broken-images" in page
    assert f"tokenspace {ts.__version__}, SIMD level {ts.simd_level()}" in page
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

    monkeypatch.setattr(
        report,
        "SECTIONS",
        [Section("broken", "Broken", broken), Section("overview", "Models", section_overview)],
    )
    res = report.build_report(tmp_path, progress=False)
    assert [r.status for r in res.sections] == ["failed", "ok"]
    assert "RuntimeError: boom in section" in res.index.read_text(encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"):
        report.build_report(tmp_path, progress=False, strict=True)


def test_svd_section(tmp_path):
    res = report.build_report(tmp_path, sections=["svd"], strict=True, progress=False)
    assert [r.status for r in res.sections] == ["ok"]
    assert len(res.sections[0].figures) == 2
    _check_pngs(tmp_path, res)


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def _broken_images(index: Path) -> tuple[int, int]:
    """Render the page headless; the page's own script counts images whose naturalWidth is 0."""
    out = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            index.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    m = re.search(r'<body[^>]*data-images="(\d+)"[^>]*data-broken-images="(\d+)"', out.stdout)
    assert m, (
        f"the page did not finish rendering in chromium: {out.stdout[:300]} {out.stderr[-500:]}"
    )
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
        pytest.skip(
            "chromium is not installed (apt-get install -y chromium): the page was written "
            "but not rendered"
        )
    n, broken = _broken_images(out / "index.html")
    assert (n, broken) == (len(srcs), 0)
    # the check itself works: a missing figure is reported as a broken image
    (out / srcs[0]).unlink()
    assert _broken_images(out / "index.html") == (len(srcs), 1)


def test_cli_report_options(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path), "--sections", "overview", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "ok" in cap.out and (tmp_path / "index.html").exists()
    assert main(["report", "--out", str(tmp_path), "--sections", "nope"]) == 2
    assert "unknown report sections" in capsys.readouterr().err
