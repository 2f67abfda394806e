"""CityHash64 v1.0.2, the hash behind ClickHouse's ``cityHash64`` (``SAMPLE BY
cityHash64(distinct_id)``), written plainly from Google's published algorithm for the reference.

It is deliberately separate from the store's implementation: an oracle shares no code with
what it checks (``tests/testing/test_reference_cityhash.py`` compares the two on random input).
Python integers are unbounded, so every step that overflows in C is reduced modulo 2^64.
"""

from __future__ import annotations

MASK = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127  # primes between 2^63 and 2^64
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F
K3 = 0xC949D7C7509E6557
KMUL = 0x9DDFEA08EB382D69  # Hash128to64's multiplier


def word64(data: bytes, at: int) -> int:
    """The little-endian unsigned 64-bit word at byte ``at``."""
    return int.from_bytes(data[at : at + 8], "little")


def word32(data: bytes, at: int) -> int:
    """The little-endian unsigned 32-bit word at byte ``at``."""
    return int.from_bytes(data[at : at + 4], "little")


def rotate(value: int, shift: int) -> int:
    """Rotate a 64-bit value right by ``shift`` bits (0 leaves it unchanged)."""
    if shift == 0:
        return value
    return ((value >> shift) | (value << (64 - shift))) & MASK


def shift_mix(value: int) -> int:
    return value ^ (value >> 47)


def hash_128_to_64(low: int, high: int) -> int:
    """Hash128to64: a Murmur-style fold of two 64-bit words into one."""
    a = ((low ^ high) * KMUL) & MASK
    a ^= a >> 47
    b = ((high ^ a) * KMUL) & MASK
    b ^= b >> 47
    return (b * KMUL) & MASK


def hash_up_to_16(data: bytes) -> int:
    n = len(data)
    if n > 8:
        a, b = word64(data, 0), word64(data, n - 8)
        return hash_128_to_64(a, rotate((b + n) & MASK, n)) ^ b
    if n >= 4:
        return hash_128_to_64((n + (word32(data, 0) << 3)) & MASK, word32(data, n - 4))
    if n > 0:
        y = (data[0] + (data[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (data[n - 1] << 2)) & 0xFFFFFFFF
        return (shift_mix(((y * K2) ^ (z * K3)) & MASK) * K2) & MASK
    return K2


def hash_17_to_32(data: bytes) -> int:
    n = len(data)
    a = (word64(data, 0) * K1) & MASK
    b = word64(data, 8)
    c = (word64(data, n - 8) * K2) & MASK
    d = (word64(data, n - 16) * K0) & MASK
    return hash_128_to_64((rotate((a - b) & MASK, 43) + rotate(c, 30) + d) & MASK,
                          (a + rotate(b ^ K3, 20) - c + n) & MASK)


def hash_33_to_64(data: bytes) -> int:
    n = len(data)
    z = word64(data, 24)
    a = (word64(data, 0) + (n + word64(data, n - 16)) * K0) & MASK
    b = rotate((a + z) & MASK, 52)
    c = rotate(a, 37)
    a = (a + word64(data, 8)) & MASK
    c = (c + rotate(a, 7)) & MASK
    a = (a + word64(data, 16)) & MASK
    vf = (a + z) & MASK
    vs = (b + rotate(a, 31) + c) & MASK
    a = (word64(data, 16) + word64(data, n - 32)) & MASK
    z = word64(data, n - 8)
    b = rotate((a + z) & MASK, 52)
    c = rotate(a, 37)
    a = (a + word64(data, n - 24)) & MASK
    c = (c + rotate(a, 7)) & MASK
    a = (a + word64(data, n - 16)) & MASK
    wf = (a + z) & MASK
    ws = (b + rotate(a, 31) + c) & MASK
    r = shift_mix(((vf + ws) * K2 + (wf + vs) * K0) & MASK)
    return (shift_mix((r * K0 + vs) & MASK) * K2) & MASK


def weak_hash_32(data: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    """WeakHashLen32WithSeeds over the four words at ``at``, seeded with ``a`` and ``b``."""
    w, x, y, z = (word64(data, at + 8 * i) for i in range(4))
    a = (a + w) & MASK
    b = rotate((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + rotate(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def cityhash64(data: bytes | str) -> int:
    """cityHash64 of a byte string (text is hashed as its UTF-8 bytes), as an unsigned int."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    n = len(data)
    if n <= 16:
        return hash_up_to_16(data)
    if n <= 32:
        return hash_17_to_32(data)
    if n <= 64:
        return hash_33_to_64(data)
    # longer input: the last 64 bytes seed 56 bytes of state, then every 64-byte chunk from the start
    x = word64(data, 0)
    y = word64(data, n - 16) ^ K1
    z = word64(data, n - 56) ^ K0
    v = weak_hash_32(data, n - 64, n, y)
    w = weak_hash_32(data, n - 32, (n * K1) & MASK, K0)
    z = (z + shift_mix(v[1]) * K1) & MASK
    x = (rotate((z + x) & MASK, 39) * K1) & MASK
    y = (rotate(y, 33) * K1) & MASK
    for at in range(0, (n - 1) & ~63, 64):
        x = (rotate((x + y + v[0] + word64(data, at + 16)) & MASK, 37) * K1) & MASK
        y = (rotate((y + v[1] + word64(data, at + 48)) & MASK, 42) * K1) & MASK
        x ^= w[1]
        y ^= v[0]
        z = rotate(z ^ w[0], 33)
        v = weak_hash_32(data, at, (v[1] * K1) & MASK, (x + w[0]) & MASK)
        w = weak_hash_32(data, at + 32, (z + w[1]) & MASK, y)
        z, x = x, z
    return hash_128_to_64((hash_128_to_64(v[0], w[0]) + shift_mix(y) * K1 + z) & MASK,
                          (hash_128_to_64(v[1], w[1]) + x) & MASK)
