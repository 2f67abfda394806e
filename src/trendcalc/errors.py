"""The exceptions a caller can get back from trendcalc for bad or unsupported input."""

from __future__ import annotations

import reprlib
from collections.abc import Sequence

PathElem = str | int


def format_path(path: Sequence[PathElem]) -> str:
    """Render a JSON path like ``events[0].math`` (``$`` for the root)."""
    out = "$"
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def brief(value: object, limit: int = 80) -> str:
    """A short repr of a caller's value for messages: bounded, and never raising. Containers are
    shown a few members and levels deep (``reprlib``): a full repr of a value built in Python that
    shares its parts would write out the whole tree it stands for."""
    try:
        if isinstance(value, (dict, list, tuple, set, frozenset)):
            text = _BRIEF.repr(value)
        else:
            text = repr(value) if not isinstance(value, str) or len(value) <= limit else repr(value[:limit])
    except Exception:  # noqa: BLE001 - a hostile __repr__, or an int too long to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit + 2 else text[: limit - 1] + "…"


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxdict, _BRIEF.maxlist, _BRIEF.maxtuple, _BRIEF.maxset = 3, 4, 4, 4, 4
_BRIEF.maxstring = _BRIEF.maxother = 40


def _path_elem(p: object) -> PathElem:
    """Keys of a caller's dict need not be strings (``{None: 1}``); paths hold only str and int."""
    if isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)):
        return p
    return brief(p, 40)


class ValidationError(ValueError):
    """Bad input: ``path`` locates the offending value, ``message`` says what was expected."""

    def __init__(self, path: Sequence[PathElem], message: str):
        self.path: tuple[PathElem, ...] = tuple(_path_elem(p) for p in path)
        self.message = message
        super().__init__(f"{format_path(self.path)}: {message}")

    def prefixed(self, prefix: Sequence[PathElem]) -> ValidationError:
        """The same error located under ``prefix``."""
        return type(self)(tuple(prefix) + self.path, self.message)

    def __reduce__(self) -> tuple:
        # picklable: an error raised in a pool or Dask worker reaches the caller as itself
        return (_rebuild, (type(self), self.path, self.message, self._extra()))

    def _extra(self) -> dict:
        return {}


def _rebuild(cls: type, path: Sequence[PathElem], message: str, extra: dict) -> ValidationError:
    return cls(path, message, **extra)


class UnsupportedError(ValidationError):
    """A valid PostHog field or value that trendcalc does not implement (yet); names it.

    A subclass of ValidationError so callers that only guard against bad input still catch it.
    """


class InputRowError(ValidationError):
    """A malformed row of an input file. ``source`` is the file, ``row`` its 1-based line (``unit``
    "line") or 0-based position in a JSON array (``unit`` "item"), ``field`` the path inside the
    row; ``path`` is ``(kind, "file:line", *field)``. Reads as ``events.csv, line 12: $.timestamp: ...``."""

    def __init__(self, path: Sequence[PathElem], message: str, *, source: str = "", row: int = 0, unit: str = "line"):
        super().__init__(path, message)
        self.source, self.row, self.unit = source, row, unit
        self.field: tuple[PathElem, ...] = self.path[2:]
        self.args = (f"{source}, {unit} {row}: {format_path(self.field)}: {message}",)

    @classmethod
    def at(cls, kind: str, source: str, row: int, unit: str, field: Sequence[PathElem], message: str) -> InputRowError:
        """The error for ``field`` of row ``row`` of file ``source`` holding ``kind`` records."""
        where = f"{source}:{row}" if unit == "line" else f"{source}[{row}]"
        return cls((kind, where, *field), message, source=source, row=row, unit=unit)

    def prefixed(self, prefix: Sequence[PathElem]) -> ValidationError:
        return ValidationError(tuple(prefix) + self.path, self.message)

    def _extra(self) -> dict:
        return {"source": self.source, "row": self.row, "unit": self.unit}


class StoreFormatError(ValidationError):
    """A saved store directory that is missing, truncated, corrupted or of another format version.
    ``path`` is (directory, file); reads as ``/data/store/ts.npy: has 12 bytes, ...``."""

    def __init__(self, path: Sequence[PathElem], message: str):
        super().__init__(path, message)
        self.args = ("/".join(map(str, self.path)) + ": " + message if self.path else message,)


class TrendcalcWarning(UserWarning):
    """The category of the warnings a query result carries (``result.warnings``): the numbers are
    PostHog's, but the query probably does not ask what its author meant."""


class QueryWarning:
    """One warning on a result: a stable ``code``, the JSON ``path`` it concerns, a ``message``."""

    __slots__ = ("code", "path", "message")

    def __init__(self, code: str, path: Sequence[object], message: str):
        self.code = code
        self.path = tuple(_path_elem(p) for p in path)
        self.message = message

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"

    def __repr__(self) -> str:
        return f"QueryWarning({self.code!r}, {str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QueryWarning) and (self.code, self.path, self.message) == (other.code, other.path, other.message)

    def __hash__(self) -> int:
        return hash((self.code, self.path, self.message))

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "path": format_path(self.path), "message": self.message}
