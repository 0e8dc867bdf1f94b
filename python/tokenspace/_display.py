"""Notebook display for result objects: a short ``repr``, an HTML table, pandas and dict exports.

A result class opts in by subclassing :class:`Display` and may define

- ``_table(self) -> dict[str, Sequence]``: equal-length columns, the main tabular view (what
  ``to_pandas()`` returns and what ``repr`` / ``_repr_html_`` show the head of);
- ``_summary(self) -> str``: one line (shape, the headline numbers).

Without them the dataclass fields stand in: scalars in the summary, one row per field in the
table. Token columns (``_token_columns``) are shown in their display form (``Ġthe`` as ``␣the``)
by ``_show_token``, which :class:`tokenspace.tokens.TokenDisplay` provides; the exports keep
the raw tokens, so they still join with the vocabulary.
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

__all__ = ["Display", "format_cell", "plain"]

REPR_ROWS = 8
HTML_ROWS = 50
_CELL_CHARS = 32


def plain(value: Any) -> Any:
    """``value`` as plain Python types (lists, dicts, str, int, float, bool, None)."""
    if isinstance(value, Display):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, bool, int, type(None))):
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _brief(value: Any) -> str:
    """A short description of a field value: arrays and long lists by their shape."""
    if isinstance(value, np.ndarray):
        if value.size <= 6 and value.ndim <= 1:
            return format_cell(value.tolist())
        return f"array{value.shape} {value.dtype}"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__}[{len(value)}]"
    if isinstance(value, Mapping) and len(value) > 6:
        return f"dict[{len(value)}]"
    return format_cell(value)


def format_cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v) or math.isinf(v) or v == 0:
            text = str(v)
        elif 1e-3 <= abs(v) < 1e5:
            text = f"{v:.4f}"
        else:
            text = f"{v:.4g}"
    elif isinstance(value, np.generic):
        text = str(value.item())
    else:
        text = str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, np.generic)) and not isinstance(value, bytes)


class Display:
    """Mixin: ``__repr__``, ``_repr_html_``, ``to_pandas()`` and ``to_dict()`` from two hooks."""

    __slots__ = ()

    #: Columns of ``_table()`` that hold tokens, shown through ``_show_token``.
    _token_columns: ClassVar[tuple[str, ...]] = ()
    #: Table rows ``repr`` shows under the summary (0: the summary says it all).
    _repr_rows: ClassVar[int] = REPR_ROWS

    def _fields(self) -> dict[str, Any]:
        if dataclasses.is_dataclass(self):
            return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {}

    def _table(self) -> dict[str, Sequence[Any]]:
        """The main tabular view; by default one row per field."""
        fields = self._fields()
        return {"field": list(fields), "value": [_brief(v) for v in fields.values()]}

    def _summary(self) -> str:
        """One line: the scalar fields and the size of the others."""
        parts = []
        for name, value in self._fields().items():
            if _is_scalar(value) or value is None:
                parts.append(f"{name}={format_cell(value)}")
            elif isinstance(value, np.ndarray):
                parts.append(f"{name}={'x'.join(map(str, value.shape)) or 'scalar'}")
            elif isinstance(value, (list, tuple, Mapping)):
                parts.append(f"{name}={len(value)}")
        return ", ".join(parts)

    def _head(self, n: int) -> tuple[dict[str, list[Any]], int]:
        """The first ``n`` rows of ``_table()`` and the total row count. Classes whose table
        is large (one row per vocabulary entry) override this to avoid building all of it."""
        table = self._table()
        total = len(next(iter(table.values()))) if table else 0
        return {c: list(v[:n]) for c, v in table.items()}, total

    def _show_token(self, token: Any) -> str:
        """Display form of one token cell (identity here; see ``tokens.TokenDisplay``)."""
        return format_cell(token)

    def _shown_head(self, n: int) -> tuple[dict[str, list[str]], int]:
        head, total = self._head(n)
        shown = {
            c: [self._show_token(v) if c in self._token_columns else format_cell(v) for v in col]
            for c, col in head.items()
        }
        return shown, total

    def __repr__(self) -> str:
        title = f"{type(self).__name__}({self._summary()})"
        if self._repr_rows <= 0:
            return title
        head, total = self._shown_head(self._repr_rows)
        if not head or total == 0:
            return title
        widths = {c: max([len(c)] + [len(v) for v in col]) for c, col in head.items()}
        # numbers line up on the right, words on the left
        right = {c: all(_numeric(v) for v in col) for c, col in head.items()}

        def line(cells: dict[str, str]) -> str:
            return "  " + "  ".join(
                (cells[c].rjust if right[c] else cells[c].ljust)(widths[c]) for c in head
            )

        lines = [title, line({c: c for c in head}).rstrip()]
        n = len(next(iter(head.values())))
        for i in range(n):
            lines.append(line({c: head[c][i] for c in head}).rstrip())
        if total > n:
            lines.append(f"  ... {total - n} more rows ({total} in all; .to_pandas() has them)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        head, total = self._shown_head(HTML_ROWS)
        parts = [
            '<div class="ts-result">',
            f"<p><b>{esc(type(self).__name__)}</b> {esc(self._summary())}</p>",
        ]
        if head and total:
            parts.append('<table class="ts-table"><thead><tr>')
            parts += [f"<th>{esc(c)}</th>" for c in head]
            parts.append("</tr></thead><tbody>")
            n = len(next(iter(head.values())))
            for i in range(n):
                cells = "".join(f"<td>{esc(head[c][i])}</td>" for c in head)
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</tbody></table>")
            if total > n:
                parts.append(f"<p>showing {n} of {total} rows; .to_pandas() has them all</p>")
        parts.append("</div>")
        return "".join(parts)

    def to_pandas(self) -> Any:
        """The main table as a ``pandas.DataFrame`` (raw tokens, full precision).

        Raises
        ------
        ImportError
            When pandas is not installed (``pip install pandas``).
        """
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError(
                f"{type(self).__name__}.to_pandas() needs pandas: pip install pandas "
                "(or use .to_dict(), which needs nothing)"
            ) from e
        return pd.DataFrame(
            {c: v if isinstance(v, np.ndarray) else list(v) for c, v in self._table().items()}
        )

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain Python types (lists, dicts, str, int, float, bool, None); JSON
        serialisable apart from NaN/Inf floats."""
        fields = self._fields()
        if not fields:
            return {c: plain(v) for c, v in self._table().items()}
        return {name: plain(value) for name, value in fields.items()}
