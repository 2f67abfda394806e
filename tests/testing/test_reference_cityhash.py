"""The reference's own CityHash64 equals the store's on random input of every length class.

The two are written separately on purpose (the oracle shares no code with the engine and the
store); sampling only agrees if the hashes do, byte for byte, on every branch of the algorithm
(0, 1–3, 4–8, 9–16, 17–32, 33–64 bytes, and the 64-byte chunk loop)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from trendcalc.store.cityhash import cityhash64 as store_cityhash64
from trendcalc.testing.reference.cityhash import cityhash64

LENGTH_EDGES = (0, 1, 3, 4, 8, 9, 16, 17, 32, 33, 64, 65, 127, 128, 129, 200, 1000)


def test_known_values() -> None:
    """cityHash64('') is k2 in v1.0.2 (ClickHouse: 11160318154034397263)."""
    assert cityhash64(b"") == 11160318154034397263
    assert cityhash64("") == cityhash64(b"")


def test_every_length_class_matches_the_store() -> None:
    rnd = random.Random(20261206)
    for n in list(LENGTH_EDGES) + list(range(0, 300)):
        for _ in range(3):
            data = rnd.randbytes(n)
            assert cityhash64(data) == store_cityhash64(data), (n, data.hex())


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_match_the_store(data: bytes) -> None:
    assert cityhash64(data) == store_cityhash64(data)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(st.text(max_size=150))
def test_text_is_hashed_as_utf8(text: str) -> None:
    assert cityhash64(text) == cityhash64(text.encode("utf-8")) == store_cityhash64(text)
    assert 0 <= cityhash64(text) < 1 << 64
