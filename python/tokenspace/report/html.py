"""HTML of the report: escaped tables and paragraphs, figures, the page with its CSS, and the
progress bar the runner draws on stderr."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from .context import SectionRecord


def esc(x: Any) -> str:
    """``str(x)`` escaped for HTML text and attribute values."""
    return html.escape(str(x))


def fmt(x: Any) -> str:
    """Floats to 4 decimals (non-finite ones as ``nan`` / ``inf``), anything else as ``str``."""
    if isinstance(x, (float, np.floating)):
        return f"{x:.4f}" if math.isfinite(x) else str(x)
    return str(x)


def paragraph(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def html_table(
    headers: Sequence[Any], rows: Sequence[Sequence[Any]], *, caption: str | None = None
) -> str:
    """A plain HTML table (values escaped, floats to 4 decimals)."""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(fmt(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_result(obj: Any) -> str:
    """HTML of a result object (dataclass, dict; anything else as its repr)."""
    if is_dataclass(obj):
        items = [(f.name, getattr(obj, f.name)) for f in fields(obj)]
    elif isinstance(obj, dict):
        items = list(obj.items())
    else:
        return f"<pre>{esc(repr(obj))}</pre>"
    rows = []
    for k, v in items:
        if isinstance(v, np.ndarray) and v.size > 8:
            v = f"array{v.shape}"
        elif isinstance(v, (list, tuple, dict)) and len(v) > 8:
            v = f"{type(v).__name__} of {len(v)}"
        rows.append((k, fmt(v)))
    return html_table(["field", "value"], rows)


def figure(
    src: str, caption: str, *, interactive: str | None = None, csv: str | None = None
) -> str:
    """A PNG beside index.html with its caption (also the image's alt text).

    With ``interactive`` (a plotly ``<div>``), the screen shows the interactive figure and print
    the PNG; ``csv`` links the figure's data file.
    """
    link = f' <a href="{esc(csv)}" download>data (CSV)</a>' if csv else ""
    cap = f"<figcaption>{esc(caption)}{link}</figcaption>"
    png = f'<img src="{esc(src)}" alt="{esc(caption)}">'
    if interactive is None:
        return f"<figure>{png}{cap}</figure>"
    return (
        f'<figure class="has-interactive"><div class="interactive">{interactive}</div>'
        f'<div class="static">{png}</div>{cap}</figure>'
    )


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222}
h1{font-size:1.8em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure img{max-width:560px;border:1px solid #eee}figcaption{font-size:.8em;color:#555;max-width:560px}
.tables>div{display:inline-block;vertical-align:top;margin-right:2em}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.4em .8em}
.failed{background:#fdecea;border-left-color:#d93025}
nav a{margin-right:1em}
figure.has-interactive{display:block}.interactive{width:100%;max-width:900px;min-height:450px}
@media screen{figure.has-interactive .static{display:none}}
@media print{.interactive{display:none}figure.has-interactive .static{display:block}}
td b{color:#137333}
"""

#: plotly's JavaScript, written beside index.html when a figure is interactive (no CDN).
PLOTLY_JS = "plotly.min.js"

# Counts script errors from the start of the page (the first script in <head>).
ERROR_CHECK = """<script>
window.tsErrors = [];
window.addEventListener('error', function (e) { window.tsErrors.push(String(e.message)); });
</script>"""

# Marks images that did not load and counts the plotly figures that drew, so a headless browser
# (tests) can check the page by its DOM.
IMG_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = document.images, bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) { bad++; imgs[i].setAttribute('data-broken', '1'); }
  }
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-broken-images', String(bad));
  // plotly draws asynchronously: poll until every figure has its SVG (or 10 s have passed)
  var plots = document.querySelectorAll('.interactive .plotly-graph-div'), tries = 0;
  function countPlots() {
    var drawn = 0;
    for (var j = 0; j < plots.length; j++) {
      if (plots[j].querySelector('svg.main-svg .trace')) { drawn++; }
    }
    if (drawn < plots.length && tries++ < 50) { setTimeout(countPlots, 200); return; }
    document.body.setAttribute('data-plotly', String(plots.length));
    document.body.setAttribute('data-plotly-drawn', String(drawn));
    document.body.setAttribute('data-js-errors', String(window.tsErrors.length));
    if (window.tsErrors.length) { document.body.setAttribute('data-js-error-text', window.tsErrors.join(' | ')); }
    document.body.setAttribute('data-checked', '1');
  }
  countPlots();
});
</script>"""


def page(
    records: Sequence[SectionRecord],
    bodies: dict[str, str],
    total: float,
    model_names: Sequence[str],
    *,
    plotly: bool = False,
) -> str:
    """The whole ``index.html``: navigation, then each section's body and status line.

    ``plotly``: load :data:`PLOTLY_JS` from beside the page (the interactive figures need it).
    """
    nav = " ".join(f'<a href="#{r.key}">{esc(r.title)}</a>' for r in records)
    script = f'<script src="{PLOTLY_JS}" charset="utf-8"></script>' if plotly else ""
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>tokenspace report</title>",
        ERROR_CHECK,
        script,
        f"<style>{CSS}</style></head><body>",
        "<h1>tokenspace report</h1>",
        paragraph(
            f"Models: {', '.join(model_names)}. Generated in {total:.1f} s "
            f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
        ),
        f"<nav>{nav}</nav>",
    ]
    for r in records:
        out.append(f'<section id="{r.key}"><h2>{esc(r.title)}</h2>')
        if r.status == "failed":
            out.append(f'<p class="note failed">{esc(r.note)}</p>')
        out.append(bodies.get(r.key, ""))
        out.append(
            f'<p style="font-size:.75em;color:#888">{r.status}, {r.seconds:.1f} s</p></section>'
        )
    out.append(IMG_CHECK)
    out.append("</body></html>")
    return "\n".join(out)
