"""Loader errors that keep the natural Python types callers already catch.

A word that does not decode is a :class:`WordDecodeError`, a ``UnicodeDecodeError`` (hence a
``ValueError``), and a file that ends early is a :class:`TruncatedFileError`, both an
``EOFError`` and a ``ValueError``. Both carry ``path`` and ``line`` (the 1-based line of a text
file, the record of a binary one, or None), as gensim's callers expect of a loader's errors.
"""

from __future__ import annotations

import re

__all__ = ["TruncatedFileError", "WordDecodeError", "natural_error"]


class WordDecodeError(UnicodeDecodeError):
    """A word that is not valid in the file's encoding (see ``encoding_errors=``)."""

    def __init__(self, message: str, *, path: str, line: int | None, encoding: str) -> None:
        super().__init__(encoding, b"", 0, 1, message)
        self.message, self.path, self.line = message, path, line

    def __str__(self) -> str:
        return self.message


class TruncatedFileError(ValueError, EOFError):
    """The file ends before the data its header (or the record being read) announces."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        super().__init__(message)
        self.path, self.line = path, line


_WHERE = re.compile(r", (?:line|record) (\d+): ")


def natural_error(e: ValueError, *, path: str, encoding: str) -> ValueError:
    """``e`` (a parser error naming the file and line) as its natural type, or ``e`` itself."""
    message = str(e)
    m = _WHERE.search(message)
    line = int(m.group(1)) if m else None
    if "the word is not valid" in message:
        return WordDecodeError(message, path=path, line=line, encoding=encoding)
    if "truncated" in message or re.search(r"has only \d+ of its \d+ bytes", message):
        return TruncatedFileError(message, path=path, line=line)
    return e
