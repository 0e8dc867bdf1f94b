"""The one dispatch table: which ISA unit provides each kernel slot at each SIMD level.

kernel_table reads static tables, so it answers for levels this CPU cannot run too.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tokenspace as ts
from tokenspace import _core

LEVELS = ["scalar", "avx2", "avx512", "avx512_bf16"]
UNITS = {"scalar", "avx2", "avx512", "avx512_bf16", "avx512_vnni", "none"}
FP32 = [
    "mr_nr",
    "micro_kernel",
    "gemv_rows",
    "filter_ge",
    "knn_tile",
    "exact_ip",
    "exact_l2",
    "sum_squares",
]
COMBINE = ["combine_linear", "combine_cosmul", "combine3_filter"]
# the fp32 unit of each level (avx512_bf16 adds bf16/int8 units on top of avx512's fp32 set)
OWN_FP32 = {"scalar": "scalar", "avx2": "avx2", "avx512": "avx512", "avx512_bf16": "avx512"}


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_has_a_full_table(level):
    table = _core.kernel_table(level)
    assert table.keys() == _core.kernel_table("scalar").keys()
    assert set(table.values()) <= UNITS
    for slot in FP32 + COMBINE + ["rsa_accum"]:
        assert table[slot] == OWN_FP32[level], slot
    # tile kernels of a family come from the unit of that family's register block shape
    for family, slots in {
        "": ["micro_kernel", "knn_tile", "knn_tile_sym"],
        "bf16_": ["bf16_knn_tile", "bf16_knn_tile_sym", "bf16_gemv"],
        "int8_": ["int8_knn_tile"],
    }.items():
        for slot in slots:
            assert table[slot] in (table[family + "mr_nr"], "none"), slot


def test_avx512_bf16_level():
    table = _core.kernel_table("avx512_bf16")
    assert table["rsa_accum"] == "avx512"  # it ran the scalar sums before the one table
    assert {table[s] for s in COMBINE} == {"avx512"}
    assert {
        table[s] for s in ["bf16_mr_nr", "bf16_gemv", "bf16_knn_tile", "bf16_knn_tile_sym"]
    } == {"avx512_bf16"}
    assert {table[s] for s in ["int8_mr_nr", "int8_gemv", "int8_knn_tile"]} == {"avx512_vnni"}
    for level in ["scalar", "avx2", "avx512"]:
        assert _core.kernel_table(level)["bf16_knn_tile"] == "none"
        assert _core.kernel_table(level)["int8_knn_tile"] == "none"


def test_int8_row_scan_from_avx2_on():
    # single queries scan an int8 copy (a quarter of the bytes) without VNNI too; the fused
    # self-join epilogue exists at every level, so no driver filters a stored tile
    assert _core.kernel_table("scalar")["int8_gemv"] == "none"
    assert _core.kernel_table("avx2")["int8_gemv"] == "avx2"
    assert _core.kernel_table("avx512")["int8_gemv"] == "avx2"
    for level in LEVELS:
        assert _core.kernel_table(level)["knn_tile_sym"] == OWN_FP32[level]


def test_unknown_level():
    with pytest.raises(ValueError, match="unknown SIMD level"):
        _core.kernel_table("sse9")


def test_levels_the_cpu_runs_reach_their_own_table(simd_level):
    assert _core.kernel_table(simd_level)["micro_kernel"] == OWN_FP32[simd_level]
    assert ts.simd_level() == simd_level


def test_level_switch_during_searches_is_safe():
    # every search takes one table at entry: switching levels from another thread must neither
    # crash nor change an answer
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5000, 32)).astype(np.float32)
    db = _core.Database(X)
    db.prepare("auto", 0)
    Q = X[:3]
    want = _core.knn(db, Q, 5)
    levels = ts.available_simd_levels()
    previous = ts.simd_level()
    stop = threading.Event()

    def toggle():
        i = 0
        while not stop.is_set():
            ts.set_simd_level(levels[i % len(levels)])
            i += 1

    t = threading.Thread(target=toggle)
    t.start()
    try:
        for _ in range(200):
            ids, _scores = _core.knn(db, Q, 5)
            np.testing.assert_array_equal(ids, want[0])
    finally:
        stop.set()
        t.join()
        ts.set_simd_level(previous)


def test_precision_policy():
    X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    db = _core.Database(X)
    assert db.precision_for(1) == "fp32"  # no low-precision copy yet
    db.prepare("fp32", 0)
    assert not db.has_bf16 and not db.has_int8
    table = _core.kernel_table(ts.simd_level())
    low = table["bf16_knn_tile"] != "none"
    i8 = table["int8_gemv"] != "none"
    db.prepare("auto", 10)  # a one-shot of 10 queries builds nothing
    assert not db.has_bf16 and not db.has_int8
    db.prepare("auto", 0)
    assert db.has_bf16 == low and db.has_int8 == i8
    if not low:
        with pytest.raises(ValueError, match="avx512_bf16"):
            db.precision_for(1, "bf16")
    # a kept database answers single queries from its int8 copy, batches from bf16 or fp32
    assert db.precision_for(1) == ("int8" if i8 else "bf16" if low else "fp32")
    assert db.precision_for(100) == ("bf16" if low else "fp32")
    assert db.precision_for(100, "fp32") == "fp32"


def test_explicit_int8_at_the_scalar_level_says_what_to_do():
    X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    db = _core.Database(X)
    previous = ts.simd_level()
    ts.set_simd_level("scalar")
    try:
        with pytest.raises(ValueError, match="avx2 SIMD level or above"):
            db.precision_for(1, "int8")
    finally:
        ts.set_simd_level(previous)
