"""``tokenspace report``: the course's analyses on the embedded models, as one HTML page.

The report is a list of independent sections (:data:`SECTIONS`, in :mod:`.sections`). The
runner saves every figure as a PNG next to ``index.html`` (for print), embeds the interactive
plotly version when a section made one (plotly's own JavaScript is written beside the page, so
it works offline), writes each figure's data as CSV beside it, times each section, and turns an
exception into a note on the page (``strict=True`` re-raises).
"""

from __future__ import annotations

import csv
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._display import Display
from ..progress import ProgressBar
from .context import Fig, ReportContext, SectionRecord
from .html import PLOTLY_JS, esc, figure, page, paragraph
from .sections import SECTIONS, Section

__all__ = [
    "SECTIONS",
    "Fig",
    "ReportContext",
    "ReportResult",
    "Section",
    "SectionRecord",
    "build_report",
]


def _write_csv(path: Path, data: Mapping[str, Sequence[Any]]) -> None:
    cols = list(data)
    n = {len(data[c]) for c in cols}
    if len(n) > 1:
        raise ValueError(f"figure data columns differ in length: {sorted(n)}")
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(zip(*(data[c] for c in cols)))


def _render_figures(
    out: Path, key: str, figs: Sequence[Any], dpi: int
) -> tuple[list[str], str, bool]:
    """Save the figures of one section; returns (PNG names, HTML, whether plotly is used)."""
    names, parts, interactive = [], [], False
    for j, item in enumerate(figs, 1):
        f = item if isinstance(item, Fig) else Fig(*item)
        name = f"{key}-{j}.png"
        f.figure.savefig(out / name, dpi=dpi)
        names.append(name)
        csv_name = None
        if f.data is not None:
            csv_name = f"{key}-{j}.csv"
            _write_csv(out / csv_name, f.data)
        html_fig = None
        if f.interactive is not None:
            interactive = True
            html_fig = f.interactive.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"{key}-{j}-plotly",
                config={"displaylogo": False, "responsive": True},
            )
        parts.append(figure(name, f.caption, interactive=html_fig, csv=csv_name))
    return names, "".join(parts), interactive


@dataclass(frozen=True, repr=False)
class ReportResult(Display):
    """The written report: ``index`` is the path of index.html."""

    index: Path
    sections: list[SectionRecord]
    seconds: float

    def _summary(self) -> str:
        ok = sum(r.status == "ok" for r in self.sections)
        return f"{self.index}, {ok} of {len(self.sections)} sections ok, {self.seconds:.1f} s"

    def _table(self) -> dict[str, Sequence[Any]]:
        """One row per section."""
        return {
            "section": [r.key for r in self.sections],
            "title": [r.title for r in self.sections],
            "status": [r.status for r in self.sections],
            "seconds": [r.seconds for r in self.sections],
            "figures": [len(r.figures) for r in self.sections],
        }


def build_report(
    out: str | Path,
    *,
    models: Sequence[str] = ("glove-6b-50d", "minilm-l6"),
    sections: Sequence[str] | None = None,
    seed: int = 0,
    progress: bool = True,
    strict: bool = False,
    dpi: int = 90,
) -> ReportResult:
    """Run the report's sections and write ``out/index.html`` with PNG figures beside it.

    Parameters
    ----------
    out : path
        Output folder (created if needed); existing files of the same names are overwritten.
    models : (static model, HF model)
        Names or paths passed to :func:`tokenspace.load`; sections use the first as "GloVe" and
        the second as "MiniLM" (the second needs a tokenizer for the text section).
    sections : sequence of str, optional
        Keys of :data:`SECTIONS` to run (default: all).
    progress : bool, default True
        Progress bar on stderr.
    strict : bool, default False
        Re-raise a section's exception instead of writing it as a note.
    dpi : int, default 90
        Resolution of the PNG figures.
    """
    if len(models) != 2:
        raise ValueError("models must name two models: a static one and a Hugging Face one")
    chosen = list(SECTIONS)
    if sections is not None:
        known = {s.key for s in SECTIONS}
        unknown = [k for k in sections if k not in known]
        if unknown:
            raise ValueError(
                f"unknown report sections {unknown}; available: {', '.join(sorted(known))}"
            )
        chosen = [s for s in SECTIONS if s.key in sections]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = ReportContext(out=out, model_names=tuple(models), seed=seed)
    # one line per step (section) even when stderr is a log, so the step names stay readable
    bar = ProgressBar(force=True, interval=0.0) if progress else None
    steps = len(chosen) + 1

    def step(done: int, label: str) -> None:
        if bar is not None:
            bar.label = f"report {done}/{steps}: {label}"
            bar.update(done, steps)

    t0 = time.perf_counter()
    step(0, "loading models")
    ctx.models  # noqa: B018 - load both models up front so sections time their own work
    records: list[SectionRecord] = []
    bodies: dict[str, str] = {}
    uses_plotly = False
    for i, sec in enumerate(chosen, 1):
        step(i, sec.title)
        ts0 = time.perf_counter()
        try:
            title, body, figs = sec.fn(ctx)
            names, fig_html, interactive = _render_figures(out, sec.key, figs, dpi)
            uses_plotly |= interactive
            about = paragraph(sec.about) if sec.about else ""
            bodies[sec.key] = about + body + "<div>" + fig_html + "</div>"
            records.append(SectionRecord(sec.key, title, "ok", time.perf_counter() - ts0, names))
        except Exception as e:  # one broken section must not take the report down
            if strict:
                raise
            records.append(
                SectionRecord(
                    sec.key,
                    sec.title,
                    "failed",
                    time.perf_counter() - ts0,
                    [],
                    f"This section failed: {type(e).__name__}: {e}",
                )
            )
            bodies[sec.key] = f"<pre>{esc(traceback.format_exc(limit=3))}</pre>"
    step(steps, "writing index.html")
    if bar is not None:
        bar.close()
    if uses_plotly:
        from plotly.offline import get_plotlyjs  # the JS that ships inside the plotly package

        (out / PLOTLY_JS).write_text(get_plotlyjs(), encoding="utf-8")
    total = time.perf_counter() - t0
    index = out / "index.html"
    index.write_text(
        page(records, bodies, total, ctx.model_names, plotly=uses_plotly), encoding="utf-8"
    )
    return ReportResult(index, records, total)
