"""Arrow timestamp columns to int64 µs UTC: the one conversion every Arrow-fed reader uses."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ValidationError
from ..timeutil import MAX_YEAR, MIN_YEAR, UTC, datetime_to_us, to_us
from .arrow_encode import _dictionary_codes, _first_row, _pa
from .fixedkeys import numpy_of
from .timerange import checked_us

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa



_LO_US = datetime_to_us(dt.datetime(MIN_YEAR, 1, 1, tzinfo=UTC))
_HI_US = datetime_to_us(dt.datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC))


def _timestamps(col: pa.ChunkedArray, what: str, name: str) -> np.ndarray:
    """int64 µs UTC per row; ValidationError naming the first bad row."""
    pa, pc = _pa()
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.cast(t.value_type), t.value_type
    if col.null_count:
        mask = np.asarray(col.is_null().to_numpy(zero_copy_only=False))
        raise ValidationError((what, _first_row(mask), name), "missing timestamp")
    if pa.types.is_timestamp(t) or pa.types.is_date(t):  # range-checked before scaling (timerange.py)
        date32 = t == pa.date32()
        unit = t.unit if pa.types.is_timestamp(t) else "D" if date32 else "ms"
        return checked_us(_int64(col.cast(pa.int32() if date32 else pa.int64())), unit, (what, name))
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        # unsigned 64-bit values above int64 (not castable) are out of range anyway: read as floats
        as_float = pa.types.is_floating(t) or t == pa.uint64()
        x = _int64(col.cast(pa.float64(), safe=False)) if as_float else None
        if x is None:
            us = checked_us(_int64(col.cast(pa.int64())), "s", (what, name), "epoch seconds")
        else:
            bad = ~np.isfinite(x) | (x < -2_208_988_800) | (x > 10_413_792_000)
            if bad.any():
                raise ValidationError((what, _first_row(bad), name), "expected finite epoch seconds within years 1900..2299")
            us = np.round(x * 1_000_000).astype(np.int64)
        return us
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        us = _iso_strings(col, what, name)
    else:
        raise ValidationError((what, name), f"expected a timestamp, date, ISO-8601 string or epoch seconds column, got {t}")
    if len(us) and (int(us.min()) < _LO_US or int(us.max()) >= _HI_US):
        bad = (us < _LO_US) | (us >= _HI_US)
        raise ValidationError((what, _first_row(bad), name), f"timestamp outside years {MIN_YEAR}..{MAX_YEAR}")
    return us


def _int64(col: pa.ChunkedArray) -> np.ndarray:
    chunks = [numpy_of(c) for c in col.chunks]
    if not chunks:
        return np.zeros(0, dtype=np.int64)
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def _to_us_units(raw: np.ndarray, unit: str) -> np.ndarray:
    if unit == "us":
        return raw.astype(np.int64, copy=False)
    if unit == "ns":
        return raw // 1000
    return raw * (1_000_000 if unit == "s" else 1000)


def _iso_strings(col: pa.ChunkedArray, what: str, name: str) -> np.ndarray:
    """ISO-8601 text: Arrow's parser when it can (all with offsets, or all naive = UTC), else
    the same parser as from_records once per distinct string."""
    pa, pc = _pa()
    for target in (pa.timestamp("us", "UTC"), pa.timestamp("us")):
        try:
            return _int64(col.cast(target).cast(pa.int64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    uniq, codes = _dictionary_codes(col)
    values = uniq.to_pylist()
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        try:
            out[i] = to_us(v, ())
        except ValidationError as exc:
            raise ValidationError((what, _first_row(codes == i), name), exc.message) from None
    return out[codes]




def csv_text_timestamps(col: pa.ChunkedArray, tz: dt.tzinfo) -> pa.ChunkedArray:
    """A CSV timestamp column of text mixing epoch seconds and ISO-8601 (a column of one file,
    or a chunk of one, as the streamed partitioning reads it), as UTC timestamps: each distinct
    cell read as the row reader reads it (``readers.epoch_cell``; naive text in ``tz``). A cell
    neither form reads leaves the column as it is, for ``_timestamps`` to name its row."""
    from .readers import epoch_cell

    pa, pc = _pa()
    t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)) or col.null_count:
        return col
    uniq, codes = _dictionary_codes(col)
    values = uniq.to_pylist()
    epochs = [epoch_cell(v) for v in values]
    out = np.empty(len(values), dtype=np.int64)
    for i, (v, e) in enumerate(zip(values, epochs)):
        try:
            out[i] = to_us(v if e is None else e, (), default_tz=tz)
        except ValidationError:
            return col
    return pa.chunked_array([pa.array(out[codes], pa.int64()).cast(pa.timestamp("us", "UTC"))])


def naive_in_zone(col: pa.ChunkedArray, tz: dt.tzinfo) -> pa.ChunkedArray:
    """``col`` with its naive timestamps read as wall-clock time in ``tz`` (``timezone=``): a
    naive timestamp or date column is localised, text without an offset is parsed in ``tz``;
    anything else (UTC, epoch numbers, text with offsets) is returned as is for ``_timestamps``."""
    pa, pc = _pa()
    if tz is UTC or getattr(tz, "key", None) == "UTC":
        return col
    t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if pa.types.is_dictionary(col.type):
        col = col.cast(t)
    if pa.types.is_date(t):
        col, t = col.cast(pa.timestamp("us")), pa.timestamp("us")
    if pa.types.is_timestamp(t) and t.tz is None:
        return pc.assume_timezone(col, str(getattr(tz, "key", tz)), ambiguous="earliest", nonexistent="earliest")
    if (pa.types.is_string(t) or pa.types.is_large_string(t)) and not col.null_count:
        try:
            return col.cast(pa.timestamp("us", "UTC"))  # every value has an offset: no zone needed
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        uniq, codes = _dictionary_codes(col)
        values = uniq.to_pylist()
        out = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):  # once per distinct text, as the record path parses it
            try:
                out[i] = to_us(v, (), default_tz=tz)
            except ValidationError:
                return col  # _timestamps reports it, with its row
        return pa.chunked_array([pa.array(out[codes], pa.int64()).cast(pa.timestamp("us", "UTC"))])
    return col


def datetime_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A timestamp or date property column as ISO-8601 text (the form a JSON export carries and
    PostHog's detector types as DateTime): ``2024-03-01``, ``2024-03-01T09:00:00[.ffffff]``,
    with ``Z`` when the column has a zone (its values in UTC)."""
    pa, pc = _pa()
    t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if pa.types.is_dictionary(col.type):
        col = col.cast(t)
    if pa.types.is_date(t):
        return pc.strftime(col.cast(pa.timestamp("s")), format="%Y-%m-%d")
    if t.tz is not None:
        col = pc.cast(col, pa.timestamp(t.unit, "UTC"))
    whole = pc.cast(col, pa.timestamp("s"), safe=False)
    if t.unit != "s" and pc.all(pc.equal(pc.cast(whole, col.type), col)).as_py() is not False:
        col = whole  # whole seconds: no fraction
    elif t.unit == "ns":  # (to µs in the zone it is in now: UTC when zoned; t.tz printed local time as UTC)
        col = pc.cast(col, pa.timestamp("us", "UTC" if t.tz is not None else None), safe=False)
    suffix = "Z" if t.tz is not None else ""
    return pc.strftime(col, format="%Y-%m-%dT%H:%M:%S" + suffix)
