"""The installed tokenspace's version, looked up once and only when asked for."""

from __future__ import annotations

import functools


@functools.cache
def package_version() -> str:
    """This tokenspace's version (``tokenspace.__version__``); ``0.0.0+dev`` from a source tree.

    importlib.metadata costs ~40 ms of import time, a good part of the budget for loading a
    model in a fresh process, so it is imported here, on first use.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tokenspace")
    except PackageNotFoundError:  # running from a source tree
        return "0.0.0+dev"
