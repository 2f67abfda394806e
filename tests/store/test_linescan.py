"""Finding given rows' lines in a JSON-lines file (store/linescan.py): both scans agree on
every layout, and a file whose lines do not match the rows gives None."""

from __future__ import annotations

import numpy as np
import pytest

from trendcalc.store import linescan


def lines_of(tmp_path, data: bytes, rows, n_rows, block=None, monkeypatch=None):
    if block is not None:
        monkeypatch.setattr(linescan, "_BLOCK", block)
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    return linescan.row_lines(path, np.asarray(rows, dtype=np.int64), n_rows)


@pytest.mark.parametrize("block", [1, 3, 7, 64, 1 << 24])
@pytest.mark.parametrize("trailing", [b"\n", b""])
def test_rows_found_at_any_block_size(tmp_path, monkeypatch, block, trailing):
    text = [b'{"a": %d}' % i * (1 + i % 3) for i in range(20)]
    data = b"\n".join(text) + trailing
    got = lines_of(tmp_path, data, [0, 1, 7, 8, 19], 20, block, monkeypatch)
    assert got == [text[0], text[1], text[7], text[8], text[19]]


def test_crlf_lines_keep_their_cr(tmp_path):
    data = b'{"a": 1}\r\n{"a": 2}\r\n'
    assert lines_of(tmp_path, data, [1], 2) == [b'{"a": 2}\r']


def test_blank_lines_are_skipped(tmp_path, monkeypatch):
    """Blank lines are not rows: the scan of every newline skips them (both block sizes)."""
    data = b'\n{"a": 1}\n\n\r\n{"a": 2}\n\n'
    for block in (2, 1 << 24):
        assert lines_of(tmp_path, data, [0, 1], 2, block, monkeypatch) == [b'{"a": 1}', b'{"a": 2}']
        with open(tmp_path / "f.jsonl", "rb") as fh:
            assert linescan._without_blank_lines(fh, np.array([1]), 2) is None


def test_other_row_counts_give_none(tmp_path):
    assert lines_of(tmp_path, b'{"a": 1}\n{"a": 2}\n', [0], 3) is None
    assert lines_of(tmp_path, b'{"a": 1}\n{"a": 2}\n', [0], 1) is None
    assert lines_of(tmp_path, b"", [0], 1) is None


@pytest.mark.parametrize("block", [1, 5, 1 << 24])
def test_last_line_without_newline_and_lines_across_blocks(tmp_path, monkeypatch, block):
    """A wanted line longer than a block, and the file's last line with no newline after it."""
    text = [b'{"a": "%s"}' % (b"x" * (i * 7)) for i in range(6)]
    data = b"\n".join(text)
    assert lines_of(tmp_path, data, [0, 4, 5], 6, block, monkeypatch) == [text[0], text[4], text[5]]
    assert lines_of(tmp_path, data + b"\n\n", [5], 6, block, monkeypatch) == [text[5]]
