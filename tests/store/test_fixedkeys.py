"""encode_fixed_width ≡ Arrow's dictionary_encode for fixed-width string keys."""

from __future__ import annotations

import numpy as np
import pytest

from trendcalc.store import fixedkeys
from trendcalc.store.fixedkeys import encode_fixed_width, first_seen_codes

pa = pytest.importorskip("pyarrow")
pc = pytest.importorskip("pyarrow.compute")


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    monkeypatch.setattr(fixedkeys, "MIN_ROWS", 1)


def _check(arr):
    got = encode_fixed_width(arr)
    assert got is not None
    want = pc.dictionary_encode(arr)
    assert got[0].equals(want.dictionary)
    assert got[1].dtype == np.int32
    np.testing.assert_array_equal(got[1], want.indices.to_numpy())


@pytest.mark.parametrize("seed", range(5))
def test_like_dictionary_encode(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    ids = [f"s{x:08x}" for x in rng.integers(0, int(rng.integers(1, 5000)), n)]  # 9 bytes, 8 varying
    _check(pa.array(ids))
    _check(pa.array(ids).slice(n // 3))  # an offset into the buffers
    _check(pa.array([f"é{x:03d}" for x in rng.integers(0, 50, n)]))  # multi-byte characters


def test_one_value_and_one_row():
    _check(pa.array(["abc"] * 5))
    _check(pa.array(["x"]))


def test_not_applicable():
    assert encode_fixed_width(pa.array(["a", "bb"])) is None  # widths differ
    assert encode_fixed_width(pa.array(["", ""])) is None
    assert encode_fixed_width(pa.array(["a", None])) is None
    assert encode_fixed_width(pa.array(["123456789", "987604321"])) is None  # 9 varying bytes
    assert encode_fixed_width(pa.array(["ab", "cd"], pa.large_string())) is None


def test_first_seen_codes():
    codes, firsts = first_seen_codes(np.array([5, 3, 5, 9, 3, 1], dtype=np.uint64))
    assert codes.tolist() == [0, 1, 0, 2, 1, 3]
    assert firsts.tolist() == [0, 1, 3, 5]


def test_numpy_of_and_ints_or_match_arrow():
    from trendcalc.store.fixedkeys import ints_or, numpy_of

    ints = pa.array([5, 1, None, 7, 2, None, 9], pa.int32())
    for a in (ints, ints.slice(3), ints.slice(1, 0)):
        np.testing.assert_array_equal(ints_or(a, -1), np.array([-1 if v is None else v for v in a.to_pylist()]))
        assert ints_or(a, -1).dtype == np.int32
    dense = pa.array([3.5, -1.0, 2.25, 0.0], pa.float64()).slice(1)
    np.testing.assert_array_equal(numpy_of(dense), [-1.0, 2.25, 0.0])
    bools = pa.array([True, False, True, True, False, False, True, False, True, True]).slice(3)
    assert numpy_of(bools).tolist() == bools.to_pylist()
    strings = pa.array(["a", "bc", "", "d"]).slice(1)
    got = numpy_of(strings)
    assert got.dtype == object and got.tolist() == ["bc", "", "d"]
    assert numpy_of(pa.array(["x", None])).tolist() == ["x", None]  # (nulls: Arrow's conversion)
    assert numpy_of(pa.array([], pa.int64())).tolist() == []
