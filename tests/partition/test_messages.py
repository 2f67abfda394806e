"""The pool's messages (``partition/messages.py``): what the cheaper reductions rebuild is what
was pickled — values, dtypes, shapes, writability, the UTC clock, attrs values by fields — and a
worker's repeated message comes back as the very same objects."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.partition.messages import dumps, message_of, shared_value
from trendcalc.partition.partials import Partial
from trendcalc.partition.phases import NOTHING, Given
from trendcalc.partition.tasks import Task, run_many_on_one_thread


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float64).reshape(3, 4),
    np.array([-1, 0, 2**40], dtype=np.int64),
    np.array([True, False]),
    np.array([3, 1], dtype=">i4"),  # big-endian keeps its byte order
    np.arange(10, dtype=np.int32)[::3],  # not contiguous: numpy's own reduction
    np.array(["a", None, 1.5], dtype=object),
    np.array(["ab", "c"]),  # unicode: numpy's own reduction
    np.zeros((0, 5)),
])
def test_arrays_come_back_equal_and_writable(array: np.ndarray) -> None:
    back = pickle.loads(dumps(array))
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tolist() == array.tolist()
    if back.size:
        back.flat[0] = back.flat[-1]  # writable, as numpy's own unpickling gives
    assert not np.shares_memory(back, array)


def test_clock_and_attrs_values_come_back_equal() -> None:
    now = dt.datetime(2024, 3, 15, 12, 0, 0, 123, tzinfo=dt.timezone.utc)
    other = dt.datetime(2024, 3, 15, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    values: list[Any] = [now, other, NOTHING, Given({"earliest_us": 5}, ({"x": 1},)),
                         Task(run_many_on_one_thread, (1, "a"), ("p",)),
                         Partial(np.ones((2, 3)), ("Chrome", None), np.array([0, 1], dtype=np.int8), True)]
    back = pickle.loads(dumps(values))
    assert back[0] == now and back[0].tzinfo is dt.timezone.utc
    assert back[1] == other and back[1].utcoffset() == dt.timedelta(hours=2)
    assert back[2] == NOTHING and back[3] == values[3] and back[4] == values[4]
    p = back[5]
    assert (p.values.tolist(), p.groups, p.kinds.tolist(), p.has_rows) == ([[1.0] * 3] * 2, ("Chrome", None), [0, 1], True)


@pytest.mark.parametrize("values", [
    np.array([[3.0, 0.0, 7.0]]),  # a DAU answer: numbers inline as their bytes
    np.array([[1, 2]], dtype=np.int64),
    np.arange(6.0).reshape(2, 3)[:, ::2],  # not contiguous: the Partial by its fields
    np.array([{"k": 1}], dtype=object),
    None,  # the series does not exist in this partition
    ({"a": 1}, [2, 3]),  # a merge state that is not an array
])
def test_partials_come_back_equal(values: Any) -> None:
    kinds = np.array([0, 1], dtype=np.int8)
    partials = [Partial(values, ("Chrome", None), kinds, True), Partial(values)]
    back = pickle.loads(dumps((True, [partials])))[1][0]
    for p, q in zip(back, partials):
        assert type(p) is Partial and (p.groups, p.has_rows) == (q.groups, q.has_rows)
        assert (p.kinds is None) == (q.kinds is None) and (q.kinds is None or p.kinds.tolist() == q.kinds.tolist())
        if isinstance(values, np.ndarray):
            assert p.values.dtype == values.dtype and p.values.shape == values.shape
            assert p.values.tolist() == values.tolist()
        else:
            assert p.values == values
    if isinstance(values, np.ndarray) and values.dtype.kind != "O":
        back[0].values.flat[0] = 9  # writable: the merge may add into it


def test_query_values_are_pickled_once_and_unpickled_once() -> None:
    filt = tc.parse_filter({"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-7d"})
    first, second = dumps((filt, 1)), dumps((filt, 2))
    a, b = pickle.loads(first)[0], pickle.loads(second)[0]
    assert a == filt and a is b  # the worker's side: the same object for the same bytes
    assert shared_value(pickle.dumps(filt)) == filt


def test_a_repeated_message_is_the_same_objects() -> None:
    message = (run_many_on_one_thread, (["/p/part-000"], [Task(run_many_on_one_thread, (NOTHING,))], 7))
    data = dumps(message)
    one, two = message_of(data), message_of(bytes(data))
    assert one == message and one is two
    assert message_of(dumps((run_many_on_one_thread, (["/p/part-001"], [], 7)))) is not one


def test_large_messages_are_not_kept() -> None:
    from trendcalc.partition.messages import MEMO_BYTES

    big = dumps((run_many_on_one_thread, (["x" * MEMO_BYTES], [], None)))
    assert len(big) > MEMO_BYTES
    assert message_of(big) is not message_of(big)
