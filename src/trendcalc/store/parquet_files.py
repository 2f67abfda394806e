"""Which files make up a Parquet input: one file, a directory of ``*.parquet`` files (a data set
written in parts, e.g. by a chunked export), or a list of files.

The parts of one input are read as one table, in order (a directory's by file name), so they must
agree on their columns: the same names, in the same order, with the same types. A part that does
not is a ValidationError naming it and the first difference, before any row is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ValidationError


def parquet_parts(source: Any, what: str) -> list[Path] | None:
    """The files of ``source`` in reading order; None when it is not a path, a directory or a
    list of paths (the caller's single-file or table handling applies then)."""
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_dir():
            return None
        parts = sorted(f for f in p.iterdir() if f.suffix == ".parquet" and f.is_file())
        if not parts:
            raise ValidationError((what,), f"no .parquet files in directory {str(p)[:200]!r}")
        return parts
    if isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)) and source:
        if all(isinstance(x, (str, Path)) for x in source):
            return [Path(x) for x in source]
    return None


def check_same_schema(schemas: Sequence[Any], parts: Sequence[Path], what: str) -> None:
    """ValidationError at the first part whose columns differ from the first part's."""
    first = schemas[0]
    for i, (schema, part) in enumerate(zip(schemas, parts)):
        if i == 0 or schema.equals(first):
            continue
        if schema.names != first.names:
            missing = [n for n in first.names if n not in schema.names]
            extra = [n for n in schema.names if n not in first.names]
            detail = (f"missing {missing[:5]}" if missing else "") + ("; " if missing and extra else "") + (
                f"extra {extra[:5]}" if extra else "") or "the columns are in another order"
        else:
            name = next(n for n in first.names if not schema.field(n).type.equals(first.field(n).type))
            detail = f"column {name!r} is {schema.field(name).type}, not {first.field(name).type}"
        raise ValidationError((what,), f"Parquet part {str(part)[:200]!r} has other columns than "
                                         f"{str(parts[0])[:200]!r}: {detail}")
