"""Progress of long calls: a text bar with an ETA on stderr.

Long kernels (``knn_graph``, large ``knn`` batches, Gram matrices, RSA, analogy search) and the
loaders of large text files take ``progress=``: ``False`` (default) shows nothing, ``True``
draws a :class:`ProgressBar` on stderr when stderr is a terminal (and nothing otherwise, so
logs and pipes stay clean), and any object with ``update(done, total)`` and ``close()``
receives the counts instead (for example ``ProgressBar(force=True)`` to draw into a log).
Counts are whatever unit the job reports (kernel tasks, bytes of a file); only their ratio
matters. Updates come from the thread that waits for the job, never from kernel workers.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import IO, Protocol, runtime_checkable


@runtime_checkable
class ProgressSink(Protocol):
    """What ``progress=`` accepts besides a bool."""

    def update(self, done: int, total: int) -> None: ...

    def close(self) -> None: ...


def _format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    h, rest = divmod(round(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """A one-line progress bar with elapsed time and ETA.

    Parameters
    ----------
    label : str
        Shown before the bar.
    file : text stream, default ``sys.stderr``
    force : bool, default False
        Draw even when ``file`` is not a terminal; then a plain line is written at most every
        ``interval`` seconds instead of redrawing one line in place.
    interval : float, default 0.2
        Minimum seconds between two redraws (terminal) or 5 x this between lines (otherwise).
    width : int, default 30
        Characters of the bar itself.
    """

    def __init__(
        self,
        label: str = "",
        *,
        file: IO[str] | None = None,
        force: bool = False,
        interval: float = 0.2,
        width: int = 30,
    ) -> None:
        self.label = label
        self.file = file if file is not None else sys.stderr
        isatty = getattr(self.file, "isatty", None)
        self.tty = bool(isatty()) if callable(isatty) else False
        self.enabled = self.tty or force
        self.interval = interval if self.tty else 5 * interval
        self.width = width
        self.start = time.monotonic()
        self._last_draw = -math.inf
        self._fraction = 0.0
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        """Record ``done`` of ``total`` units (the bar never moves backwards)."""
        if total > 0:
            self._fraction = max(self._fraction, min(1.0, done / total))
        now = time.monotonic()
        if self.enabled and now - self._last_draw >= self.interval:
            self._last_draw = now
            self._draw(now)

    def render(self, now: float | None = None) -> str:
        """The bar's text at ``now`` (monotonic seconds)."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        f = self._fraction
        eta = elapsed * (1 - f) / f if f > 0 else math.inf
        filled = int(f * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        head = f"{self.label}: " if self.label else ""
        return (
            f"{head}|{bar}| {100 * f:5.1f}% "
            f"elapsed {_format_seconds(elapsed)} ETA {_format_seconds(eta)}"
        )

    def _draw(self, now: float) -> None:
        text = self.render(now)
        if self.tty:
            self.file.write("\r" + text)
        else:
            self.file.write(text + "\n")
        self.file.flush()
        self._drawn = True

    def close(self) -> None:
        """Draw the final state and end the line."""
        if not self.enabled:
            return
        self._draw(time.monotonic())
        if self.tty:
            self.file.write("\n")
            self.file.flush()


def sink(progress: bool | ProgressSink | None, label: str) -> ProgressSink | None:
    """The sink ``progress=`` asks for: None (no reporting), a bar, or the caller's object."""
    if progress is None or progress is False:
        return None
    if progress is True:
        bar = ProgressBar(label)
        return bar if bar.enabled else None
    if isinstance(progress, ProgressSink):
        return progress
    raise TypeError(
        "progress must be True, False or an object with update(done, total) and close() "
        f"methods (such as tokenspace.progress.ProgressBar), not {type(progress).__name__}"
    )


def counter(progress: bool | ProgressSink | None, total: int, label: str) -> Callable[[int], None]:
    """``update(done)`` for a Python loop of ``total`` steps (batches, tasks): it feeds the sink
    ``progress=`` asks for (see :func:`sink`) and closes it at the last step."""
    out = sink(progress, label)
    if out is None:
        return lambda done: None

    def update(done: int) -> None:
        out.update(done, total)
        if done >= total:
            out.close()

    return update
