"""A minimal reader for the safetensors format (no torch, no safetensors package needed).

Layout: 8-byte little-endian header length N, N bytes of JSON
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``, then the
raw little-endian tensor bytes, offsets counted from the end of the header.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # widened to float32 by shifting into the high half
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
}


class SafetensorsError(ValueError):
    """A safetensors file that is truncated, malformed, or lacks the requested tensor."""


def read_header(path: str | os.PathLike) -> tuple[dict[str, Any], int]:
    """Return (tensor table, byte offset where the data section starts)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise SafetensorsError(f"{path}: too short to be a safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", raw)
        if n > size - 8 or n > 100 * 2**20:
            raise SafetensorsError(
                f"{path}: header length {n} does not fit the file ({size} bytes); "
                "the file is truncated or not safetensors"
            )
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SafetensorsError(f"{path}: unreadable JSON header ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    header.pop("__metadata__", None)
    return header, 8 + n


def tensor_names(path: str | os.PathLike) -> list[str]:
    """Names of the tensors stored in the file."""
    return list(read_header(path)[0])


def read_tensor(path: str | os.PathLike, name: str, *, mmap: bool = False) -> np.ndarray:
    """Read one tensor as a numpy array; F16/BF16 are widened to float32.

    ``mmap=True`` maps F32/F64/integer tensors read-only instead of copying them (the pages come
    from the OS file cache on first touch); F16/BF16 are always converted in memory.
    """
    path = Path(path)
    header, start = read_header(path)
    if name not in header:
        raise SafetensorsError(
            f"{path}: no tensor named {name!r}; it has {', '.join(sorted(header)[:20])}"
        )
    info = header[name]
    if not isinstance(info, dict):
        raise SafetensorsError(f"{path}: the entry of tensor {name!r} is not a JSON object")
    dtype_name = info.get("dtype")
    if dtype_name not in _DTYPES:
        raise SafetensorsError(f"{path}: tensor {name!r} has unsupported dtype {dtype_name!r}")
    dtype = _DTYPES[dtype_name]
    raw_shape, offsets = info.get("shape", ()), info.get("data_offsets")
    if not isinstance(raw_shape, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in raw_shape
    ):
        raise SafetensorsError(
            f"{path}: tensor {name!r} has shape {raw_shape!r}; expected a list of sizes >= 0 "
            "(the file is corrupt: download it again)"
        )
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in offsets)
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise SafetensorsError(
            f"{path}: tensor {name!r} has data_offsets {offsets!r}; expected [begin, end] with "
            "0 <= begin <= end (the file is corrupt: download it again)"
        )
    shape = tuple(raw_shape)
    begin, end = offsets
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if end - begin != count * dtype.itemsize:
        raise SafetensorsError(
            f"{path}: tensor {name!r} has {end - begin} bytes but shape {shape} x {dtype_name} "
            f"needs {count * dtype.itemsize}"
        )
    size = path.stat().st_size
    if start + end > size:
        raise SafetensorsError(
            f"{path}: tensor {name!r} ends at byte {start + end} but the file has {size} bytes "
            "(truncated download?)"
        )
    if mmap and dtype_name not in ("F16", "BF16") and count:
        return np.memmap(path, dtype=dtype, mode="r", offset=start + begin, shape=shape)
    arr = np.fromfile(path, dtype=dtype, count=count, offset=start + begin).reshape(shape)
    if dtype_name == "BF16":
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    elif dtype_name == "F16":
        arr = arr.astype(np.float32)
    return arr
